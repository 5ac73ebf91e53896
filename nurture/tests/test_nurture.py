"""Nurture email: consent gating, the restricted renderer, rate limit, opens, clicks that come
back as Email touchpoints credited in attribution, and one-click unsubscribe."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.utils import timezone

from attribution import services as attribution_services
from attribution.models import AttributionResult, CreditLedger
from crm.services import deal_close, deal_create
from crm.tests.factories import lead_with_journey
from leads.models import Lead, Touchpoint
from nurture import services
from nurture.models import EmailSend, Enrollment, Sequence, Step
from nurture.tasks import nurture_dispatch

pytestmark = pytest.mark.django_db

CONSENTING = {"op": "and", "rules": [{"field": "stage", "op": "in", "value": ["new"]}]}


@pytest.fixture
def sequence(marketer):
    segment = services.segment_save(name="New leads", definition=CONSENTING, by=marketer)
    sequence = Sequence.objects.create(
        name="Welcome", slug="welcome-series", segment=segment, status=Sequence.Status.ACTIVE
    )
    Step.objects.create(
        sequence=sequence, position=1, subject="Hi {{ first_name }}",
        body="Hello {{ first_name }} from {{ company }},\n\nRead [our guide](https://www.acme.example/guide?ref=mail).",
    )  # fmt: skip
    Step.objects.create(
        sequence=sequence, position=2, subject="Still there?", delay_days=2,
        body="See https://www.acme.example/pricing",
    )  # fmt: skip
    return sequence


def path_of(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def links_in(message):
    return re.findall(r"https?://\S+/n/c/[^/\s]+/", message.body)


def later(days=0, hours=0):
    return timezone.now() + timedelta(days=days, hours=hours, minutes=1)


def test_only_leads_with_marketing_consent_get_email(sequence, celery_eager):
    lead_with_journey(first_name="Ann", email="ann@x.io", consent_given=True)
    lead_with_journey(first_name="Bob", email="bob@x.io", consent_given=False)
    lead_with_journey(first_name="Cat", email="cat@x.io", consent_given=True, stage="customer")

    sent = nurture_dispatch.delay().get()

    assert sent == 1
    assert [m.to for m in mail.outbox] == [["ann@x.io"]]
    assert mail.outbox[0].subject == "Hi Ann"
    assert not Enrollment.objects.filter(lead__email="bob@x.io").exists()


def test_a_lead_that_withdrew_consent_after_enrolment_gets_nothing_more(sequence):
    lead = lead_with_journey(first_name="Ann", consent_given=True)
    services.nurture_dispatch()
    assert len(mail.outbox) == 1
    Lead.objects.filter(pk=lead.pk).update(consent_given=False)

    services.nurture_dispatch(now=later(days=2))

    assert len(mail.outbox) == 1
    assert Enrollment.objects.get(lead=lead).status == Enrollment.Status.STOPPED


def test_steps_wait_for_their_delay_then_the_sequence_completes(sequence):
    lead = lead_with_journey(consent_given=True)
    services.nurture_dispatch()
    services.nurture_dispatch(now=later(days=1))
    assert len(mail.outbox) == 1
    services.nurture_dispatch(now=later(days=2))
    assert [m.subject for m in mail.outbox][-1] == "Still there?"
    assert Enrollment.objects.get(lead=lead).status == Enrollment.Status.COMPLETED
    services.nurture_dispatch(now=later(days=9))
    assert len(mail.outbox) == 2


def test_one_click_unsubscribe_withdraws_consent_and_stops_the_next_step(
    sequence, client, marketer
):
    lead = lead_with_journey(first_name="Ann", consent_given=True)
    services.nurture_dispatch()
    message = mail.outbox[0]
    unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert unsubscribe in message.body

    response = client.post(path_of(unsubscribe))  # no login: the page's button

    assert response.status_code == 200
    assert "You are unsubscribed" in response.text
    lead.refresh_from_db()
    assert lead.consent_given is False
    services.nurture_dispatch(now=later(days=3))
    assert len(mail.outbox) == 1
    assert Enrollment.objects.get(lead=lead).status == Enrollment.Status.UNSUBSCRIBED
    client.force_login(marketer)
    page = client.get(f"/nurture/sequences/{sequence.pk}/")
    first_row = re.search(r'<tr data-position="1">.*?</tr>', page.text, re.S).group(0)
    assert re.search(r'class="num unsubscribed">1<', first_row)


def test_opening_the_unsubscribe_link_changes_nothing_until_the_button_is_pressed(sequence, client):
    lead = lead_with_journey(first_name="Ann", email="ann@x.io", consent_given=True)
    services.nurture_dispatch()
    unsubscribe = path_of(mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>"))

    for method in (client.get, client.head, client.get):  # e.g. a mail scanner's prefetch
        assert method(unsubscribe).status_code == 200

    lead.refresh_from_db()
    assert lead.consent_given is True and lead.consent_withdrawn_at is None
    assert EmailSend.objects.get().unsubscribed_at is None
    assert Enrollment.objects.get(lead=lead).status == Enrollment.Status.ACTIVE
    page = client.get(unsubscribe).text
    assert "ann@x.io" in page
    assert re.search(
        r'<form[^>]*method="post"[^>]*>\s*<button type="submit">Unsubscribe</button>', page
    )

    assert "You are unsubscribed" in client.post(unsubscribe).text

    lead.refresh_from_db()
    assert lead.consent_given is False
    assert EmailSend.objects.get().unsubscribed_at is not None
    assert "You are unsubscribed" in client.get(unsubscribe).text  # no button any more
    assert "<button" not in client.get(unsubscribe).text


def test_a_mail_clients_one_click_post_unsubscribes_without_a_csrf_token(sequence):
    from django.test import Client

    lead = lead_with_journey(first_name="Ann", email="ann@x.io", consent_given=True)
    services.nurture_dispatch()
    message = mail.outbox[0]
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith("<http") and header.endswith(">")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = header.strip("<>")
    assert unsubscribe in message.body  # the footer link is the same page

    response = Client(enforce_csrf_checks=True).post(
        path_of(unsubscribe),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.consent_given is False
    assert Enrollment.objects.get(lead=lead).status == Enrollment.Status.UNSUBSCRIBED


def test_the_unsubscribe_link_refuses_other_methods_and_forged_tokens(sequence, client):
    lead_with_journey(first_name="Ann", consent_given=True)
    services.nurture_dispatch()
    unsubscribe = path_of(mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>"))

    assert client.put(unsubscribe).status_code == 405
    assert client.delete(unsubscribe).status_code == 405
    forged = unsubscribe.rstrip("/")[:-3] + "xyz/"
    assert client.get(forged).status_code == 404
    assert client.post(forged).status_code == 404
    assert EmailSend.objects.get().unsubscribed_at is None


def test_merge_values_are_escaped_and_unknown_merge_fields_are_refused(sequence, client, admin):
    lead_with_journey(first_name="<b>Eve</b>", company="A&B", consent_given=True)
    services.nurture_dispatch()
    html = mail.outbox[0].alternatives[0][0]
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert "<b>Eve" not in html
    assert "A&amp;B" in html

    client.force_login(admin)
    response = client.post(
        f"/nurture/sequences/{sequence.pk}/edit/",
        {
            "name": "Welcome", "slug": "welcome-series", "segment": sequence.segment_id,
            "utm_source": "nurture", "from_email": "",
            "steps-TOTAL_FORMS": "1", "steps-INITIAL_FORMS": "0", "steps-MIN_NUM_FORMS": "1",
            "steps-MAX_NUM_FORMS": "1000", "steps-0-position": "3",
            "steps-0-subject": "Hi {{ nickname }}", "steps-0-body": "{% load x %}{{ secret_key }}",
        },
    )  # fmt: skip
    assert response.status_code == 400
    assert "unknown merge field {{ nickname }}" in response.text
    assert "unknown merge field {{ secret_key }}" in response.text
    assert not Step.objects.filter(position=3).exists()


def test_sends_are_rate_limited_per_minute(sequence, settings):
    settings.CLM_NURTURE_RATE_PER_MINUTE = 2
    for i in range(5):
        lead_with_journey(email=f"l{i}@x.io", consent_given=True)
    assert services.nurture_dispatch() == 2
    assert services.nurture_dispatch() == 0  # the same minute's budget is spent
    assert services.nurture_dispatch(now=later(hours=0)) == 2
    assert len(mail.outbox) == 4


def test_the_open_pixel_counts_an_open(sequence, client):
    lead_with_journey(consent_given=True)
    services.nurture_dispatch()
    pixel = re.search(r'<img src="([^"]+\.gif)"', mail.outbox[0].alternatives[0][0]).group(1)
    response = client.get(path_of(pixel))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    send = EmailSend.objects.get()
    assert send.opened_at is not None
    assert send.opens == 1


def test_a_tampered_click_link_is_not_followed(sequence, client):
    lead_with_journey(consent_given=True)
    services.nurture_dispatch()
    link = path_of(links_in(mail.outbox[0])[0])
    response = client.get(link.replace("/n/c/", "/n/c/x") + "?next=https://evil.example/")
    assert response.status_code == 404
    assert not Touchpoint.objects.filter(kind="email_click").exists()


def test_a_clicked_link_is_an_email_touchpoint_credited_for_the_won_deal(
    sequence, client, manager, celery_eager, django_capture_on_commit_callbacks
):
    ad_click = {"channel_name": "Paid Search", "occurred_at": timezone.now() - timedelta(days=3)}
    lead = lead_with_journey(
        first_name="Ann", email="ann@x.io", consent_given=True, owner=manager, touches=[ad_click]
    )
    services.nurture_dispatch()
    link = links_in(mail.outbox[0])[0]

    response = client.get(path_of(link))

    assert response.status_code == 302
    destination = urlsplit(response["Location"])
    assert destination.netloc == "www.acme.example"
    assert destination.path == "/guide"
    query = parse_qs(destination.query)
    assert query["utm_medium"] == ["email"]
    assert query["utm_source"] == ["nurture"]
    assert query["utm_campaign"] == ["welcome-series"]
    assert query["ref"] == ["mail"]
    click = Touchpoint.objects.get(lead=lead, kind=Touchpoint.Kind.EMAIL_CLICK)
    assert click.channel.name == "Email"
    assert EmailSend.objects.get().clicks == 1
    lead.refresh_from_db()
    assert lead.latest_touch == click

    # The lead buys; last-touch attribution gives the whole deal to the email click.
    with django_capture_on_commit_callbacks(execute=True):
        deal = deal_create(lead=lead, name="Ann's deal", by=manager, amount=Decimal("1200"))
        deal_close(deal=deal, won=True, by=manager)
    with django_capture_on_commit_callbacks(execute=True):
        run = attribution_services.run_create(models=["last_touch", "linear"])
    run.refresh_from_db()
    assert run.status == "done", run.error
    last = CreditLedger.objects.get(run=run, model="last_touch", deal=deal)
    assert last.channel.name == "Email"
    assert last.touchpoint_id == click.pk
    assert last.value_cents == 120_000
    email_revenue = AttributionResult.objects.filter(
        run=run, model="linear", milestone="deal", channel__name="Email"
    )
    assert sum(r.value_cents for r in email_revenue) == 60_000


def test_the_page_view_after_a_click_comes_back_as_email(sequence, client):
    lead = lead_with_journey(consent_given=True)
    services.nurture_dispatch()
    landing = client.get(path_of(links_in(mail.outbox[0])[0]))["Location"]
    response = client.post(
        "/api/v1/track/",
        {"visitor_id": "v-after-click", "url": landing, "referrer": "", "title": "Guide"},
        content_type="application/json",
    )
    assert response.status_code == 202
    view = Touchpoint.objects.get(visitor_id="v-after-click")
    assert view.channel.name == "Email"
    assert view.utm_campaign == "welcome-series"
    assert lead.pk  # the visitor joins the lead when it next submits a form (capture tests)


def test_a_sequence_registers_its_campaign_so_its_clicks_are_never_untracked(sequence, client):
    from campaigns.models import Campaign
    from leads.untracked import untracked_campaigns

    lead_with_journey(first_name="Ann", email="ann@x.io", consent_given=True)
    services.nurture_dispatch()
    client.get(path_of(links_in(mail.outbox[0])[0]))

    campaign = Campaign.objects.get(utm_campaign="welcome-series")
    assert (campaign.name, campaign.channel.name) == ("Welcome", "Email")
    click = Touchpoint.objects.get(kind=Touchpoint.Kind.EMAIL_CLICK)
    assert click.campaign == campaign
    assert "welcome-series" not in {u["utm_campaign"] for u in untracked_campaigns()}
    # Dispatching again changes nothing.
    services.nurture_dispatch()
    assert Campaign.objects.filter(utm_campaign="welcome-series").count() == 1
    assert services.sequence_register_campaign(sequence=sequence) is False
