"""The public capture endpoint, through the real HTTP interface."""

import json

import pytest
from django.db import OperationalError

from campaigns.tests.factories import CampaignFactory
from leads.models import CaptureForm, Lead, Submission, Touchpoint

pytestmark = pytest.mark.django_db

SITE = "https://www.example.com"


@pytest.fixture
def form(db):
    return CaptureForm.objects.create(
        name="Demo request",
        allowed_origins=[SITE],
        consent_text="Send me product news.",
        consent_version="v3",
        min_fill_seconds=2,
        custom_fields=[
            {"name": "team_size", "type": "number", "required": False},
            {"name": "plan", "type": "choice", "choices": ["starter", "pro"]},
        ],
    )


def post_json(client, form, data, **headers):
    return client.post(form.url, json.dumps(data), content_type="application/json", **headers)


def test_capture_keeps_utm_tags_of_the_landing_url(client, form):
    response = client.post(
        form.url,
        {"email": "a@x.io", "landing_url": "https://x.io/?utm_source=google&utm_medium=cpc"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201
    assert Touchpoint.objects.get().channel.name == "Paid Search"


def test_json_post_creates_a_lead_with_its_source_and_answers_201(client, form):
    spring = CampaignFactory(utm_campaign="spring")
    response = post_json(
        client,
        form,
        {
            "email": "  Ana@Example.COM ",
            "name": "Ana María López",
            "company": "Acme",
            "utm_source": "google",
            "utm_medium": "cpc",
            "utm_campaign": "Spring",
            "gclid": "abc123",
            "referrer": "https://www.google.com/",
            "landing_url": "https://www.example.com/pricing",
            "team_size": "12",
            "plan": "pro",
        },
    )
    assert response.status_code == 201
    submission = Submission.objects.get()
    assert response.json() == {"id": submission.pk}
    assert submission.lead_created is True
    lead = Lead.objects.get(pk=submission.lead_id)
    assert (lead.email, lead.first_name, lead.last_name) == (
        "ana@example.com",
        "Ana",
        "María López",
    )
    assert lead.custom == {"team_size": "12", "plan": "pro"}
    touch = lead.creation_touch
    assert touch.kind == "form_submit"
    assert (touch.channel.name, touch.campaign, touch.click_ids) == (
        "Paid Search",
        spring,
        {"gclid": "abc123"},
    )
    assert lead.first_touch == touch == lead.latest_touch
    submission = Submission.objects.get()
    assert (submission.status, submission.lead, submission.payload["company"]) == (
        "accepted",
        lead,
        "Acme",
    )


def test_form_encoded_post_from_a_plain_html_form_gets_a_303(client, form):
    form.success_url = "https://www.example.com/thank-you"
    form.save()
    response = client.post(form.url, {"email": "b@x.io"})
    assert response.status_code == 303
    assert response["Location"] == "https://www.example.com/thank-you"
    assert Lead.objects.filter(email="b@x.io").exists()
    form.success_url = ""
    form.save()
    assert client.post(form.url, {"email": "c@x.io"})["Location"] == "/l/thanks/"


def test_multipart_post_is_accepted(client, form):
    response = client.post(form.url, {"email": "m@x.io"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 201  # the Django test client sends multipart by default


def test_a_returning_lead_gets_a_new_touchpoint_not_a_new_lead(client, form):
    first = post_json(
        client, form, {"email": "r@x.io", "utm_source": "newsletter", "utm_medium": "email"}
    )
    again = post_json(client, form, {"email": "R@X.io ", "referrer": "https://www.bing.com/"})
    assert again.status_code == 201
    answered = Submission.objects.get(pk=again.json()["id"])
    assert again.json() == {"id": answered.pk} and answered.pk != first.json()["id"]
    assert (answered.lead_id, answered.lead_created) == (Lead.objects.get().pk, False)
    lead = Lead.objects.get()
    channels = list(lead.touchpoints.order_by("id").values_list("channel__name", flat=True))
    assert channels == ["Email", "Organic Search"]
    assert lead.first_touch.channel.name == "Email"
    assert lead.first_channel.name == "Email"  # copied for aggregates
    assert lead.creation_touch.channel.name == "Email"
    assert lead.latest_touch.channel.name == "Organic Search"


def test_bad_input_gets_400_with_per_field_messages_and_is_kept_as_rejected(client, form):
    response = post_json(
        client,
        form,
        {"email": "not-an-email", "first_name": "x" * 101, "team_size": "many", "plan": "gold"},
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"email", "first_name", "team_size", "plan"}
    assert "Ensure this field has no more than 100 characters." in errors["first_name"]
    assert Lead.objects.count() == 0
    rejected = Submission.objects.get()
    assert rejected.status == "rejected"
    assert "email" in rejected.reason
    assert rejected.payload["plan"] == "gold"


def test_missing_email_is_a_400_also_for_html_posts(client, form):
    response = client.post(form.url, {"name": "No Email"})
    assert response.status_code == 400
    assert b"Please check the form" in response.content
    assert b"email" in response.content


def test_a_foreign_origin_gets_403_and_an_allowed_one_gets_cors_headers(client, form):
    denied = post_json(client, form, {"email": "o@x.io"}, HTTP_ORIGIN="https://evil.example")
    assert denied.status_code == 403
    assert Lead.objects.count() == 0
    allowed = post_json(client, form, {"email": "o@x.io"}, HTTP_ORIGIN=SITE)
    assert allowed.status_code == 201
    assert allowed["Access-Control-Allow-Origin"] == SITE
    assert "Access-Control-Allow-Credentials" not in allowed
    assert allowed["Access-Control-Expose-Headers"] == "Retry-After"


def test_cors_preflight_only_for_allowed_origins(client, form):
    ok = client.options(form.url, HTTP_ORIGIN=SITE, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert ok.status_code == 204
    assert ok["Access-Control-Allow-Origin"] == SITE
    assert "POST" in ok["Access-Control-Allow-Methods"]
    bad = client.options(form.url, HTTP_ORIGIN="https://evil.example")
    assert bad.status_code == 403


def test_unknown_and_inactive_forms_are_404(client, form):
    assert post_json(client, form, {"email": "a@x.io"}).status_code == 201
    form.is_active = False
    form.save()
    assert post_json(client, form, {"email": "a@x.io"}).status_code == 404
    response = client.post("/api/v1/capture/nope/", {"email": "a@x.io"})
    assert response.status_code == 404


def test_a_body_over_the_limit_gets_413(client, form, settings):
    settings.CLM_CAPTURE_MAX_BYTES = 1000
    response = post_json(client, form, {"email": "a@x.io", "message": "x" * 2000})
    assert response.status_code == 413
    assert Lead.objects.count() == 0


def test_too_many_posts_from_one_address_get_429_with_retry_after(client, form, settings):
    settings.CLM_CAPTURE_RATE_PER_MINUTE = 3
    codes = [post_json(client, form, {"email": f"{i}@x.io"}).status_code for i in range(5)]
    assert codes[:3] == [201, 201, 201]
    assert codes[3:] == [429, 429]
    response = post_json(client, form, {"email": "late@x.io"})
    assert 1 <= int(response["Retry-After"]) <= 60


def test_a_repeated_submission_id_returns_the_first_result_and_creates_nothing(client, form):
    data = {"email": "i@x.io", "submission_id": "sub-123", "clm_elapsed_ms": 5000}
    first = post_json(client, form, data)
    second = post_json(client, form, {**data, "clm_elapsed_ms": 9000})  # a retry
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Submission.objects.count() == 1
    assert Touchpoint.objects.count() == 1


def test_a_reused_submission_id_with_another_payload_is_409(client, form):
    post_json(client, form, {"email": "i@x.io", "submission_id": "sub-9"})
    response = post_json(client, form, {"email": "other@x.io", "submission_id": "sub-9"})
    assert response.status_code == 409
    assert "submission_id" in response.json()["errors"]
    assert Lead.objects.count() == 1


def test_honeypot_bots_get_a_2xx_but_nothing_reaches_the_crm(client, form):
    response = post_json(client, form, {"email": "bot@x.io", "website": "http://spam.example"})
    assert response.status_code == 201
    spam = Submission.objects.get()
    assert response.json() == {"id": spam.pk}  # the shape a person gets
    assert Lead.objects.count() == 0
    assert (spam.status, spam.reason) == ("spam", "honeypot field 'website' filled")


def test_posts_faster_than_the_minimum_fill_time_are_spam(client, form):
    response = post_json(client, form, {"email": "fast@x.io", "clm_elapsed_ms": 300})
    assert response.status_code == 201
    assert Lead.objects.count() == 0
    assert Submission.objects.get().status == "spam"
    human = post_json(client, form, {"email": "human@x.io", "clm_elapsed_ms": 8000})
    assert Submission.objects.get(pk=human.json()["id"]).lead_created


def test_consent_is_stored_as_given_and_never_defaults_to_true(client, form):
    post_json(client, form, {"email": "no@x.io"})
    assert Lead.objects.get(email="no@x.io").consent_given is False
    post_json(
        client,
        form,
        {"email": "yes@x.io", "consent": "on", "landing_url": "https://www.example.com/demo"},
    )
    lead = Lead.objects.get(email="yes@x.io")
    assert (lead.consent_given, lead.consent_version, lead.consent_text) == (
        True,
        "v3",
        "Send me product news.",
    )
    assert lead.consent_page == "https://www.example.com/demo"
    assert lead.consent_at is not None
    post_json(client, form, {"email": "yes@x.io"})  # a later post without the box ticked
    assert Lead.objects.get(email="yes@x.io").consent_given is True


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2, 3]",
        b"{not json",
        b'{"email": {"nested": "object"}}',
        b"[" * 5000 + b"]" * 5000,
        b'{"email": "a@x.io", "first_name": "nul\\u0000byte"}',
        b'{"email": ["a@x.io", "b@x.io"]}',
    ],
    ids=["list", "broken", "nested", "deep", "nul", "list-value"],
)
def test_hostile_json_is_a_clear_400_never_a_500(client, form, body):
    response = client.post(form.url, body, content_type="application/json")
    assert response.status_code == 400
    assert "errors" in response.json()
    assert Lead.objects.count() == 0


def test_when_the_database_is_down_capture_answers_503_with_retry_after(client, form, monkeypatch):
    from leads import services

    def fail(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(services, "submission_capture", fail)
    response = post_json(client, form, {"email": "down@x.io"})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_new_leads_are_assigned_round_robin_to_active_reps(client, form, make_user):
    from clm import roles

    reps = [make_user(roles.SALES_REP) for _ in range(2)]
    ids = [post_json(client, form, {"email": f"rr{i}@x.io"}).json()["id"] for i in range(4)]
    owners = [Submission.objects.get(pk=i).lead.owner for i in ids]
    assert set(owners) == set(reps)
    assert owners[0] != owners[1] and owners[0] == owners[2]


def test_default_campaign_of_the_form_applies_when_the_post_names_none(client, form):
    campaign = CampaignFactory(utm_campaign="always_on")
    form.default_campaign = campaign
    form.save()
    post_json(client, form, {"email": "d@x.io"})
    assert Touchpoint.objects.get().campaign == campaign
