"""The unsubscribe link of a nurture email opens a page; only its button unsubscribes."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core import mail

from crm.tests.factories import lead_with_journey
from leads.models import Lead
from nurture import services
from nurture.models import Sequence, Step


def test_the_unsubscribe_page_asks_first_then_unsubscribes(page, screenshot, marketer):
    segment = services.segment_save(
        name="New leads",
        definition={"op": "and", "rules": [{"field": "stage", "op": "in", "value": ["new"]}]},
        by=marketer,
    )
    sequence = Sequence.objects.create(
        name="Welcome", slug="welcome", segment=segment, status=Sequence.Status.ACTIVE
    )
    Step.objects.create(sequence=sequence, position=1, subject="Hi", body="Hello")
    lead = lead_with_journey(first_name="Ann", email="ann@x.io", consent_given=True)
    services.nurture_dispatch()
    unsubscribe = urlsplit(mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")).path

    for width, name in ((1440, "unsubscribe-1440"), (390, "unsubscribe-390")):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(unsubscribe)
        assert page.locator("h1").inner_text() == "Unsubscribe?"
        assert page.locator("button[type=submit]").is_visible()
        screenshot(name)
    lead.refresh_from_db()
    assert lead.consent_given is True  # opening the page (twice) changed nothing

    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")

    assert page.locator("h1").inner_text() == "You are unsubscribed"
    screenshot("unsubscribed-390")
    assert Lead.objects.get(pk=lead.pk).consent_given is False
    assert page.console_errors == []
