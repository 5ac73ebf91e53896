"""Sales dashboard in a real browser, on demo data."""

import re

import pytest

from tests.demo_data import seed_demo
from tests.e2e.conftest import draw_all

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(celery_eager):
    seed_demo("--leads", "300", "--seed", "3")


def charts_rendered(page) -> int:
    """How many figures plotly has drawn (each draws a few SVG layers)."""
    page.wait_for_selector("[data-figure] .main-svg", timeout=15000)
    draw_all(page)  # charts below the fold are drawn when scrolled into view
    return page.locator("[data-figure]").filter(has=page.locator(".main-svg")).count()


def test_manager_sees_pipeline_reps_and_sources_and_changes_the_period(
    page, login, screenshot, demo
):
    login("manager", "clm-demo")
    page.goto("/crm/dashboard/")
    assert charts_rendered(page) == 4
    assert page.locator("#kpis .kpi").count() == 6
    assert page.locator("#rep-table tbody tr").count() == 3  # rep1, rep2, rep3
    assert page.locator("#source-table tbody tr").count() >= 5
    assert page.locator("#f-model").count() == 0  # no attribution model on the sales page
    screenshot("sales-dashboard")

    page.locator("#rep-table th", has_text="Revenue won").click()  # sortable like marketing's
    assert page.locator("#rep-table th[data-dir]").count() == 1

    page.select_option("#f-range", "365d")
    page.wait_for_url(re.compile(r"range=365d"))
    assert charts_rendered(page) == 4
    assert page.locator("#f-range").input_value() == "365d"
    assert "Last 12 months" in page.locator("#f-range option:checked").inner_text()

    waiting = page.locator("#waiting-table a").first
    if waiting.count():
        waiting.click()
        page.wait_for_url(re.compile(r"/crm/leads/\d+/"))
    assert page.console_errors == []


def test_a_deal_won_elsewhere_shows_up_without_a_reload(page, login, demo, celery_eager):
    from django.contrib.auth import get_user_model

    from crm.models import Deal
    from crm.services import deal_close

    login("manager", "clm-demo")
    page.goto("/crm/dashboard/?range=365d")
    charts_rendered(page)
    tile = "#kpis [data-kpi=revenue] strong"
    before = page.locator(tile).inner_text()
    page.evaluate("window.__marker = 'same page'")
    page.wait_for_timeout(3000)  # let the page take its first look at the status

    deal = Deal.objects.filter(closed_at__isnull=True).select_related("lead", "stage").first()
    manager = get_user_model().objects.get(username="manager")
    deal_close(deal=deal, won=True, by=manager)  # refreshes attribution after commit

    changed = "([sel, old]) => document.querySelector(sel).textContent !== old"
    page.wait_for_function(changed, arg=[tile, before], timeout=8000)
    assert page.evaluate("window.__marker") == "same page"  # no reload happened
    assert charts_rendered(page) == 4
    assert page.console_errors == []
