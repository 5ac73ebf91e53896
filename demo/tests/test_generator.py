"""The demo generator writes every lead column up front (COPY on PostgreSQL, in chunks): the
stored leads hold what the ORM services would compute from their touches, history and calls."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min

from crm.models import Activity, Deal, LeadFeedback, LeadHistory
from demo import generator
from leads.models import Lead, Submission, Touchpoint, Visitor
from leads.touches import first_touch_fields, first_touch_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded() -> dict[str, int]:
    call_command("seed_demo", "--users-only", stdout=io.StringIO())
    # Chunks of 120 leads: three writes (120, 120, 60), so the chunk seams are covered too.
    return generator.generate(leads=300, seed=5, log=lambda _: None, run=False, chunk=120)


def test_chunked_copy_seed_writes_the_lead_fields_the_orm_path_computes(seeded):
    leads = list(Lead.objects.order_by("id"))
    assert len(leads) == 300
    reps = sorted({lead.owner_id for lead in leads})
    assert len(reps) == 3
    calls = {
        row["lead_id"]: row
        for row in Activity.objects.values("lead_id").annotate(
            first=Min("occurred_at"), last=Max("occurred_at")
        )
    }
    for n, lead in enumerate(leads):
        touches = Touchpoint.objects.filter(lead=lead).order_by("occurred_at", "id")
        expected = first_touch_fields(first_touch_of(lead))  # as leads.touches sets them
        assert lead.first_touch_id == expected["first_touch"].pk
        assert lead.first_channel_id == expected["first_channel_id"]
        assert lead.first_campaign_id == expected["first_campaign_id"]
        assert lead.latest_touch_id == touches.last().pk  # lead_refresh_touches' latest
        submission = Submission.objects.get(lead=lead)
        assert lead.creation_touch == Touchpoint.objects.get(submission=submission)
        assert lead.creation_touch.kind == "form_submit"
        # Round robin over the reps, recorded in the lead's history as the services record it.
        assert lead.owner_id == reps[n % 3]
        owner_set = LeadHistory.objects.get(lead=lead, field="owner")
        assert owner_set.new == str(lead.owner_id)
        stages = LeadHistory.objects.filter(lead=lead, field="stage").order_by("id")
        assert (stages.last().new if stages else "new") == lead.stage
        # Speed to lead: the first and last call (crm.services keeps them on the lead).
        if lead.pk in calls:
            assert lead.first_contacted_at == calls[lead.pk]["first"]
            assert lead.last_contacted_at == calls[lead.pk]["last"]
        else:
            assert lead.first_contacted_at is None and lead.last_contacted_at is None
        assert Visitor.objects.get(lead=lead).last_seen == lead.created_at


def test_chunked_copy_seed_counts_what_it_wrote(seeded):
    assert seeded["leads"] == Lead.objects.count() == 300
    journeys = Touchpoint.objects.exclude(kind=Touchpoint.Kind.EMAIL_CLICK)
    assert seeded["touchpoints"] == journeys.count()
    assert seeded["nurture_clicks"] == Touchpoint.objects.count() - journeys.count()
    assert seeded["touchpoints"] > 300 * 3  # journeys of several touches with their page views
    assert seeded["activities"] == Activity.objects.count()
    assert seeded["feedback"] == LeadFeedback.objects.count()
    assert seeded["deals"] == Deal.objects.count() > 0
    assert Submission.objects.count() == Visitor.objects.count() == 300
    # Ids are consecutive across the chunks: nothing skipped or written twice.
    ids = journeys.aggregate(low=Min("id"), high=Max("id"), n=Count("id"))
    assert ids["high"] - ids["low"] + 1 == ids["n"]
    history = LeadHistory.objects.aggregate(low=Min("id"), high=Max("id"), n=Count("id"))
    assert history["high"] - history["low"] + 1 == history["n"]
