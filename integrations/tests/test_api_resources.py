"""The /api/v1/ resources an integrator uses with a token: spend, mass assignment, runs."""

import pytest
from django.test import Client

from campaigns.models import Spend
from campaigns.tests.factories import CampaignFactory
from crm.tests.factories import DealFactory
from integrations.services import token_create
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def as_user(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user, name='t').raw}")


def post(api, url, body):
    return api.post(url, body, content_type="application/json")


def test_bulk_spend_upsert_is_idempotent(marketer):
    api = as_user(marketer)
    a, b = CampaignFactory(utm_campaign="a"), CampaignFactory(utm_campaign="b")
    rows = [
        {"campaign": a.pk, "date": "2026-06-01", "amount": "10.50", "clicks": 3},
        {"campaign": b.pk, "date": "2026-06-01", "amount": "7.00", "currency": "eur"},
    ]
    first = post(api, "/api/v1/spend/bulk/", {"rows": rows})
    assert first.status_code == 200
    assert first.json() == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    again = post(api, "/api/v1/spend/bulk/", {"rows": rows})
    assert again.json() == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2}
    rows[0]["amount"] = "11.00"
    changed = post(api, "/api/v1/spend/bulk/", {"rows": rows}).json()
    assert (changed["updated"], changed["unchanged"]) == (1, 1)
    assert Spend.objects.get(campaign=b).currency == "EUR"
    assert Spend.objects.filter(source="api").count() == 2
    listed = api.get("/api/v1/spend/", {"campaign": a.pk}).json()
    assert listed["count"] == 1 and listed["results"][0]["amount"] == "11.00"


def test_a_bad_spend_row_is_a_400_naming_row_and_field_and_nothing_is_written(marketer):
    api = as_user(marketer)
    a = CampaignFactory(utm_campaign="a")
    rows = [
        {"campaign": a.pk, "date": "2026-06-01", "amount": "10.00"},
        {"campaign": a.pk, "date": "2026-06-02", "amount": "-1"},
        {"campaign": 999999, "date": "2026-06-03", "amount": "1"},
    ]
    response = post(api, "/api/v1/spend/bulk/", {"rows": rows})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"rows[1].amount", "rows[2].campaign"}
    assert not Spend.objects.exists()


def test_reps_may_not_read_or_write_spend(rep):
    api = as_user(rep)
    assert api.get("/api/v1/spend/").status_code == 403
    assert post(api, "/api/v1/spend/bulk/", {"rows": []}).status_code == 403


