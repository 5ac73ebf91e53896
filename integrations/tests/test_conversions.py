"""Ad-platform conversions: recorded on the domain events, uploaded to a local HTTP server with
retries, each delivered once, nothing for a lead without consent; the page and its files."""

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.conversions import conversion_action_save, conversions_upload
from integrations.models import Conversion, ConversionAction, ConversionAttempt
from leads.models import CaptureForm
from leads.tests.factories import LeadFactory, TouchpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def allow_local(settings):
    settings.CLM_WEBHOOK_ALLOW_PRIVATE = True
    settings.CLM_WEBHOOK_MAX_ATTEMPTS = 4
    settings.CLM_CURRENCY = "USD"
    return settings


def action(**fields):
    values = {"outcome": "deal_won", "platform": "google", "conversion_name": "Deal won"}
    return conversion_action_save(action=ConversionAction(**{**values, **fields}))


def win(lead, rep, amount):
    from crm.services import deal_close, deal_create

    deal = deal_create(lead=lead, name="Big", by=rep, amount=Decimal(amount))
    return deal_close(deal=deal, won=True, by=rep)


def clicked(lead, ago, **click_ids):
    return TouchpointFactory(
        lead=lead, occurred_at=timezone.now() - ago, click_ids=click_ids, channel_name="Paid Search"
    )


def upload(capture, *, at=None):
    with capture(execute=True):
        return conversions_upload(now=at)


