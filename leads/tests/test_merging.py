"""The merge behind migration leads 0008: leads whose addresses differ only in case become one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from crm.models import Activity, LeadFeedback, LeadHistory
from crm.tests.factories import ActivityFactory, DealFactory, lead_with_journey
from insights.models import Alert, LeadScore
from leads.merging import lead_duplicates_merge
from leads.models import Lead, Submission, Touchpoint, Visitor
from leads.tests.factories import LeadFactory
from nurture.models import Enrollment, Segment, SegmentMembership, Sequence

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def duplicates_allowed():
    """The state before migration 0009: no case-insensitive unique index yet."""
    with connection.cursor() as cursor:
        cursor.execute('DROP INDEX "lead_email_unique_ci"')


def merge():
    lines: list[str] = []
    counts = lead_duplicates_merge(apps, report=lines.append)
    return counts, lines


def test_the_database_refuses_a_second_lead_with_the_address_in_another_case():
    LeadFactory(email="ann@x.io")
    with pytest.raises(IntegrityError), transaction.atomic():
        Lead.objects.create(email="ANN@x.io", created_at=NOW)


def test_duplicates_merge_into_the_oldest_lead_keeping_every_row(duplicates_allowed, rep, manager):
    oldest = lead_with_journey(
        email="Tom.Garcia.846@stark.example", first_name="", company="Stark",
        owner=rep, stage="contacted", created_at=NOW - timedelta(days=10),
        custom={"plan": "pro"},
        touches=[{"channel_name": "Email", "occurred_at": NOW - timedelta(days=10)}],
    )  # fmt: skip
    newer = lead_with_journey(
        email="tom.garcia.846@stark.example", first_name="Tom", phone="+1 555", company="Other",
        owner=manager, stage="new", created_at=NOW - timedelta(days=1),
        custom={"plan": "starter", "size": "5"}, consent_given=True,
        consent_withdrawn_at=NOW - timedelta(hours=3),
        touches=[
            {"channel_name": "Paid Search", "occurred_at": NOW - timedelta(days=20)},
            {"channel_name": "Direct", "occurred_at": NOW - timedelta(hours=1)},
        ],
    )  # fmt: skip
    Submission.objects.create(
        form_key="k", received_at=NOW, status="accepted", payload={}, lead=newer
    )
    Visitor.objects.create(id="v1", lead=newer, first_seen=NOW, last_seen=NOW)
    ActivityFactory(lead=newer, by=manager)
    deal = DealFactory(lead=newer)
    LeadFeedback.objects.create(lead=oldest, rating="good", is_current=True)
    LeadFeedback.objects.create(lead=newer, rating="poor", is_current=True)
    LeadHistory.objects.create(lead=newer, field="stage", old="", new="new", at=NOW)
    segment = Segment.objects.create(name="All")
    for lead in (oldest, newer):
        SegmentMembership.objects.create(segment=segment, lead=lead, joined_at=NOW)
    sequence = Sequence.objects.create(name="Welcome", slug="welcome", segment=segment)
    Enrollment.objects.create(sequence=sequence, lead=newer, enrolled_at=NOW)
    LeadScore.objects.create(lead=newer, score=40, probability=0.4, scored_at=NOW)
    Alert.objects.create(
        kind="contact_sla", key=f"lead:{newer.pk}", title="t", data={"lead_id": newer.pk},
        created_at=NOW,
    )  # fmt: skip
    bystander = LeadFactory(email="someone@else.example")

    counts, lines = merge()

    assert counts["leads merged"] == 1
    assert set(Lead.objects.values_list("pk", flat=True)) == {oldest.pk, bystander.pk}
    kept = Lead.objects.get(pk=oldest.pk)
    assert kept.email == "tom.garcia.846@stark.example"
    # Decided fields stay; empty ones are filled; a withdrawal holds for the person.
    assert (kept.stage, kept.owner, kept.company) == ("contacted", rep, "Stark")
    assert (kept.first_name, kept.phone) == ("Tom", "+1 555")
    assert kept.custom == {"plan": "pro", "size": "5"}
    assert (kept.consent_given, kept.consent_withdrawn_at) == (False, newer.consent_withdrawn_at)
    # Every row follows the person.
    assert kept.touchpoints.count() == 3
    assert kept.submissions.count() == 1 and kept.visitors.count() == 1
    assert Activity.objects.get().lead == kept and LeadHistory.objects.get().lead == kept
    deal.refresh_from_db()
    assert deal.lead == kept
    assert LeadFeedback.objects.filter(lead=kept).count() == 2
    assert LeadFeedback.objects.get(lead=kept, is_current=True).rating == "good"
    assert SegmentMembership.objects.filter(lead=kept).count() == 1
    assert Enrollment.objects.get().lead == kept
    assert LeadScore.objects.get().lead_id == kept.pk
    alert = Alert.objects.get()
    assert (alert.key, alert.data["lead_id"]) == (f"lead:{kept.pk}", kept.pk)
    # First and latest touch follow the merged journey.
    first = Touchpoint.objects.order_by("occurred_at").first()
    assert (kept.first_touch, kept.first_channel.name) == (first, "Paid Search")
    assert kept.latest_touch == Touchpoint.objects.order_by("-occurred_at").first()
    assert "1 duplicate lead(s) merged" in lines[0] and "crm.Deal" in lines[0]


def test_the_merge_is_idempotent(duplicates_allowed):
    LeadFactory(email="Ann@X.io", created_at=NOW - timedelta(days=2))
    LeadFactory(email="ann@x.io")
    LeadFactory(email=" ANN@x.io")

    first, _ = merge()
    again, lines = merge()

    assert first["leads merged"] == 2
    assert again["leads merged"] == 0 and again["addresses normalised"] == 0
    assert list(Lead.objects.values_list("email", flat=True)) == ["ann@x.io"]
    assert "none" in lines[0]


def test_addresses_are_stored_lower_cased_by_the_merge(duplicates_allowed):
    LeadFactory(email="Solo@Example.COM")
    counts, _ = merge()
    assert (counts["leads merged"], counts["addresses normalised"]) == (0, 1)
    assert Lead.objects.get().email == "solo@example.com"


def test_a_late_stitched_touch_is_not_the_merged_leads_first_touch(duplicates_allowed):
    oldest = lead_with_journey(email="Bo@x.io", created_at=NOW - timedelta(days=2),
                               touches=[{"channel_name": "Email", "occurred_at": NOW}])  # fmt: skip
    lead_with_journey(
        email="bo@x.io",
        touches=[{"channel_name": "Paid Search", "occurred_at": NOW - timedelta(days=9),
                  "late_stitched": True}],
    )  # fmt: skip
    merge()
    oldest.refresh_from_db()
    assert oldest.first_channel.name == "Email"
