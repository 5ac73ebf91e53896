"""A marketer reads the ad-platform conversions of an action, filters the failed ones and sees
why, at desktop and phone widths; an admin reaches the page from Setup, a marketer from the
campaigns page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from integrations.models import Conversion, ConversionAction
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)

NO_SIDEWAYS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def test_a_marketer_filters_failed_conversions_and_reads_the_reason(
    page: Any, login: Any, admin: Any, marketer: Any, screenshot: Any
) -> None:
    action = ConversionAction.objects.create(
        outcome="deal_won", platform="google", conversion_name="Closed won (CRM)", currency="USD"
    )
    now = timezone.now()
    for n, (status, reason) in enumerate(
        [("sent", ""), ("pending", ""), ("failed", "HTTP 400"), ("skipped", "no consent")]
    ):
        lead = LeadFactory(first_name=f"Person{n}", last_name="Example", consent_given=True)
        Conversion.objects.create(
            action=action, subject=f"lead:{lead.pk}", lead=lead, status=status, reason=reason,
            occurred_at=now - timedelta(hours=n), value=Decimal("1250.00"), currency="USD",
            click_id_name="gclid", click_id=f"Cj0KCQ{n}",
        )  # fmt: skip

    login(admin.username)
    page.goto("/setup/")
    page.click("text=Ad-platform conversions")
    page.wait_for_selector("table#conversion-actions")
    assert "Closed won (CRM)" in page.text_content("table#conversion-actions")

    page.context.clear_cookies()
    login(marketer.username)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/campaigns/")  # marketers reach it from their campaigns page
    assert page.evaluate(NO_SIDEWAYS)
    page.click("#conversions-link")
    page.wait_for_selector("table#conversion-actions")
    page.goto(f"/setup/conversions/{action.pk}/")
    page.set_viewport_size({"width": 1440, "height": 900})
    assert page.locator("table#conversions tbody tr").count() == 4
    screenshot("conversions-1440")
    page.click("nav.statustabs >> text=Failed (1)")
    page.wait_for_selector("table#conversions")
    rows = page.locator("table#conversions tbody tr")
    assert rows.count() == 1 and "HTTP 400" in rows.first.text_content()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/setup/conversions/{action.pk}/")
    assert page.evaluate(NO_SIDEWAYS)
    screenshot("conversions-390")
    href = page.get_attribute("#conversion-export", "href")
    assert href == f"/setup/conversions/{action.pk}/export/"
    assert page.console_errors == []