def test_a_won_deal_is_uploaded_once_after_errors_with_the_latest_click_before_it(
    allow_local, rep, receiver, celery_eager, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setenv("CLM_TEST_GOOGLE_TOKEN", "tok-123")
    server = receiver(answers=[500, 503])
    won = action(endpoint_url=server.url, credentials_env="CLM_TEST_GOOGLE_TOKEN")
    consenting = LeadFactory(owner=rep, consent_given=True, email="yes@x.io")
    clicked(consenting, timedelta(days=9), gclid="OLDclick")
    clicked(consenting, timedelta(days=2), gclid="NEWclick")
    refusing = LeadFactory(owner=rep, consent_given=False, email="no@x.io")
    clicked(refusing, timedelta(days=2), gclid="NOCONSENTclick")
    deal = win(consenting, rep, "1500")
    win(refusing, rep, "900")
    clicked(consenting, -timedelta(days=1), gclid="AFTERclick")  # after the win: not its click

    sent = Conversion.objects.get(action=won, lead=consenting)
    assert (sent.status, sent.click_id_name, sent.click_id, sent.value) == (
        "pending", "gclid", "NEWclick", Decimal("1500.00"))  # fmt: skip
    skipped = Conversion.objects.get(action=won, lead=refusing)
    assert (skipped.status, skipped.reason, skipped.click_id) == ("skipped", "no consent", "")

    assert upload(django_capture_on_commit_callbacks) == 1  # attempt 1: 500
    assert upload(django_capture_on_commit_callbacks) == 0  # backing off: nothing due yet
    later = timezone.now()
    for hours in (1, 2, 3):  # attempt 2: 503, attempt 3: 200, then nothing is left to send
        later += timedelta(hours=hours)
        upload(django_capture_on_commit_callbacks, at=later)

    assert len(server.received) == 3
    bodies = {body for _headers, body in server.received}
    assert len(bodies) == 1  # every retry posts the same conversion
    posted = json.loads(bodies.pop())["conversions"]
    assert [(c["gclid"], c["conversionAction"], c["conversionValue"]) for c in posted] == [
        ("NEWclick", "Deal won", 1500.0)
    ]
    assert posted[0]["orderId"] == f"clm-{won.pk}-deal-{deal.pk}"
    assert all(h["Authorization"] == "Bearer tok-123" for h, _ in server.received)
    assert not any("NOCONSENT" in body for _h, body in server.received)

    sent.refresh_from_db()
    assert (sent.status, sent.attempts, sent.reason) == ("sent", 3, "")
    log = ConversionAttempt.objects.filter(conversion=sent).order_by("number")
    assert [(a.number, a.status_code, a.error) for a in log] == [
        (1, 500, "HTTP 500"), (2, 503, "HTTP 503"), (3, 200, "")]  # fmt: skip
    assert log[0].response_excerpt == "nope"

    assert upload(django_capture_on_commit_callbacks, at=later + timedelta(days=1)) == 0
    assert len(server.received) == 3


def test_uploads_stop_as_failed_after_the_bounded_attempts_with_the_reason(
    allow_local, rep, receiver, celery_eager, django_capture_on_commit_callbacks
):
    server = receiver(answers=[500] * 10)
    won = action(endpoint_url=server.url)
    lead = LeadFactory(owner=rep, consent_given=True)
    clicked(lead, timedelta(days=1), gclid="abc")
    win(lead, rep, "10")
    later = timezone.now()
    for _ in range(6):
        upload(django_capture_on_commit_callbacks, at=later)
        later += timedelta(hours=2)
    conversion = Conversion.objects.get(action=won)
    assert (conversion.status, conversion.attempts, conversion.reason) == ("failed", 4, "HTTP 500")
    assert len(server.received) == 4


def test_a_repeated_attempt_message_posts_nothing(allow_local, rep, receiver):
    from integrations.conversions import conversion_attempt

    server = receiver()
    action(endpoint_url=server.url)
    lead = LeadFactory(owner=rep, consent_given=True)
    clicked(lead, timedelta(days=1), gclid="abc")
    win(lead, rep, "10")
    conversion = Conversion.objects.get()
    assert conversion_attempt(conversion_id=conversion.pk, attempt=1).status == "sent"
    assert conversion_attempt(conversion_id=conversion.pk, attempt=1) is None
    assert len(server.received) == 1


def test_capture_records_lead_created_by_consent_and_click_id(client, allow_local):
    google = action(outcome="lead_created", conversion_name="Lead", fixed_value=Decimal("25"))
    meta = action(outcome="lead_created", platform="meta", conversion_name="Lead")
    form = CaptureForm.objects.create(name="Demo", min_fill_seconds=0)

    def capture(email, **extra):
        data = {"email": email, **extra}
        response = client.post(form.url, json.dumps(data), content_type="application/json")
        assert response.status_code == 201

    capture("a@x.io", consent="yes", landing_url="https://x.io/?gclid=G1&fbclid=F1")
    capture("b@x.io", landing_url="https://x.io/?gclid=G2")  # no consent
    capture("c@x.io", consent="yes")  # no click id

    def status(act, email):
        c = Conversion.objects.get(action=act, lead__email=email)
        return c.status, c.reason, c.click_id, c.value

    assert status(google, "a@x.io") == ("pending", "", "G1", Decimal("25.00"))
    assert status(google, "b@x.io") == ("skipped", "no consent", "", Decimal("25.00"))
    assert status(google, "c@x.io") == ("skipped", "no click id", "", Decimal("25.00"))
    # Meta also matches on the hashed email: sent with or without an fbclid.
    assert status(meta, "a@x.io")[:3] == ("pending", "", "F1")
    assert status(meta, "c@x.io")[:3] == ("pending", "", "")
    assert status(meta, "b@x.io")[:2] == ("skipped", "no consent")

    capture("a@x.io", consent="yes", landing_url="https://x.io/?gclid=G9")  # a returning lead
    assert Conversion.objects.count() == 6  # nothing new: the lead was created once


def test_qualifying_again_records_nothing_new(allow_local, rep):
    from crm.services import lead_change_stage

    qualified = action(outcome="qualified", platform="linkedin", conversion_name="77")
    lead = LeadFactory(owner=rep, consent_given=True)
    clicked(lead, timedelta(hours=1), li_fat_id="9f1c-22ab")
    lead_change_stage(lead=lead, stage="qualified", by=rep)
    first = Conversion.objects.get(action=qualified)
    lead_change_stage(lead=lead, stage="contacted", by=rep)
    lead_change_stage(lead=lead, stage="qualified", by=rep)
    assert list(Conversion.objects.values_list("pk", "occurred_at", "click_id")) == [
        (first.pk, first.occurred_at, "9f1c-22ab")
    ]


def test_a_malformed_click_id_from_a_url_is_never_used(allow_local, rep):
    won = action()
    lead = LeadFactory(owner=rep, consent_given=True)
    clicked(lead, timedelta(hours=1), gclid='=HYPERLINK("http://evil")')
    win(lead, rep, "10")
    assert Conversion.objects.get(action=won).reason == "no click id"


@pytest.fixture
def won_conversions(allow_local, rep):
    won = action(conversion_name="=Deal won")
    for n, (consent, gclid) in enumerate([(True, "G1"), (True, "G2"), (False, "G3")]):
        lead = LeadFactory(
            owner=rep, consent_given=consent, email=f"l{n}@x.io", first_name=f"Person{n}"
        )
        clicked(lead, timedelta(days=1), gclid=gclid)
        win(lead, rep, f"{100 * (n + 1)}")
    return won


def test_the_google_csv_has_the_time_zone_line_and_consenting_leads_only(
    client, marketer, won_conversions, settings
):
    client.force_login(marketer)
    response = client.get(f"/setup/conversions/{won_conversions.pk}/export/")
    assert response.status_code == 200
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0] == [f"Parameters:TimeZone={settings.TIME_ZONE}"]
    assert lines[1][:4] == ["Google Click ID", "GBRAID", "WBRAID", "Conversion Name"]
    assert sorted((r[0], r[3], r[5], r[6]) for r in lines[2:]) == [
        ("G1", "'=Deal won", "100.00", "USD"),  # formula-safe
        ("G2", "'=Deal won", "200.00", "USD"),
    ]