def test_mass_assignment_of_owner_and_stage_timestamps_is_ignored(rep, other_rep):
    lead = LeadFactory(owner=rep)
    api = as_user(rep)
    response = api.patch(
        f"/api/v1/leads/{lead.pk}/",
        {
            "stage": "contacted",
            "owner": other_rep.pk,
            "created_at": "2000-01-01T00:00:00Z",
            "id": 12345,
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    lead.refresh_from_db()
    assert (lead.stage, lead.owner_id, lead.pk) == ("contacted", rep.pk, response.json()["id"])
    assert lead.created_at.year != 2000

    deal = post(
        api,
        "/api/v1/deals/",
        {
            "lead": lead.pk,
            "name": "D",
            "owner": other_rep.pk,
            "closed_at": "2020-01-01T00:00:00Z",
            "opportunity_created_at": "2020-01-01T00:00:00Z",
        },
    )
    assert deal.status_code == 201
    assert deal.json()["owner"] != other_rep.pk and deal.json()["closed_at"] is None
    assert deal.json()["opportunity_created_at"][:4] != "2020"


def test_a_campaign_owner_is_its_creator_not_the_body(marketer, rep):
    api = as_user(marketer)
    created = post(
        api, "/api/v1/campaigns/", {"name": "Spring", "utm_campaign": "Spring", "owner": rep.pk}
    )
    assert created.status_code == 201
    assert created.json()["owner"] == marketer.pk and created.json()["utm_campaign"] == "spring"
    duplicate = post(api, "/api/v1/campaigns/", {"name": "Again", "utm_campaign": "SPRING"})
    assert duplicate.status_code == 400 and duplicate.json()["code"] == "invalid"


def test_a_rep_reads_campaigns_but_only_admins_configure_channels_and_rules(rep, admin):
    assert as_user(rep).get("/api/v1/campaigns/").status_code == 200
    assert post(as_user(rep), "/api/v1/campaigns/", {"name": "x"}).status_code == 403
    assert post(as_user(rep), "/api/v1/channels/", {"name": "x"}).status_code == 403
    assert as_user(rep).get("/api/v1/channel-rules/").status_code == 403
    made = post(as_user(admin), "/api/v1/channels/", {"name": "Podcasts", "is_paid": True})
    assert made.status_code == 201 and made.json()["name"] == "Podcasts"


def test_a_rep_reads_touchpoints_of_own_leads_only(rep, other_rep):
    from crm.tests.factories import lead_with_journey

    mine = lead_with_journey(owner=rep, touches=[{"channel_name": "Paid Search"}])
    lead_with_journey(owner=other_rep, touches=[{"channel_name": "Email"}])
    rows = as_user(rep).get("/api/v1/touchpoints/").json()["results"]
    assert {r["lead"] for r in rows} == {mine.pk}


def test_an_admin_creates_a_capture_form_with_checked_custom_fields(admin):
    api = as_user(admin)
    bad = post(
        api,
        "/api/v1/capture-forms/",
        {"name": "F", "custom_fields": [{"name": "budget"}, {"name": "Bad Name!"}]},
    )
    assert bad.status_code == 400 and "custom_fields[1].name" in bad.json()["errors"]
    good = post(api, "/api/v1/capture-forms/", {"name": "F", "custom_fields": [{"name": "budget"}]})
    assert good.status_code == 201 and good.json()["url"].startswith("/api/v1/capture/")


def test_starting_an_attribution_run_with_a_token_and_reading_its_progress_and_results(
    marketer, rep, celery_eager, django_capture_on_commit_callbacks
):
    lead = LeadFactory(owner=rep)
    DealFactory(lead=lead)
    api = as_user(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        started = post(api, "/api/v1/attribution/runs/", {"models": ["linear"]})
    assert started.status_code == 202
    run = api.get(f"/api/v1/attribution/runs/{started.json()['id']}/").json()
    assert run["status"] == "done" and run["progress"]["percent"] == 100
    results = api.get(f"/api/v1/attribution/runs/{run['id']}/results/", {"model": "linear"})
    assert results.status_code == 200 and results.json()["run"] == run["id"]
    other_model = api.get(f"/api/v1/attribution/runs/{run['id']}/results/", {"model": "markov"})
    assert other_model.status_code == 400 and "model" in other_model.json()["errors"]
    listed = api.get("/api/v1/attribution/runs/").json()
    assert listed["count"] == 1
    assert post(as_user(rep), "/api/v1/attribution/runs/", {}).status_code == 403


def test_results_of_an_unfinished_run_are_a_409(marketer):
    from attribution.services import run_create

    run = run_create(models=["linear"], start=False)
    response = as_user(marketer).get(f"/api/v1/attribution/runs/{run.pk}/results/")
    assert response.status_code == 409 and response.json()["code"] == "conflict"


def test_errors_have_one_shape(rep):
    api = as_user(rep)
    assert api.get("/api/v1/leads/999999/").json() == {
        "code": "not_found",
        "errors": {"__all__": ["No Lead matches the given query."]},
    }
    assert api.get("/api/v1/leads/", {"page": 99}).status_code == 404


def test_patching_custom_fields_still_needs_complete_items(admin):
    from leads.models import CaptureForm

    form = CaptureForm.objects.create(name="F")
    response = as_user(admin).patch(
        f"/api/v1/capture-forms/{form.pk}/",
        {"custom_fields": [{"label": "No name"}]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "custom_fields[0].name" in response.json()["errors"]


def test_a_lead_without_a_first_touch_lists_nulls_the_schema_allows(manager):
    LeadFactory(first_touch=None)
    row = as_user(manager).get("/api/v1/leads/").json()["results"][0]
    assert row["first_channel"] is None and row["first_campaign"] is None
