"""Posting fields a user may not set (owner, ids, timestamps, foreign keys) changes nothing,
and only the public endpoints answer cross-origin requests."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import Activity, Deal, LeadFeedback
from crm.tests.factories import lead_with_journey, stage
from leads.models import CaptureForm, Lead

pytestmark = pytest.mark.django_db

LONG_AGO = "2001-01-01T00:00:00Z"
FOREIGN = "https://evil.example.net"


@pytest.fixture
def form(db):
    return CaptureForm.objects.create(
        name="Demo", allowed_origins=["https://www.example.com"], min_fill_seconds=0
    )


# --- CORS ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/leads/", "/api/v1/deals/", "/api/v1/reports/roi/", "/api/schema/"]
)
def test_staff_api_endpoints_send_no_cors_headers(client, admin, url):
    client.force_login(admin)
    response = client.get(url, HTTP_ORIGIN=FOREIGN)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    preflight = client.options(url, HTTP_ORIGIN=FOREIGN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in preflight
    assert "Access-Control-Allow-Credentials" not in preflight


def test_the_public_capture_endpoint_answers_its_allowed_origin_only(client, form):
    ok = client.options(
        form.url, HTTP_ORIGIN="https://www.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert ok.status_code == 204
    assert ok["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert "Access-Control-Allow-Credentials" not in ok
    refused = client.options(
        form.url, HTTP_ORIGIN=FOREIGN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused


# --- Capture: a visitor sets none of the CRM's fields ----------------------------------------


def test_a_capture_post_cannot_set_owner_stage_ids_or_timestamps(client, form, rep):
    before = timezone.now()
    response = client.post(
        form.url,
        json.dumps(
            {
                "email": "mass@example.com",
                "id": 424242,
                "pk": 424242,
                "lead_id": 424242,
                "owner": rep.pk,
                "owner_id": rep.pk,
                "stage": "customer",
                "created_at": LONG_AGO,
                "consent_at": LONG_AGO,
                "first_touch": 1,
                "custom": {"vip": True},
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 400  # objects are refused ("custom")
    response = client.post(
        form.url,
        {
            "email": "mass@example.com",
            "id": "424242",
            "owner": str(rep.pk),
            "stage": "customer",
            "created_at": LONG_AGO,
            "consent_at": LONG_AGO,
        },
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201
    lead = Lead.objects.get(email="mass@example.com")
    assert lead.pk != 424242
    assert lead.stage == Lead.Stage.NEW
    assert lead.created_at >= before
    assert lead.consent_at is None
    assert lead.custom == {}  # unknown fields stay in the raw submission only


# --- CRM form views --------------------------------------------------------------------------


def test_logging_an_activity_ignores_posted_author_lead_and_timestamps(client, rep, other_rep):
    mine = lead_with_journey(owner=rep)
    theirs = lead_with_journey(owner=other_rep)
    client.force_login(rep)
    response = client.post(
        f"/crm/leads/{mine.pk}/activities/",
        {
            "kind": "call",
            "outcome": "connected",
            "notes": "hello",
            "by": other_rep.pk,
            "lead": theirs.pk,
            "id": 999999,
            "created_at": LONG_AGO,
        },
    )
    assert response.status_code == 302
    activity = Activity.objects.get(notes="hello")
    assert activity.by == rep
    assert activity.lead == mine
    assert activity.pk != 999999
    assert activity.created_at > timezone.now() - timedelta(minutes=5)
    assert not theirs.activities.exists()


def test_opening_a_deal_ignores_posted_owner_stage_and_close_fields(client, rep, other_rep):
    lead = lead_with_journey(owner=rep)
    client.force_login(rep)
    response = client.post(
        f"/crm/leads/{lead.pk}/deals/",
        {
            "name": "Big one",
            "amount": "500",
            "owner": other_rep.pk,
            "stage": stage("won").pk,
            "closed_at": LONG_AGO,
            "created_at": LONG_AGO,
            "lead": 1,
        },
    )
    assert response.status_code == 302
    deal = Deal.objects.get(name="Big one")
    assert deal.owner == rep
    assert deal.lead == lead
    assert not deal.stage.is_won
    assert deal.closed_at is None
    assert deal.created_at > timezone.now() - timedelta(minutes=5)


def test_rating_a_lead_ignores_posted_author_and_current_flag(client, rep, other_rep):
    lead = lead_with_journey(owner=rep)
    client.force_login(rep)
    client.post(
        f"/crm/leads/{lead.pk}/rating/",
        {"rating": "good", "note": "fine", "by": other_rep.pk, "is_current": "false"},
    )
    feedback = LeadFeedback.objects.get(lead=lead)
    assert feedback.by == rep and feedback.is_current


# --- CRM API -----------------------------------------------------------------------------------


def test_patching_a_lead_through_the_api_changes_only_allowed_fields(client, rep, other_rep):
    lead = lead_with_journey(owner=rep, email="keep@example.com")
    created = lead.created_at
    client.force_login(rep)
    response = client.patch(
        f"/api/v1/leads/{lead.pk}/",
        json.dumps(
            {
                "stage": "contacted",
                "email": "changed@example.com",
                "owner": other_rep.pk,  # reps may not reassign
                "created_at": LONG_AGO,
                "id": 999999,
                "first_touch": None,
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert lead.stage == Lead.Stage.CONTACTED
    assert lead.email == "keep@example.com"
    assert lead.owner == rep
    assert lead.created_at == created
    assert lead.first_touch_id is not None


def test_creating_an_activity_through_the_api_ignores_author_and_timestamps(client, rep, other_rep):
    lead = lead_with_journey(owner=rep)
    client.force_login(rep)
    response = client.post(
        "/api/v1/activities/",
        json.dumps(
            {
                "lead": lead.pk,
                "kind": "note",
                "notes": "api note",
                "by": other_rep.pk,
                "created_at": LONG_AGO,
                "id": 999999,
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    activity = Activity.objects.get(notes="api note")
    assert activity.by == rep and activity.pk != 999999
    assert activity.created_at > timezone.now() - timedelta(minutes=5)


def test_a_rep_cannot_open_a_deal_for_someone_else_through_the_api(client, rep, other_rep):
    lead = lead_with_journey(owner=rep)
    client.force_login(rep)
    response = client.post(
        "/api/v1/deals/",
        json.dumps({"lead": lead.pk, "name": "API deal", "owner": other_rep.pk}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert Deal.objects.get(name="API deal").owner == rep
