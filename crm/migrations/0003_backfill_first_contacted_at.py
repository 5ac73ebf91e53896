"""Fill Lead.first_contacted_at from the contact activities logged before the field existed."""

from django.db import migrations
from django.db.models import OuterRef, Subquery

# The contact kinds as they were when this migration was written (crm.services.CONTACT_KINDS).
CONTACT_KINDS = ("call", "email", "meeting", "inbound_call")


def backfill(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    Activity = apps.get_model("crm", "Activity")
    first = (
        Activity.objects.filter(
            lead=OuterRef("pk"), kind__in=CONTACT_KINDS, occurred_at__gte=OuterRef("created_at")
        )
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    Lead.objects.filter(last_contacted_at__isnull=False).update(first_contacted_at=Subquery(first))


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_seed_pipeline_and_reasons"),
        ("leads", "0002_lead_first_contacted_at"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
