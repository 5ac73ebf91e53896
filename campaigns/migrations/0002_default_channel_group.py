"""Install GA4's default channel group, the CRM's offline channels and GA4's source list."""

import csv
from pathlib import Path

from django.db import migrations

PALETTE = [
    "#64748b", "#0ea5e9", "#f97316", "#2563eb", "#db2777", "#dc2626", "#7c3aed", "#a16207",
    "#ea580c", "#ec4899", "#ef4444", "#16a34a", "#0891b2", "#ca8a04", "#9333ea", "#4d7c0f",
    "#0d9488", "#6366f1", "#b45309", "#be123c", "#475569", "#9ca3af",
]  # fmt: skip
OFFLINE = {"Sales call", "Event", "Offline/Imported"}


def install(apps, schema_editor):
    from campaigns.default_rules import DEFAULT_CHANNELS, DEFAULT_RULES

    Channel = apps.get_model("campaigns", "Channel")
    ChannelRule = apps.get_model("campaigns", "ChannelRule")
    SourceCategory = apps.get_model("campaigns", "SourceCategory")
    by_name = {}
    for order, spec in enumerate(DEFAULT_CHANNELS):
        by_name[spec.name], _ = Channel.objects.get_or_create(
            name=spec.name,
            defaults={
                "description": spec.description,
                "is_paid": spec.paid,
                "is_offline": spec.name in OFFLINE,
                "color": PALETTE[order % len(PALETTE)],
                "display_order": order,
            },
        )
    for position, rule in enumerate(DEFAULT_RULES, start=1):
        ChannelRule.objects.create(
            position=position * 10,
            name=rule.id,
            channel=by_name[rule.channel],
            conditions=[
                {
                    "field": c.field,
                    "op": c.op,
                    "value": list(c.value) if isinstance(c.value, tuple | list) else c.value,
                }
                for c in rule.conditions
            ],
        )
    path = Path(__file__).resolve().parent.parent / "data" / "ga4_source_categories.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = {
            row["source"].strip().lower(): row["source_category"].removeprefix("SOURCE_CATEGORY_")
            for row in csv.DictReader(fh)
            if row.get("source")
        }
    SourceCategory.objects.bulk_create(
        [SourceCategory(source=s, category=c) for s, c in sorted(rows.items())],
        ignore_conflicts=True,
    )


def uninstall(apps, schema_editor):
    apps.get_model("campaigns", "ChannelRule").objects.all().delete()
    apps.get_model("campaigns", "SourceCategory").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
