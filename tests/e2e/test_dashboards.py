"""Marketing dashboard in a real browser, on demo data."""

import re

import pytest

from tests.demo_data import seed_demo
from tests.e2e.conftest import draw_all

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(celery_eager):
    seed_demo("--leads", "300", "--seed", "3")


def charts_rendered(page) -> int:
    page.wait_for_selector("[data-figure] .main-svg", timeout=15000)
    draw_all(page)  # charts below the fold are drawn when scrolled into view
    return page.locator("[data-figure] .main-svg").count()


def test_marketer_sees_charts_changes_a_filter_and_drills_down_to_a_lead(
    page, login, screenshot, demo
):
    login("marketer", "clm-demo")
    page.goto("/dashboards/marketing/?range=365d")
    assert charts_rendered(page) >= 6
    assert page.locator("#kpis .kpi").count() == 8
    assert page.locator("#channel-table tbody tr").count() >= 5
    screenshot("marketing-dashboard")
    before = page.locator("#run-id").inner_text()

    page.select_option("#f-model", "first_touch")
    page.wait_for_url(re.compile(r"model=first_touch"))
    assert "range=365d" in page.url
    assert charts_rendered(page) >= 6
    assert page.locator("#f-model").input_value() == "first_touch"
    assert page.locator("#run-id").inner_text() == before

    page.locator("#channel-table a.drill", has_text="Paid Search").click()
    page.wait_for_url(re.compile(r"/dashboards/marketing/deals/.*channel="))
    assert page.locator("#drill-campaigns tbody tr").count() >= 1
    page.locator("#drill-campaigns a").first.click()
    page.wait_for_url(re.compile(r"campaign="))
    page.locator("#drill-deals a.lead-link").first.click()
    page.wait_for_url(re.compile(r"/crm/leads/\d+/"))
    assert page.locator("text=Journey").first.is_visible()
    screenshot("drilldown-lead")
    assert page.console_errors == []


def test_a_new_run_appears_without_a_reload(page, login, demo, celery_eager):
    from attribution import services

    login("manager", "clm-demo")
    page.goto("/dashboards/marketing/?range=365d")
    charts_rendered(page)
    old = page.locator("#run-id").inner_text()
    page.evaluate("window.__marker = 'same page'")
    run = services.run_create(models=["linear"])
    shown = "id => (document.getElementById('run-id') || {}).textContent === id"
    page.wait_for_function(shown, arg=str(run.pk), timeout=6000)
    assert page.evaluate("window.__marker") == "same page"  # no reload happened
    assert page.locator("#run-id").inner_text() != old
    assert charts_rendered(page) >= 6
    assert page.console_errors == []


HOSTILE = '<img src=x onerror="window.__xss=1;alert(1)">'


def test_hostile_names_never_run_as_script_on_any_dashboard(page, login, demo, celery_eager):
    from attribution import services
    from campaigns.models import Campaign
    from crm.models import Deal
    from leads.models import Lead

    Campaign.objects.filter(utm_campaign="search_brand").update(name=HOSTILE)
    won = Deal.objects.filter(stage__is_won=True).first()
    Lead.objects.filter(pk=won.lead_id).update(first_name=HOSTILE, company=HOSTILE)
    Deal.objects.filter(pk=won.pk).update(name=HOSTILE)
    services.run_create(models=["linear"])
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login("admin", "clm-demo")
    urls = [
        "/dashboards/marketing/?range=365d",
        "/dashboards/marketing/deals/?range=365d",
        f"/dashboards/marketing/deals/?range=365d&campaign={Campaign.objects.get(name=HOSTILE).pk}",
        f"/crm/leads/{won.lead_id}/",
        "/crm/",
        "/campaigns/",
        "/crm/dashboard/",
    ]
    shown_as_text = 0
    for url in urls:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__xss === undefined"), url
        assert page.locator("img[src=x]").count() == 0, url
        shown_as_text += page.get_by_text(HOSTILE, exact=False).count()
    assert shown_as_text >= 3  # campaign table, drill-down, lead page
    assert dialogs == []