def test_the_page_counts_filters_and_lists_reasons(
    client, marketer, won_conversions, django_assert_max_num_queries
):
    client.force_login(marketer)
    with django_assert_max_num_queries(12):
        page = client.get(f"/setup/conversions/{won_conversions.pk}/?status=skipped")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("no consent") == 1 and "Person2" in html and "Person0" not in html
    listing = client.get("/setup/conversions/").content.decode()
    assert f"/setup/conversions/{won_conversions.pk}/" in listing


def test_reps_may_not_see_conversions(client, rep, won_conversions):
    client.force_login(rep)
    assert client.get(f"/setup/conversions/{won_conversions.pk}/").status_code == 403
    assert client.get(f"/setup/conversions/{won_conversions.pk}/export/").status_code == 403


def test_the_admin_refuses_plain_http_and_a_secret_as_credentials(client, admin, settings):
    settings.CLM_WEBHOOK_ALLOW_PRIVATE = False
    client.force_login(admin)
    response = client.post(
        "/admin/integrations/conversionaction/add/",
        {
            "outcome": "deal_won",
            "platform": "google",
            "conversion_name": "Won",
            "currency": "usd",
            "endpoint_url": "http://example.com/upload",
            "credentials_env": "ya29.a0AfH6SMB-secret",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "https://" in str(errors["endpoint_url"])
    assert "environment variable" in str(errors["credentials_env"])
    assert not ConversionAction.objects.exists()


def test_erasing_a_person_deletes_their_conversions(allow_local, rep):
    from leads.erasure import person_erase

    won = action()
    kept, erased = (
        LeadFactory(owner=rep, consent_given=True, email=e) for e in ("k@x.io", "e@x.io")
    )
    for lead in (kept, erased):
        clicked(lead, timedelta(days=1), gclid=f"G{lead.pk}")
        win(lead, rep, "10")
    result = person_erase(email="E@x.io")
    assert result.counts["ad_conversions"] == 1
    assert list(Conversion.objects.filter(action=won).values_list("lead", flat=True)) == [kept.pk]


def test_hostile_page_parameters_get_a_page_or_a_404_never_a_500(client, marketer, won_conversions):
    client.force_login(marketer)
    url = f"/setup/conversions/{won_conversions.pk}/"
    assert client.get(url, {"status": "<script>", "page": "-1"}).status_code == 200
    assert client.get(url, {"page": "99999999999999999999"}).status_code == 200
    assert client.get("/setup/conversions/987654/").status_code == 404
    assert client.get("/setup/conversions/987654/export/").status_code == 404


def test_meta_and_linkedin_actions_download_their_json_batch(client, marketer, allow_local, rep):
    meta = action(outcome="deal_won", platform="meta", conversion_name="Purchase")
    lead = LeadFactory(owner=rep, consent_given=True, email=" Ann@X.io ")
    clicked(lead, timedelta(hours=3), fbclid="IwAR2F4")
    win(lead, rep, "42")
    client.force_login(marketer)
    body = client.get(f"/setup/conversions/{meta.pk}/export/").json()
    (event,) = body["data"]
    assert event["event_name"] == "Purchase" and event["custom_data"] == {
        "value": 42.0,
        "currency": "USD",
    }
    assert event["user_data"]["fbc"].startswith("fb.1.") and event["user_data"]["fbc"].endswith(
        ".IwAR2F4"
    )
    assert "ann@x.io" not in json.dumps(body).lower()  # only hashes leave CLM
