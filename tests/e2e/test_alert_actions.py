"""Alerts people act on, in a browser: dismiss and snooze an alert and watch the count in the
navigation follow; screenshots of the alerts page at phone and desktop width."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.tests.factories import lead_with_journey
from insights.alerts import alerts_check_rank_flips
from insights.tasks import insights_check_alerts
from insights.tests.test_alert_actions import flipping_run
from tests.e2e.conftest import SCREENSHOTS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alerts(rep, other_rep, settings):
    settings.CLM_CONTACT_SLA_HOURS = 24
    for owner, name in ((rep, "Ada"), (other_rep, "Bob")):
        lead_with_journey(
            owner=owner, created_at=timezone.now() - timedelta(hours=30), first_name=name
        )
    insights_check_alerts()
    alerts_check_rank_flips(run=flipping_run())


def nav_count(page) -> int:
    badge = page.locator("#nav-alert-count")
    return int(badge.inner_text()) if badge.count() else 0


def test_dismissing_and_snoozing_an_alert_changes_the_count_in_the_nav(
    page, login, marketer, alerts
):
    login(marketer.username)
    page.goto("/insights/alerts/")
    assert nav_count(page) == 3
    flips = page.locator("li.alert.k-rank_flip")
    assert flips.locator(".alertitems li").count() == 5  # one alert, five channels inside
    flips.get_by_role("button", name="Dismiss").click()
    page.wait_for_load_state("networkidle")
    assert nav_count(page) == 2
    assert page.locator("li.alert.k-rank_flip").count() == 0

    sla = page.locator("li.alert.k-contact_sla").first
    sla.locator("input[name=until]").fill((timezone.localdate() + timedelta(days=2)).isoformat())
    sla.get_by_role("button", name="Snooze").click()
    page.wait_for_load_state("networkidle")
    assert nav_count(page) == 1
    page.get_by_role("link", name="Snoozed").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("li.alert.k-contact_sla").count() == 1
    page.get_by_role("button", name="Reopen").click()
    page.wait_for_load_state("networkidle")
    assert nav_count(page) == 2
    assert page.console_errors == []


@pytest.mark.parametrize("width,height", [(390, 844), (1440, 900)])
def test_the_alerts_page_fits_phone_and_desktop(
    page, login, marketer, manager, alerts, width, height
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": height})
    for user in (marketer, manager):
        login(user.username)
        page.goto("/insights/alerts/")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        role = "marketer" if user == marketer else "manager"
        page.screenshot(path=str(SCREENSHOTS / f"alerts-{role}-{width}.png"), full_page=True)
        page.context.clear_cookies()
    assert page.console_errors == []
