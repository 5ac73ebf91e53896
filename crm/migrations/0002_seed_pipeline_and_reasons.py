"""Seed the deal pipeline and the reason lists; all of them stay editable in the admin."""

from django.db import migrations

PIPELINE = [
    # (slug, name, order, is_won, is_lost)
    ("qualification", "Qualification", 10, False, False),
    ("proposal", "Proposal", 20, False, False),
    ("negotiation", "Negotiation", 30, False, False),
    ("won", "Won", 90, True, False),
    ("lost", "Lost", 100, False, True),
]
DISQUALIFY_REASONS = [
    "No budget",
    "No need",
    "Not the decision maker",
    "Outside our market",
    "Chose a competitor",
    "Unresponsive",
    "Spam or fake",
    "Duplicate",
]
QUALITY_REASONS = [
    # (name, applies_to)
    ("Matches our ideal customer", "good"),
    ("Clear need and timeline", "good"),
    ("Budget confirmed", "good"),
    ("Wrong industry or size", "poor"),
    ("Student or job seeker", "poor"),
    ("Wrong country", "poor"),
    ("No real need", "poor"),
    ("Spam or fake details", "poor"),
    ("Existing customer", "any"),
]


def seed(apps, schema_editor):
    PipelineStage = apps.get_model("crm", "PipelineStage")
    DisqualifyReason = apps.get_model("crm", "DisqualifyReason")
    QualityReason = apps.get_model("crm", "QualityReason")
    for slug, name, order, is_won, is_lost in PIPELINE:
        PipelineStage.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "order": order, "is_won": is_won, "is_lost": is_lost},
        )
    for order, name in enumerate(DISQUALIFY_REASONS, start=1):
        DisqualifyReason.objects.get_or_create(name=name, defaults={"order": order * 10})
    for order, (name, applies_to) in enumerate(QUALITY_REASONS, start=1):
        QualityReason.objects.get_or_create(
            name=name, defaults={"order": order * 10, "applies_to": applies_to}
        )


def unseed(apps, schema_editor):
    apps.get_model("crm", "PipelineStage").objects.filter(
        slug__in=[p[0] for p in PIPELINE], deals__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
