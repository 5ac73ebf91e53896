"""Seed the free-mail list and give every existing deal its lead as the primary contact."""

from django.db import migrations

from clm.domains import FREE_MAIL_DEFAULTS


def seed(apps, schema_editor):
    FreeMailDomain = apps.get_model("crm", "FreeMailDomain")
    FreeMailDomain.objects.bulk_create(
        [FreeMailDomain(pattern=p) for p in FREE_MAIL_DEFAULTS], ignore_conflicts=True
    )
    Deal = apps.get_model("crm", "Deal")
    DealContact = apps.get_model("crm", "DealContact")
    have = set(DealContact.objects.filter(is_primary=True).values_list("deal_id", flat=True))
    rows = (
        DealContact(deal_id=deal_id, lead_id=lead_id, role="other", is_primary=True)
        for deal_id, lead_id in Deal.objects.values_list("id", "lead_id").iterator()
        if deal_id not in have
    )
    DealContact.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("crm", "0008_accounts")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
