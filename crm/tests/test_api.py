from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Channel
from campaigns.tests.factories import CampaignFactory
from crm.models import Activity, Deal, DisqualifyReason, LeadFeedback, LeadHistory, QualityReason
from crm.tests.factories import ActivityFactory, DealFactory, lead_with_journey, stage
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def api(name, *args):
    return reverse(f"crm-api:{name}", args=args)


@pytest.fixture
def as_rep(client, rep):
    client.force_login(rep)
    return client


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


# --- Leads ---------------------------------------------------------------------------------


def test_a_rep_lists_only_their_leads_with_explicit_fields(as_rep, rep, other_rep):
    mine = lead_with_journey(owner=rep, touches=[{"channel_name": "Paid Search"}])
    LeadFactory(owner=other_rep)
    body = as_rep.get(api("lead-list")).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert set(row) == {
        "id", "email", "first_name", "last_name", "company", "phone", "stage", "owner",
        "owner_name", "first_channel", "first_campaign", "quality", "created_at",
        "last_contacted_at", "page_url",
    }  # fmt: skip
    assert (row["id"], row["first_channel"], row["owner"]) == (mine.pk, "Paid Search", rep.pk)


def test_lead_list_filters_and_searches(as_manager, rep):
    paid = lead_with_journey(owner=rep, company="Acme", touches=[{"channel_name": "Paid Search"}])
    lead_with_journey(owner=None, stage="qualified", touches=[{"channel_name": "Email"}])
    url = api("lead-list")
    channel = Channel.objects.get(name="Paid Search").pk

    def ids(**params):
        return [r["id"] for r in as_manager.get(url, params).json()["results"]]

    assert ids(channel=channel) == [paid.pk]
    assert ids(q="acme") == [paid.pk]
    assert ids(owner=rep.pk) == [paid.pk]
    assert len(ids(unassigned="true")) == 1
    assert len(ids(stage=["new", "qualified"])) == 2
    assert as_manager.get(url, {"stage": "bogus"}).status_code == 400


def test_lead_list_query_count_is_bounded(as_manager, rep, django_assert_max_num_queries):
    for _ in range(30):
        lead_with_journey(owner=rep)
    with django_assert_max_num_queries(6):
        response = as_manager.get(api("lead-list"))
    assert response.json()["count"] == 30


