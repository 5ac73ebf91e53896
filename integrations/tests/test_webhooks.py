"""Webhooks received by a real HTTP server on 127.0.0.1, signatures checked like a receiver."""

import json

import pytest
from django.core.exceptions import ValidationError

from integrations import webhooks
from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.services import deliveries_sweep, webhook_endpoint_save

pytestmark = pytest.mark.django_db


def subscribe(url, events):
    return webhook_endpoint_save(endpoint=WebhookEndpoint(url=url, events=events))


def capture(client, form, email):
    return client.post(form.url, {"email": email}, content_type="application/json")


@pytest.fixture
def capture_form():
    from leads.models import CaptureForm

    return CaptureForm.objects.create(name="Demo request", min_fill_seconds=0)


def test_a_new_lead_is_delivered_signed_and_retried_after_a_500(
    client, capture_form, receiver, celery_eager, django_capture_on_commit_callbacks
):
    hook = receiver(answers=[500])
    endpoint = subscribe(hook.url, ["lead.created"])
    with django_capture_on_commit_callbacks(execute=True):
        assert capture(client, capture_form, "new@x.io").status_code == 201

    assert len(hook.received) == 2  # the 500, then the retry
    for headers, body in hook.received:
        assert headers["X-CLM-Event"] == "lead.created"
        assert webhooks.verify(secret=endpoint.secret, header=headers["X-CLM-Signature"], body=body)
        assert not webhooks.verify(secret="wrong", header=headers["X-CLM-Signature"], body=body)
    event = json.loads(hook.received[1][1])
    assert event["event"] == "lead.created" and event["data"]["email"] == "new@x.io"

    delivery = WebhookDelivery.objects.get()
    assert hook.received[1][0]["X-CLM-Delivery"] == str(delivery.pk)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 2, 200)
    log = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.number, a.status_code) for a in log] == [(1, 500), (2, 200)]
    assert log[0].error == "HTTP 500" and all(a.response_ms >= 0 for a in log)


def test_deliveries_stop_after_the_bounded_attempts(
    settings, capture_form, client, receiver, celery_eager, django_capture_on_commit_callbacks
):
    settings.CLM_WEBHOOK_MAX_ATTEMPTS = 3
    hook = receiver(answers=[500, 503, 500, 500])
    subscribe(hook.url, ["lead.created"])
    with django_capture_on_commit_callbacks(execute=True):
        assert capture(client, capture_form, "a@x.io").status_code == 201
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert len(hook.received) == 3


def test_redirects_are_not_followed(receiver, celery_eager, django_capture_on_commit_callbacks):
    from integrations.events import event_emit

    hook = receiver(answers=[302, 302, 302, 302, 302, 302])
    subscribe(hook.url, ["deal.won"])
    with django_capture_on_commit_callbacks(execute=True):
        event_emit(name="deal.won", payload={"deal_id": 1})
    attempts = WebhookAttempt.objects.all()
    assert attempts and all(a.status_code == 302 for a in attempts)
    assert len(hook.received) == attempts.count()  # nothing went to the Location


def test_a_broker_outage_never_fails_the_capture_and_the_sweep_sends_later(
    client, capture_form, receiver, celery_eager, django_capture_on_commit_callbacks, monkeypatch
):
    from integrations import tasks

    hook = receiver()
    subscribe(hook.url, ["lead.created"])

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    with monkeypatch.context() as patched:
        patched.setattr(tasks.webhook_deliver, "apply_async", broker_down)
        with django_capture_on_commit_callbacks(execute=True):
            assert capture(client, capture_form, "b@x.io").status_code == 201
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and not hook.received

    assert deliveries_sweep(older_than_seconds=0) == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and len(hook.received) == 1


def test_an_admin_redelivers_a_delivery_with_the_same_event(
    admin, client, receiver, celery_eager, django_capture_on_commit_callbacks
):
    from integrations.events import event_emit

    hook = receiver()
    subscribe(hook.url, ["attribution.run_finished"])
    with django_capture_on_commit_callbacks(execute=True):
        event_emit(name="attribution.run_finished", payload={"run_id": 7})
    first = WebhookDelivery.objects.get()
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/integrations/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [str(first.pk)]},
        )
    assert response.status_code == 302
    assert WebhookDelivery.objects.count() == 2
    bodies = [json.loads(body) for _, body in hook.received]
    assert len(bodies) == 2 and bodies[0]["id"] == bodies[1]["id"]
    assert hook.received[0][0]["X-CLM-Delivery"] != hook.received[1][0]["X-CLM-Delivery"]


