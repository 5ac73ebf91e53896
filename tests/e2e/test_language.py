"""The UI switched to Bahasa Indonesia in a real browser, with amounts in rupiah."""

import re

import pytest

from clm.models import UserPreference
from tests.demo_data import seed_demo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(celery_eager):
    seed_demo("--leads", "300", "--seed", "3")


def test_marketer_switches_to_indonesian_and_sees_the_dashboard_in_rupiah(
    page, login, screenshot, demo, settings
):
    settings.CLM_CURRENCY = "IDR"  # the live server runs in this process: it reads this
    page.set_extra_http_headers({"Accept-Language": "en-US,en;q=0.9"})
    login("marketer", "clm-demo")
    page.goto("/dashboards/marketing/?range=365d")
    assert page.locator("h1").inner_text() == "Marketing dashboard"

    # The switch applies on change: no second click on a "Change" button (kept for no-script).
    assert page.locator("#language-submit").is_hidden()
    page.select_option("#language-select", "id")
    page.wait_for_url(re.compile(r"/dashboards/marketing/\?range=365d"))
    page.wait_for_selector("[data-figure] .main-svg", timeout=15000)

    assert page.locator("h1").inner_text() == "Dasbor pemasaran"
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.locator(".mainnav a.active").inner_text() == "Pemasaran"
    spend = page.locator("#kpis [data-kpi=spend] strong").inner_text()
    revenue = page.locator("#kpis [data-kpi=revenue] strong").inner_text()
    assert re.fullmatch(r"Rp \d{1,3}(\.\d{3})+", spend), spend  # "Rp 1.234.567": no sen
    assert re.fullmatch(r"Rp \d{1,3}(\.\d{3})+", revenue), revenue
    assert page.locator("#kpis [data-kpi=spend] span").text_content() == "Belanja iklan"
    assert "Nilai dalam IDR" in page.locator("#channel-table + p").inner_text()
    assert UserPreference.objects.get(user__username="marketer").language == "id"
    screenshot("marketing-dashboard-id-idr")

    # The choice is the profile's: a later page in this session stays Indonesian.
    page.goto("/crm/")
    assert page.locator("h1").inner_text() == "Prospek"
    assert page.console_errors == []