def test_a_rep_moves_their_lead_through_stages_and_cannot_set_the_owner(as_rep, rep, other_rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.patch(
        api("lead-detail", lead.pk),
        {"stage": "qualified", "owner": other_rep.pk},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == ("qualified", rep)
    assert response.json()["stage"] == "qualified"


def test_disqualifying_through_the_api_needs_a_reason(as_rep, rep):
    lead = LeadFactory(owner=rep)
    url = api("lead-detail", lead.pk)
    refused = as_rep.patch(url, {"stage": "disqualified"}, content_type="application/json")
    assert refused.status_code == 400
    assert "disqualify_reason" in refused.json()["errors"]
    reason = DisqualifyReason.objects.first()
    ok = as_rep.patch(
        url, {"stage": "disqualified", "disqualify_reason": reason.pk},
        content_type="application/json",
    )  # fmt: skip
    assert ok.status_code == 200
    history = as_rep.get(api("lead-history", lead.pk)).json()
    assert [(h["field"], h["new"], h["disqualify_reason"]) for h in history] == [
        ("stage", "disqualified", reason.pk)
    ]


def test_a_manager_reassigns_through_the_api_and_bad_owners_are_400(
    as_manager, rep, other_rep, marketer
):
    lead = LeadFactory(owner=rep)
    url = api("lead-detail", lead.pk)
    refused = as_manager.patch(url, {"owner": marketer.pk}, content_type="application/json")
    assert refused.json() == {
        "code": "invalid",
        "errors": {"owner": [f'Invalid pk "{marketer.pk}" - object does not exist.']},
    }
    ok = as_manager.patch(url, {"owner": other_rep.pk}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["owner"] == other_rep.pk
    assert LeadHistory.objects.get(field="owner").new == str(other_rep.pk)


def test_read_only_lead_fields_are_ignored(as_rep, rep):
    lead = LeadFactory(owner=rep, email="keep@x.io")
    as_rep.patch(
        api("lead-detail", lead.pk),
        {"email": "new@x.io", "id": 999, "created_at": "2001-01-01T00:00:00Z"},
        content_type="application/json",
    )
    lead.refresh_from_db()
    assert (lead.pk, lead.email) == (lead.pk, "keep@x.io")
    assert lead.created_at.year != 2001


# --- Activities ------------------------------------------------------------------------------


def test_a_rep_logs_an_activity_on_their_lead(as_rep, rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(
        api("activity-list"),
        {"lead": lead.pk, "kind": "call", "outcome": "connected", "duration": "00:07:00",
         "notes": "Interested", "by": 12345, "created_at": "2001-01-01T00:00:00Z"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    activity = Activity.objects.get()
    assert activity.by == rep and activity.created_at.year != 2001
    assert activity.duration == timedelta(minutes=7)
    assert response.json()["by"] == rep.pk


def test_a_rep_cannot_log_an_activity_on_another_reps_lead_by_id(as_rep, other_rep):
    theirs = LeadFactory(owner=other_rep)
    response = as_rep.post(
        api("activity-list"), {"lead": theirs.pk, "kind": "call"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "lead" in response.json()["errors"]
    assert not Activity.objects.exists()


def test_service_validation_errors_come_back_per_field(as_rep, rep):
    lead = LeadFactory(owner=rep)
    response = as_rep.post(
        api("activity-list"),
        {"lead": lead.pk, "kind": "email", "outcome": "no_show",
         "occurred_at": (timezone.now() + timedelta(days=2)).isoformat()},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"outcome", "occurred_at"}


def test_an_inbound_call_with_a_campaign_is_an_attribution_touch(as_rep, rep):
    lead = LeadFactory(owner=rep)
    campaign = CampaignFactory()
    response = as_rep.post(
        api("activity-list"),
        {"lead": lead.pk, "kind": "inbound_call", "campaign": campaign.pk},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["touchpoint"] is not None
    assert response.json()["channel"] == Channel.objects.get(name="Sales call").pk


def test_an_activity_is_corrected_but_its_kind_and_lead_stay(as_rep, rep):
    activity = ActivityFactory(lead=LeadFactory(owner=rep), by=rep)
    response = as_rep.patch(
        api("activity-detail", activity.pk),
        {"outcome": "left_voicemail", "notes": "Try again Friday"},
        content_type="application/json",
    )
    assert response.status_code == 200
    activity.refresh_from_db()
    assert (activity.outcome, activity.notes, activity.kind) == (
        "left_voicemail", "Try again Friday", "call",
    )  # fmt: skip


def test_garbage_input_is_a_400_never_a_500(as_rep, rep):
    lead = LeadFactory(owner=rep)
    for url, body in [
        (api("activity-list"), {"lead": "x", "kind": 5, "duration": "forever"}),
        (api("deal-list"), {"lead": lead.pk, "name": "", "amount": "1e99"}),
        (api("feedback-list"), {"lead": lead.pk, "rating": "meh"}),
        (api("lead-detail", lead.pk), {"stage": None}),
    ]:
        method = as_rep.patch if "leads" in url else as_rep.post
        response = method(url, body, content_type="application/json")
        assert response.status_code == 400, (url, response.content)
    broken = as_rep.post(api("deal-list"), "{not json", content_type="application/json")
    assert broken.status_code == 400


# --- Deals -----------------------------------------------------------------------------------


def test_deal_lifecycle_through_the_api_queues_attribution(
    as_rep, rep, monkeypatch, django_capture_on_commit_callbacks
):
    from attribution import tasks

    refreshed: list[int] = []
    monkeypatch.setattr(
        tasks.attribution_refresh_lead,
        "apply_async",
        lambda kwargs=None, **options: refreshed.append(kwargs["lead_id"]),
    )
    lead = LeadFactory(owner=rep)
    created = as_rep.post(
        api("deal-list"),
        {"lead": lead.pk, "name": "Pilot", "amount": "5000.00", "owner": 1},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["currency"], body["stage_name"], body["owner"]) == ("USD", "Qualification", rep.pk)
    url = api("deal-detail", body["id"])
    lost = as_rep.patch(url, {"stage": stage("lost").pk}, content_type="application/json")
    assert lost.status_code == 400 and "close_reason" in lost.json()["errors"]
    with django_capture_on_commit_callbacks(execute=True):
        won = as_rep.patch(
            url, {"stage": stage("won").pk, "amount": "5500.00"}, content_type="application/json"
        )
    assert won.status_code == 200
    assert won.json()["is_won"] and won.json()["closed_at"]
    assert refreshed and set(refreshed) == {lead.pk}
    lead.refresh_from_db()
    assert lead.stage == "customer"


def test_deal_list_filters_by_status(as_manager, rep):
    lead = LeadFactory(owner=rep)
    DealFactory(lead=lead)
    won = DealFactory(lead=lead, stage=stage("won"), closed_at=timezone.now())
    response = as_manager.get(api("deal-list"), {"status": "won"})
    assert [d["id"] for d in response.json()["results"]] == [won.pk]


def test_a_rep_cannot_open_a_deal_on_another_reps_lead(as_rep, other_rep):
    theirs = LeadFactory(owner=other_rep)
    response = as_rep.post(
        api("deal-list"), {"lead": theirs.pk, "name": "Steal"}, content_type="application/json"
    )
    assert response.status_code == 400 and "lead" in response.json()["errors"]
    assert not Deal.objects.exists()


def test_a_manager_sets_a_deal_owner(as_manager, rep, other_rep):
    lead = LeadFactory(owner=rep)
    response = as_manager.post(
        api("deal-list"),
        {"lead": lead.pk, "name": "Big", "amount": "1.00", "owner": other_rep.pk},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["owner"] == other_rep.pk


# --- Feedback --------------------------------------------------------------------------------


def test_rating_through_the_api_replaces_the_current_rating(as_rep, rep):
    lead = LeadFactory(owner=rep)
    url = api("feedback-list")
    poor = QualityReason.objects.filter(applies_to="poor").first()
    assert as_rep.post(url, {"lead": lead.pk, "rating": "good"}).status_code == 201
    refused = as_rep.post(url, {"lead": lead.pk, "rating": "poor"})
    assert refused.status_code == 400 and "reason" in refused.json()["errors"]
    rated = as_rep.post(url, {"lead": lead.pk, "rating": "poor", "reason": poor.pk})
    assert rated.status_code == 201
    current = as_rep.get(url, {"lead": lead.pk, "current": "true"}).json()["results"]
    assert [(f["rating"], f["reason_name"]) for f in current] == [("poor", poor.name)]
    assert LeadFeedback.objects.count() == 2


def test_quality_counts_per_first_touch_channel_and_campaign(as_manager, client, rep, marketer):
    spring = CampaignFactory(name="Spring")
    poor = QualityReason.objects.filter(applies_to="poor").first()
    ratings = [("Paid Search", spring, "good"), ("Paid Search", spring, "poor"),
               ("Paid Search", None, None), ("Email", None, "good")]  # fmt: skip
    for channel, campaign, rating in ratings:
        lead = lead_with_journey(
            owner=rep, touches=[{"channel_name": channel, "campaign": campaign}]
        )
        if rating:
            LeadFeedback.objects.create(
                lead=lead, rating=rating, reason=poor if rating == "poor" else None
            )
    client.force_login(marketer)
    by_channel = client.get(api("feedback-quality"), {"group_by": "channel"}).json()
    rows = {r["name"]: r for r in by_channel["results"]}
    assert rows["Paid Search"] == {
        "id": Channel.objects.get(name="Paid Search").pk, "name": "Paid Search",
        "leads": 3, "rated": 2, "good": 1, "poor": 1, "good_share": 0.5,
    }  # fmt: skip
    assert (rows["Email"]["good"], rows["Email"]["good_share"]) == (1, 1.0)
    by_campaign = client.get(api("feedback-quality"), {"group_by": "campaign"}).json()
    rows = {r["name"]: r for r in by_campaign["results"]}
    assert (rows["Spring"]["leads"], rows["Spring"]["good"], rows["Spring"]["poor"]) == (2, 1, 1)
    assert rows[None]["leads"] == 2
    assert client.get(api("feedback-quality"), {"group_by": "x"}).status_code == 400


def test_the_reference_lists_are_readable(as_rep):
    stages = as_rep.get(api("pipeline-stage-list")).json()["results"]
    slugs = [s["slug"] for s in stages]
    assert slugs == ["qualification", "proposal", "negotiation", "won", "lost"]
    assert as_rep.get(api("disqualify-reason-list")).json()["count"] >= 5
    assert as_rep.get(api("quality-reason-list")).json()["results"][0]["applies_to"]


def test_the_openapi_schema_describes_the_crm_api(client, rep):
    client.force_login(rep)
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/leads/", "/api/v1/leads/{id}/", "/api/v1/activities/",
                 "/api/v1/deals/{id}/", "/api/v1/feedback/quality/"):  # fmt: skip
        assert path in paths, path
    assert "put" not in paths["/api/v1/leads/{id}/"]


@pytest.mark.parametrize(
    "params",
    [
        {"page": "x"},
        {"channel": 10**30},
        {"owner": "1.5"},
        {"created_after": "garbage"},
        {"lead": -1},
        {"ordering": "password"},
    ],
)
def test_hostile_query_parameters_are_answered_without_a_server_error(as_manager, params):
    for name in ("lead-list", "activity-list", "deal-list", "feedback-list"):
        response = as_manager.get(api(name), params)
        assert response.status_code in (200, 400, 404), (name, params, response.content)


def test_huge_durations_and_ids_in_a_body_are_400(as_rep, rep):
    lead = LeadFactory(owner=rep)
    for body in (
        {"lead": lead.pk, "kind": "call", "duration": "1000000000 00:00:00"},
        {"lead": lead.pk, "kind": "call", "occurred_at": "0001-01-01T00:00:00+05:00"},
        {"lead": 10**20, "kind": "call"},
        {"lead": lead.pk, "kind": "call", "notes": "a\x00b"},
    ):
        response = as_rep.post(api("activity-list"), body, content_type="application/json")
        assert response.status_code == 400, body
