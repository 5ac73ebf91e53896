"""Generated text (alerts, score factors, journey labels) is rendered at view time in the
reader's language, and the main pages in Bahasa Indonesia show no English from the catalogue."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from campaigns.models import Channel
from campaigns.tests.factories import CampaignFactory
from crm import services as crm_services
from crm.tests.factories import lead_with_journey
from insights.alerts import alerts_check_rank_flips
from insights.models import Alert
from insights.tasks import insights_check_alerts
from insights.tests.test_alert_actions import flipping_run
from insights.tests.test_scoring import history, open_lead

pytestmark = pytest.mark.django_db
ID = {"HTTP_ACCEPT_LANGUAGE": "id"}
PO = Path(settings.BASE_DIR) / "locale" / "id" / "LC_MESSAGES" / "django.po"


def visible_text(page: str) -> str:
    """What a reader sees: no scripts, styles, tags or attribute values."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


def english_in(text: str, data: set[str]) -> list[str]:
    """Catalogue messages (two words or more, translated differently) found in `text`;
    `data` are names from the test data (channels, campaigns) that may match a message."""
    found = []
    for entry in polib.pofile(str(PO)):
        msgid = entry.msgid
        if entry.obsolete or entry.msgid_plural or msgid == entry.msgstr or msgid in data:
            continue
        if " " not in msgid or "%(" in msgid or "<" in msgid or "{" in msgid:
            continue
        if re.search(r"(?<![\w-])" + re.escape(msgid) + r"(?![\w-])", text):
            found.append(msgid)
    return found


def english_alert_and_factor_texts() -> list[str]:
    """The English sentences of the stored alerts and the engine's factor labels."""
    with translation.override("en"):
        texts = [a.heading for a in Alert.objects.all()]
        texts += [line for a in Alert.objects.all() for line in a.items]
    from insights.engine.scoring import CATEGORICAL, COUNTS, FLAGS

    texts += [*CATEGORICAL.values(), *COUNTS.values()]
    texts += [label for pair in FLAGS.values() for label in pair]
    return texts


@pytest.fixture
def story(rep, settings):
    """Alerts of every kind, a scored lead with factors and a logged event touch."""
    settings.CLM_CONTACT_SLA_HOURS = 24
    history(rep, leads=120)
    lead = open_lead(rep, "Email", first_name="Sari", last_name="Dewi", company="")
    call_command("score_leads")
    waiting = lead_with_journey(
        owner=rep, created_at=timezone.now() - timedelta(hours=30), first_name="Budi"
    )
    insights_check_alerts()
    alerts_check_rank_flips(run=flipping_run())
    campaign = CampaignFactory(name="Expo2026", channel=Channel.objects.get(name="Event"))
    crm_services.activity_log(
        lead=lead, kind="event", by=rep, campaign=campaign, channel=campaign.channel
    )
    return {"lead": lead, "waiting": waiting}


def test_alerts_factors_and_journey_labels_are_in_the_readers_language(
    client, marketer, manager, rep, story
):
    lead = story["lead"]
    english = english_alert_and_factor_texts()
    assert "Budi" in " ".join(english) and lead.lead_score.factors

    client.force_login(manager)
    alerts = client.get(reverse("insights:alerts"), **ID).content.decode()
    assert "5 saluran berbeda peringkatnya antar model atribusi" in alerts
    assert "berada di peringkat #1 pada First touch" not in alerts  # model names translated too
    assert "sudah menunggu 30 jam untuk kontak pertama" in alerts
    client.force_login(rep)
    page = client.get(reverse("crm:lead", args=[lead.pk]), **ID).content.decode()
    assert "Saluran sentuhan pertama: Email" in page
    assert "Acara: Expo2026" in page  # the logged event's touch, titled at view time
    assert "Tampilan halaman" in page or "Pengiriman formulir" in page or "Sentuhan luring" in page

    for viewer, url in (
        (manager, reverse("insights:alerts")),
        (manager, reverse("attribution:marketing-dashboard")),
        (manager, reverse("crm:sales-dashboard")),
        (rep, reverse("crm:lead", args=[lead.pk])),
        (rep, reverse("crm:queue")),
        *later_pages(marketer, manager, rep),
    ):
        client.force_login(viewer)
        text = visible_text(client.get(url, **ID).content.decode())
        untranslated = [t for t in english if t and t in text]
        assert untranslated == [], (url, untranslated)


def later_pages(marketer, manager, rep) -> list[tuple[object, str]]:
    """The pages added lately: My day, a campaign's page, a won deal's credits, the models'."""
    from attribution.models import AttributionRun
    from campaigns.models import Campaign
    from crm.models import Deal

    won = Deal.objects.filter(stage__is_won=True, lead__owner=rep).order_by("pk").first()
    assert won is not None and AttributionRun.objects.filter(status="done").exists()
    campaign = Campaign.objects.get(name="Expo2026")
    return [
        (rep, reverse("crm:my-day")),
        (manager, reverse("crm:my-day")),
        (marketer, reverse("campaigns:detail", args=[campaign.pk])),
        (rep, reverse("attribution:deal-credits", args=[won.pk])),
        (manager, reverse("attribution:model", args=["markov"])),
        (rep, reverse("attribution:model", args=["position_based"])),
    ]


# An English month (one Indonesian writes otherwise) or an ISO day in what a reader sees.
ENGLISH_DATE = re.compile(
    r"\b\d{1,2} (May|Aug|Oct|Dec)\b|\b(May|Aug|Oct|Dec)\.? \d|\d{4}-\d{2}-\d{2}"
)


def test_main_pages_in_indonesian_show_no_english_from_the_catalogue(
    client, admin, marketer, manager, rep, story, settings
):
    settings.CLM_CURRENCY = "IDR"
    lead = story["lead"]
    data = set(Channel.objects.values_list("name", flat=True)) | {"Expo2026"}
    pages = [
        *later_pages(marketer, manager, rep),
        (marketer, reverse("attribution:marketing-dashboard")),
        (marketer, reverse("campaigns:list")),
        (marketer, reverse("nurture:segments")),
        (marketer, reverse("nurture:sequences")),
        (marketer, reverse("insights:alerts")),
        (manager, reverse("crm:sales-dashboard")),
        (manager, reverse("crm:queue")),
        (manager, reverse("insights:alerts")),
        (rep, reverse("crm:queue")),
        (rep, reverse("crm:lead", args=[lead.pk])),
        (rep, reverse("insights:alerts")),
        (admin, reverse("insights:scoring")),
    ]
    problems = {}
    for viewer, url in pages:
        client.force_login(viewer)
        response = client.get(url, **ID)
        assert response.status_code == 200, url
        text = visible_text(response.content.decode())
        found = english_in(text, data)
        # Dates in the Indonesian format, amounts in rupiah.
        found += [f"date {m.group(0)}" for m in ENGLISH_DATE.finditer(text)]
        found += [f"money {m.group(0)}" for m in re.finditer(r"(US)?\$ ?[\d.,]+", text)]
        if found:
            problems[f"{viewer.username} {url}"] = found
    assert problems == {}
