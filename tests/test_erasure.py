"""Erasing a person leaves nothing of them in any table, through the Setup page, the admin
action and the command, outside a test transaction (as on PostgreSQL in production)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory
from crm.models import Deal
from leads.models import CaptureForm, Erasure, Lead, Submission, Touchpoint
from outbox.models import DeadLetter, OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "Quorra.Xylophant@zzqx-mail.example"
FIRST, LAST, PHONE, COMPANY = "Quorra", "Xylophant", "+1 202 555 0147", "Zqxcorp Holdings"
SITE = "https://www.shop-example.test"
# Every value of Quorra, as the search finds it (lower case); none occurs in any other data.
VALUES = [
    "quorra.xylophant@zzqx-mail.example", "quorra.xylophant%40zzqx-mail.example", "quorra",
    "xylophant", "555 0147", "zqxcorp", "ultramarine-93",  # custom field value
    "kwterm-vexillum", "adcontent-orrery", "src-tessellate", "cmp-quorra-only",  # UTM values
    "gclidvexil778", "fbclidorrery779", "vis-qxv-4242",  # click ids, visitor id
    "marzipan",  # a path
    "obsidian roadmap",  # a page title
    "quincunx",  # an activity note
    "lanthanum",  # a rating note
    "halcyon",  # the deal name
    "zephyrine",  # the deal's close reason
]  # fmt: skip


def every_row_as_text() -> str:
    """Every row of every table, through the ORM and raw SQL, as lower-case text."""
    chunks = []
    for model in apps.get_models(include_auto_created=True):
        chunks.extend(repr(row) for row in model._base_manager.values_list())
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608  # nosec B608
            for row in cursor.fetchall():
                chunks.append(
                    " ".join(
                        bytes(v).decode("utf-8", "replace")
                        if isinstance(v, bytes | memoryview)
                        else str(v)
                        for v in row
                    )
                )
    return "\n".join(chunks).lower()


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def quorra(seeded_rows, client, admin, manager) -> Lead:
    """Quorra as the whole loop leaves her: page views, a capture with custom fields sent to a
    webhook, a rejected post, CRM work, an admin edit, outbox and dead-letter texts, a
    contact-SLA alert, a nurture email she clicked."""
    from insights.alerts import alerts_check_contact_sla
    from integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
    from nurture import services as nurture_services
    from nurture.models import EmailClick, Sequence, Step
    from outbox.services import outbox_enqueue

    campaign = CampaignFactory(
        name="Spring sale", utm_campaign="spring-sale", utm_source="google", utm_medium="cpc",
        notes=f"Idea from a call with {EMAIL.lower()} (phone {PHONE})",
    )  # fmt: skip
    form = CaptureForm.objects.create(
        name="Demo", min_fill_seconds=0, consent_text="News", consent_version="v1",
        custom_fields=[{"name": "favourite_colour", "label": "Colour", "type": "text"}],
    )  # fmt: skip
    WebhookEndpoint.objects.create(
        description="CRM sync", url="https://hooks.example.com/clm", secret="s" * 32,
        events=["lead.created", "lead.stage_changed", "deal.won", "alert.raised"],
    )  # fmt: skip
    views = [
        {"visitor_id": "vis-qxv-4242", "title": "Obsidian roadmap for Quorra Xylophant",
         "url": f"{SITE}/thanks/{EMAIL}?email=quorra.xylophant%40zzqx-mail.example"
                "&utm_source=src-tessellate&utm_medium=email&utm_campaign=cmp-quorra-only"
                "&fbclid=FBCLIDORRERY779"},
        {"visitor_id": "vis-qxv-4242", "title": "Pricing", "url": f"{SITE}/pricing",
         "referrer": "https://zqxcorp.example/team/quorra"},
    ]  # fmt: skip
    for event in views:
        tracked = client.post("/api/v1/track/", json.dumps(event), content_type="application/json")
        assert tracked.status_code == 202
    captured = client.post(
        form.url,
        {
            "email": EMAIL, "first_name": FIRST, "last_name": LAST, "phone": PHONE,
            "company": COMPANY, "favourite_colour": "ultramarine-93", "consent": "on",
            "visitor_id": "vis-qxv-4242", "utm_source": "google", "utm_medium": "cpc",
            "utm_campaign": "spring-sale", "utm_term": "kwterm-vexillum",
            "utm_content": "adcontent-orrery", "gclid": "GCLIDVEXIL778",
            "landing_url": f"{SITE}/welcome-marzipan-path/{EMAIL}?email={EMAIL}"
                           "&utm_term=kwterm-vexillum&gclid=GCLIDVEXIL778",
        },
        HTTP_ACCEPT="application/json",
    )  # fmt: skip
    assert captured.status_code == 201, captured.content
    rejected = client.post(
        form.url, {"email": EMAIL, "phone": "Quorra's phone"}, HTTP_ACCEPT="application/json"
    )
    assert rejected.status_code == 400
    lead = Lead.objects.get(email__iexact=EMAIL)
    assert Touchpoint.objects.filter(lead=lead, campaign=campaign).exists()
    colleague = client.post(
        form.url,
        {
            "email": "colleague@other.example",
            "message": f"Please invite {EMAIL} as well",
            "favourite_colour": f"the one {FIRST} {LAST} likes",
        },
        HTTP_ACCEPT="application/json",
    )
    assert colleague.status_code == 201

    client.force_login(manager)
    steps = [
        (reverse("crm:lead-activity", args=[lead.pk]),
         {"kind": "call", "outcome": "connected", "notes": "Quorra wants the quincunx add-on"}),
        (reverse("crm:lead-rate", args=[lead.pk]), {"rating": "good", "note": "lanthanum fan"}),
        (reverse("crm:lead-deal", args=[lead.pk]), {"name": "Halcyon pilot", "amount": "5000"}),
    ]  # fmt: skip
    for url, data in steps:
        assert client.post(url, data).status_code == 302, url
    deal = Deal.objects.get(lead=lead)
    closed = client.post(
        reverse("crm:deal-close", args=[deal.pk]),
        {"outcome": "won", "reason": "signed after the zephyrine pilot"},
    )
    assert closed.status_code == 302

    client.force_login(admin)  # an admin renames the deal: the admin log keeps its name
    renamed = client.post(
        reverse("admin:crm_deal_change", args=[deal.pk]),
        {
            "name": "Halcyon renewal 2027", "amount": "5000", "stage": deal.stage_id,
            "close_reason": deal.close_reason, "owner": deal.owner_id or "",
            "expected_close_date": "",
        },
    )  # fmt: skip
    assert renamed.status_code == 302, renamed.content
    assert LogEntry.objects.filter(object_repr__contains="Halcyon renewal").exists()

    # Work recorded for later, whose texts name her: a failed send and a dead letter.
    submission = Submission.objects.get(lead=lead)
    message = outbox_enqueue(
        task="leads.tasks.submission_follow_up", kwargs={"submission_id": submission.pk}
    )
    error = f"BadHeaderError: Header values can't contain newlines (got 'New lead: {FIRST}')"
    OutboxMessage.objects.filter(pk=message.pk).update(last_error=error)
    DeadLetter.objects.create(
        source="task", task="leads.tasks.submission_follow_up",
        kwargs={"submission_id": submission.pk}, error=error, traceback=f"...\n{error}\n",
    )  # fmt: skip
    delivery = WebhookDelivery.objects.filter(body__icontains=EMAIL).first()
    assert delivery is not None
    WebhookAttempt.objects.create(
        delivery=delivery, number=1, status_code=400,
        response_excerpt=f'{{"error": "{EMAIL} exists"}}',
    )  # fmt: skip

    # Nobody called her: the contact-SLA alert names her.
    Lead.objects.filter(pk=lead.pk).update(
        stage="new", last_contacted_at=None, created_at=timezone.now() - timedelta(days=2)
    )
    assert alerts_check_contact_sla() >= 1

    # A nurture email she clicked.
    segment = nurture_services.segment_save(
        name="New leads",
        definition={"op": "and", "rules": [{"field": "stage", "op": "in", "value": ["new"]}]},
        by=admin,
    )
    sequence = Sequence.objects.create(
        name="Welcome", slug="welcome", segment=segment, status=Sequence.Status.ACTIVE
    )
    Step.objects.create(
        sequence=sequence, position=1, subject="Hi {{ first_name }}",
        body="Hello {{ first_name }}, see https://www.shop-example.test/guide",
    )  # fmt: skip
    nurture_services.nurture_dispatch()
    assert [m.subject for m in mail.outbox if EMAIL.lower() in m.to[0].lower()] == ["Hi Quorra"]
    sent = next(m for m in mail.outbox if m.subject == "Hi Quorra")
    link = next(w for w in sent.body.split() if "/n/c/" in w)
    assert client.get(path_of(link)).status_code == 302
    assert EmailClick.objects.filter(send__lead=lead).exists()
    client.logout()

    text = every_row_as_text()
    missing = [v for v in VALUES if v not in text]
    assert missing == []  # the set-up really stored every value
    return lead


def erase_on_the_page(client: Any, admin: Any, lead: Lead) -> None:
    client.force_login(admin)
    response = client.post(
        reverse("privacy"), {"email": EMAIL.upper(), "action": "erase", "confirm": "on"}
    )
    assert response.status_code == 302


def erase_with_the_admin_action(client: Any, admin: Any, lead: Lead) -> None:
    client.force_login(admin)
    response = client.post(
        reverse("admin:leads_lead_changelist"),
        {"action": "erase_people", "_selected_action": [lead.pk], "confirm": "yes"},
    )
    assert response.status_code == 302


def erase_with_the_command(client: Any, admin: Any, lead: Lead) -> None:
    stdout = StringIO()
    call_command("erase_person", "--email", EMAIL, "--yes", stdout=stdout)
    assert "Erased (erasure #" in stdout.getvalue()


@pytest.mark.parametrize(
    "erase", [erase_on_the_page, erase_with_the_admin_action, erase_with_the_command]
)
def test_after_an_erasure_no_table_holds_any_value_of_the_person(erase, client, admin, quorra):
    touches_before = list(
        Touchpoint.objects.filter(lead=quorra).values_list(
            "kind", "channel_id", "campaign_id", "occurred_at"
        )
    )

    erase(client, admin, quorra)

    text = every_row_as_text()
    assert [v for v in VALUES if v in text] == []
    quorra.refresh_from_db()
    assert quorra.erased_at is not None and quorra.email.endswith("@erased.invalid")
    assert Erasure.objects.get().lead_id == quorra.pk
    # What attribution reads stays: touches' kind, channel, campaign and time; the deal's amount.
    touches_after = list(
        Touchpoint.objects.filter(lead=quorra).values_list(
            "kind", "channel_id", "campaign_id", "occurred_at"
        )
    )
    assert touches_after == touches_before
    assert Deal.objects.get(lead=quorra).amount == Decimal("5000.00")
    assert Touchpoint.objects.filter(lead=quorra, campaign__utm_campaign="spring-sale").exists()
    # Nobody else is erased: the colleague who named her keeps their lead and their message.
    colleague = Submission.objects.get(payload__email="colleague@other.example")
    assert colleague.payload["message"] == "Please invite [erased] as well"
    colleague_lead = Lead.objects.get(email="colleague@other.example", erased_at=None)
    assert colleague_lead.custom == {"favourite_colour": "the one [erased] likes"}
    assert Campaign.objects.get(utm_campaign="spring-sale").notes == (
        "Idea from a call with [erased] (phone [erased])"
    )


def test_each_app_erases_its_own_rows_in_order_crm_first():
    """crm's notes and deal names are values the texts of the apps after it lose too."""
    from clm import events
    from clm.events import PersonErasing, PersonExporting

    erasers = [handler.__module__ for handler in events.subscribers(PersonErasing)]
    assert erasers == ["crm.privacy", "nurture.privacy", "integrations.privacy", "insights.privacy"]
    exporters = [handler.__module__ for handler in events.subscribers(PersonExporting)]
    assert exporters == ["crm.privacy"]