def test_deal_won_and_stage_changes_emit_events(
    rep, receiver, celery_eager, django_capture_on_commit_callbacks
):
    from crm.services import deal_close, deal_create, lead_change_stage
    from leads.tests.factories import LeadFactory

    hook = receiver()
    subscribe(hook.url, ["deal.won", "lead.stage_changed"])
    lead = LeadFactory(owner=rep)
    with django_capture_on_commit_callbacks(execute=True):
        lead_change_stage(lead=lead, stage="contacted", by=rep)
        deal = deal_create(lead=lead, name="Big", by=rep)
        deal_close(deal=deal, won=True, by=rep)
    events = [json.loads(body)["event"] for _, body in hook.received]
    assert events.count("deal.won") == 1
    stage_changes = [
        json.loads(b)["data"] for _, b in hook.received if "stage_changed" in json.loads(b)["event"]
    ]
    assert {"old_stage": "new", "new_stage": "contacted"}.items() <= stage_changes[0].items()
    assert stage_changes[-1]["new_stage"] == "customer"


def test_unsafe_webhook_urls_are_refused(settings):
    settings.CLM_WEBHOOK_ALLOW_PRIVATE = False
    for url in ("ftp://example.com/x", "http://127.0.0.1:9/x", "http://10.0.0.5/x",
                "http://169.254.169.254/latest", "http://[::1]/x"):  # fmt: skip
        with pytest.raises(ValidationError) as refused:
            subscribe(url, ["deal.won"])
        assert "url" in refused.value.message_dict
    with pytest.raises(ValidationError) as unknown:
        subscribe("http://93.184.215.14/x", ["deal.maybe"])
    assert "events" in unknown.value.message_dict
    assert not WebhookEndpoint.objects.exists()


def test_the_lead_created_event_names_the_owner_the_form_assigned(client, manager, receiver):
    from leads.models import CaptureForm

    form = CaptureForm.objects.create(
        name="Demo",
        min_fill_seconds=0,
        assignment=CaptureForm.Assignment.FIXED_OWNER,
        owner=manager,
    )
    subscribe(receiver().url, ["lead.created"])
    assert capture(client, form, "owned@x.io").status_code == 201
    data = json.loads(WebhookDelivery.objects.get().body)["data"]
    assert (data["email"], data["owner"], data["form"]) == ("owned@x.io", manager.pk, "Demo")


def test_the_lead_created_event_has_no_owner_when_the_form_assigns_none(client, receiver):
    from leads.models import CaptureForm

    form = CaptureForm.objects.create(
        name="Open", min_fill_seconds=0, assignment=CaptureForm.Assignment.UNASSIGNED
    )
    subscribe(receiver().url, ["lead.created"])
    assert capture(client, form, "nobody@x.io").status_code == 201
    assert json.loads(WebhookDelivery.objects.get().body)["data"]["owner"] is None


def test_a_matched_account_emits_account_created(
    receiver, celery_eager, django_capture_on_commit_callbacks
):
    from crm.services import account_match_lead
    from leads.tests.factories import LeadFactory

    hook = receiver()
    subscribe(hook.url, ["account.created"])
    with django_capture_on_commit_callbacks(execute=True):
        account_match_lead(lead=LeadFactory(email="ann@initech.com", company="Initech"))
        account_match_lead(lead=LeadFactory(email="bob@initech.com"))  # joins: no new event
    bodies = [json.loads(body) for _, body in hook.received]
    assert [b["event"] for b in bodies] == ["account.created"]
    assert bodies[0]["data"]["name"] == "Initech"


def test_the_run_finished_event_names_the_runs_scope(
    receiver, celery_eager, django_capture_on_commit_callbacks
):
    from attribution.services import run_create

    hook = receiver()
    subscribe(hook.url, ["attribution.run_finished"])
    with django_capture_on_commit_callbacks(execute=True):
        run = run_create(models=["linear"], scope="account")
    data = [json.loads(body)["data"] for _, body in hook.received]
    assert [(d["run_id"], d["status"], d["scope"]) for d in data] == [(run.pk, "done", "account")]
