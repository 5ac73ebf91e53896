"""One lead per person: leads whose addresses differ only in case are merged into the oldest,
and every address is stored lower-cased (leads.merging), before 0009 makes them unique so."""

from django.db import migrations

from leads.merging import lead_duplicates_merge


def merge(apps, schema_editor):
    lead_duplicates_merge(apps, report=lambda line: print(f"\n  {line}", end=""))


class Migration(migrations.Migration):
    # Every app with a foreign key to Lead, so their rows are in the state and are moved.
    dependencies = [
        ("leads", "0007_touchpoint_late_stitched_submission_review"),
        ("crm", "0006_contact_rollup"),
        ("insights", "0001_initial"),
        ("nurture", "0001_initial"),
    ]

    operations = [migrations.RunPython(merge, migrations.RunPython.noop)]
