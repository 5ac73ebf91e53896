"""A person's rights: export their data, withdraw consent, erase them (ROI unchanged)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from attribution import engine, selectors
from attribution import services as attribution_services
from attribution.models import AttributionResult
from crm.models import Deal, LeadFeedback
from crm.tests.factories import lead_with_journey, stage
from leads.models import CaptureForm, Erasure, Lead, Submission, Touchpoint, Visitor
from leads.privacy import email_hash

pytestmark = pytest.mark.django_db

EMAIL = "janet.zyxwvu@example.org"
PII = [
    "janet.zyxwvu", "Janet", "Zyxwvu", "555 0199", "Zyxcorp", "vis-janet-0001", "GCLIDJANET123",
    "secret-campaign-token",
]  # fmt: skip


@pytest.fixture
def form(db):
    return CaptureForm.objects.create(
        name="Demo", min_fill_seconds=0, consent_text="News", consent_version="v1"
    )


@pytest.fixture
def run_now(django_capture_on_commit_callbacks, celery_eager):
    def go():
        with django_capture_on_commit_callbacks(execute=True):
            run = attribution_services.run_create()
        run.refresh_from_db()
        assert run.status == "done", run.error
        return run

    return go


@pytest.fixture
def person(client, form, manager):
    """Janet, as the whole loop leaves her: page views, capture (sent to a webhook), a rejected
    post, CRM work, a contact-SLA alert naming her."""
    from integrations.models import WebhookEndpoint

    WebhookEndpoint.objects.create(
        description="CRM sync", url="https://hooks.example.com/clm", secret="s" * 32,
        events=["lead.created", "lead.stage_changed", "deal.won"],
    )  # fmt: skip
    tracked = client.post(
        "/api/v1/track/",
        json.dumps(
            {
                "visitor_id": "vis-janet-0001",
                "url": "https://www.example.com/p?utm_source=google&utm_medium=cpc"
                "&gclid=GCLIDJANET123",
            }
        ),
        content_type="application/json",
    )
    assert tracked.status_code == 202
    captured = client.post(
        form.url,
        {
            "email": EMAIL,
            "first_name": "Janet",
            "last_name": "Zyxwvu",
            "phone": "+1 555 0199",
            "company": "Zyxcorp",
            "consent": "on",
            "visitor_id": "vis-janet-0001",
            "landing_url": "https://www.example.com/?utm_source=newsletter&utm_medium=email"
            "&token=secret-campaign-token",
        },
        HTTP_ACCEPT="application/json",
    )
    assert captured.status_code == 201, captured.content
    rejected = client.post(
        form.url, {"email": EMAIL, "phone": "Janet's phone"}, HTTP_ACCEPT="application/json"
    )
    assert rejected.status_code == 400
    lead = Lead.objects.get(email=EMAIL)

    client.force_login(manager)
    lead_url = reverse("crm:lead", args=[lead.pk])
    steps = [
        (reverse("crm:lead-activity", args=[lead.pk]),
         {"kind": "call", "outcome": "connected", "notes": "Janet Zyxwvu wants a demo"}),
        (reverse("crm:lead-rate", args=[lead.pk]), {"rating": "good", "note": "Janet is keen"}),
        (reverse("crm:lead-deal", args=[lead.pk]), {"name": "Zyxcorp expansion", "amount": "5000"}),
    ]  # fmt: skip
    for url, data in steps:
        assert client.post(url, data).status_code == 302, url
    deal = Deal.objects.get(lead=lead)
    closed = client.post(
        reverse("crm:deal-close", args=[deal.pk]), {"outcome": "won", "reason": "Zyxcorp signed"}
    )
    assert closed.status_code == 302
    LogEntry.objects.create(
        user=manager,
        content_type=ContentType.objects.get_for_model(Lead),
        object_id=str(lead.pk),
        object_repr=str(lead),
        action_flag=CHANGE,
        change_message="Changed phone of Janet",
    )
    client.logout()
    assert client.get(lead_url).status_code == 302  # logged out again
    return lead


@pytest.fixture
def bob(manager):
    touches = [{"channel_name": "Email"}, {"channel_name": "Direct"}]
    lead = lead_with_journey(
        owner=manager, email="bob@example.net", first_name="Bob", touches=touches
    )
    Deal.objects.create(
        lead=lead, name="Bob's deal", amount=Decimal("1200"), owner=manager, stage=stage("won"),
        opportunity_created_at=lead.created_at, closed_at=lead.created_at,
    )  # fmt: skip
    return lead


def all_rows_as_text() -> str:
    """Every row of every table the project writes, serialised."""
    chunks = []
    for label in (
        "leads", "crm", "attribution", "campaigns", "admin", "integrations", "outbox", "insights",
        "nurture",
    ):  # fmt: skip
        for model in apps.get_app_config(label).get_models():
            chunks.append(serializers.serialize("json", model.objects.all()))
    return "\n".join(chunks)


def attribution_inputs(lead) -> list[tuple]:
    touches = Touchpoint.objects.filter(lead=lead).order_by("id")
    return list(touches.values_list("kind", "channel_id", "campaign_id", "occurred_at"))


def roi_snapshot(run) -> dict:
    rows = {}
    for model in engine.MODELS:
        for row in selectors.roi_rows(run=run, model=model):
            rows[(model, row.name)] = (row.leads, row.deals, row.revenue, row.spend)
    return rows


def result_snapshot(run) -> list[tuple]:
    return sorted(
        AttributionResult.objects.filter(run=run).values_list(
            "model", "milestone", "channel_id", "campaign_id", "day", "conversions", "value_cents"
        )
    )


def test_erasing_a_person_removes_every_identifying_row_and_keeps_roi(
    client, admin, person, bob, run_now
):
    from insights.alerts import alerts_check_contact_sla
    from insights.models import Alert
    from integrations.models import WebhookDelivery

    Lead.objects.filter(pk=person.pk).update(
        stage="new", last_contacted_at=None, created_at=timezone.now() - timedelta(days=2)
    )
    assert alerts_check_contact_sla() >= 1
    assert "Janet" in Alert.objects.get(key=f"lead:{person.pk}").title
    assert WebhookDelivery.objects.filter(body__contains=EMAIL).exists()
    text = all_rows_as_text()
    assert all(p in text for p in PII)  # the set-up really stored them all
    before = run_now()
    touches_before = list(
        Touchpoint.objects.filter(lead=person).values_list(
            "channel_id", "campaign_id", "occurred_at"
        )
    )

    client.force_login(admin)
    response = client.post(
        reverse("privacy"), {"email": EMAIL.upper(), "action": "erase", "confirm": "on"}
    )
    assert response.status_code == 302
    assert "Erased" in client.get(reverse("privacy")).content.decode()

    text = all_rows_as_text()
    leaked = [p for p in PII if p.lower() in text.lower()]
    assert leaked == []
    person.refresh_from_db()
    assert person.erased_at is not None and person.email.endswith("@erased.invalid")
    assert not Visitor.objects.filter(pk="vis-janet-0001").exists()
    assert Submission.objects.filter(payload={}).count() == 2  # accepted and rejected
    # What attribution reads is intact: touches, the deal's amount and dates.
    assert (
        list(
            Touchpoint.objects.filter(lead=person).values_list(
                "channel_id", "campaign_id", "occurred_at"
            )
        )
        == touches_before
    )
    assert Deal.objects.get(lead=person).amount == Decimal("5000.00")
    # Bob is untouched.
    assert Lead.objects.get(email="bob@example.net").first_name == "Bob"

    after = run_now()
    linear_revenue = sum(v[2] for k, v in roi_snapshot(before).items() if k[0] == "linear")
    assert linear_revenue == Decimal("6200.00")  # Janet's 5,000 and Bob's 1,200
    assert result_snapshot(before) and result_snapshot(after) == result_snapshot(before)
    assert roi_snapshot(after) == roi_snapshot(before)

    erasure = Erasure.objects.get()
    assert erasure.email_hash == email_hash(EMAIL)
    assert erasure.by == admin and erasure.lead_id == person.pk
    assert erasure.counts["submissions"] == 2 and erasure.counts["visitors"] == 1
    assert EMAIL not in json.dumps(serializers.serialize("json", [erasure]))


def test_export_holds_every_row_about_the_person_and_nobody_else(client, admin, person, bob):
    client.force_login(admin)
    response = client.post(reverse("privacy"), {"email": EMAIL, "action": "export"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["lead"]["email"] == EMAIL and data["lead"]["company"] == "Zyxcorp"
    assert data["lead"]["consent_given"] is True
    assert {s["status"] for s in data["submissions"]} == {"accepted", "rejected"}
    assert [v["id"] for v in data["visitors"]] == ["vis-janet-0001"]
    assert any("GCLIDJANET123" in t["url"] for t in data["touchpoints"])
    assert data["activities"][0]["notes"] == "Janet Zyxwvu wants a demo"
    assert data["feedback"][0]["note"] == "Janet is keen"
    assert data["deals"][0]["name"] == "Zyxcorp expansion"
    assert any(
        (h["field"], h["old"], h["new"]) == ("stage", "new", "contacted") for h in data["history"]
    )
    assert "bob@example.net" not in response.content.decode()


def test_the_commands_export_and_erase(person, tmp_path):
    out = tmp_path / "janet.json"
    call_command("export_person", "--email", EMAIL, "--output", str(out))
    assert json.loads(out.read_text())["lead"]["last_name"] == "Zyxwvu"
    stdout = StringIO()
    call_command("erase_person", "--email", EMAIL, "--yes", stdout=stdout)
    assert "Erased (erasure #" in stdout.getvalue()
    assert not Lead.objects.filter(email=EMAIL).exists()
    stdout = StringIO()
    call_command("export_person", "--email", EMAIL, stdout=stdout)
    assert json.loads(stdout.getvalue())["lead"] is None


def test_the_admin_action_asks_before_erasing(client, admin, person):
    client.force_login(admin)
    url = reverse("admin:leads_lead_changelist")
    data = {"action": "erase_people", "_selected_action": [person.pk]}
    confirm = client.post(url, data)
    assert confirm.status_code == 200
    assert "Yes, erase them" in confirm.content.decode()
    assert Lead.objects.filter(email=EMAIL).exists()
    done = client.post(url, {**data, "confirm": "yes"})
    assert done.status_code == 302
    assert not Lead.objects.filter(email=EMAIL).exists()
    assert Erasure.objects.get().by == admin


def test_only_admins_reach_the_privacy_page(client, manager, marketer):
    for user in (manager, marketer):
        client.force_login(user)
        assert client.get(reverse("privacy")).status_code == 403
        assert (
            client.post(reverse("privacy"), {"email": EMAIL, "action": "export"}).status_code == 403
        )


def test_erasure_needs_a_ticked_confirmation(client, admin, person):
    client.force_login(admin)
    response = client.post(reverse("privacy"), {"email": EMAIL, "action": "erase"})
    assert response.status_code == 400
    assert "cannot be undone" in response.content.decode()
    assert Lead.objects.filter(email=EMAIL).exists()


def test_a_person_who_withdrew_consent_is_left_out_of_exports(client, admin, manager, form):
    for email in (EMAIL, "stays@example.com"):
        client.post(form.url, {"email": email, "consent": "on"}, HTTP_ACCEPT="application/json")
    client.force_login(admin)
    response = client.post(reverse("privacy"), {"email": EMAIL, "action": "withdraw"})
    assert response.status_code == 302
    lead = Lead.objects.get(email=EMAIL)
    assert lead.consent_given is False and lead.consent_withdrawn_at is not None

    client.force_login(manager)
    csv = client.get(reverse("crm:sales-dashboard-export", args=["waiting"]), {"range": "30d"})
    assert csv.status_code == 200
    text = csv.content.decode()
    assert "stays@example.com" in text
    assert EMAIL not in text
    assert str(lead.pk) not in [line.split(",")[0] for line in text.splitlines()[1:]]


def test_withdrawing_consent_of_an_unknown_address_says_so(client, admin):
    client.force_login(admin)
    response = client.post(reverse("privacy"), {"email": "nobody@x.io", "action": "withdraw"})
    assert response.status_code == 404
    assert "No lead with this address" in response.content.decode()


def test_feedback_rows_survive_erasure_without_their_note(client, admin, person):
    client.force_login(admin)
    client.post(reverse("privacy"), {"email": EMAIL, "action": "erase", "confirm": "on"})
    feedback = LeadFeedback.objects.get(lead=person)
    assert feedback.rating == "good" and feedback.note == ""
