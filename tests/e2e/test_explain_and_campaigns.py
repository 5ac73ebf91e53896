"""In a browser: open a campaign and see spend against budget and results over time; open a won
lead and read each model's per-touch split. Screenshots at 390 and 1440 px, marketer and rep."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from attribution import engine
from campaigns.models import Campaign
from crm.models import Deal
from tests.demo_data import seed_demo

from .conftest import SCREENSHOTS

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"390": {"viewport": {"width": 390, "height": 844}, "is_mobile": True,
                  "has_touch": True, "device_scale_factor": 2},
          "1440": {"viewport": {"width": 1440, "height": 900}}}  # fmt: skip


@pytest.fixture
def demo(celery_eager: Any) -> None:
    seed_demo("--leads", "200", "--seed", "7")


def _open(browser: Any, live_server: Any, user: str, width: str) -> Any:
    context = browser.new_context(base_url=live_server.url, **WIDTHS[width])
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.goto("/accounts/login/")
    page.fill("#id_username", user)
    page.fill("#id_password", "clm-demo")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _fits(page: Any, width: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= int(width)


def test_open_a_campaign_and_see_spend_against_budget_and_results_over_time(
    browser: Any, live_server: Any, demo: None
) -> None:
    campaign = (
        Campaign.objects.filter(budget__isnull=False, spend__isnull=False).order_by("pk").first()
    )
    assert campaign is not None
    for width in WIDTHS:
        page = _open(browser, live_server, "marketer", width)
        page.goto("/campaigns/?model=position_based")
        row = page.locator(f'#campaigns tr[data-campaign="{campaign.pk}"]')
        assert row.locator("meter").count() == 1
        assert row.locator("td.spend").inner_text().strip() not in ("", "0")
        page.locator(f'#campaigns tr[data-campaign="{campaign.pk}"] a').first.click()
        page.wait_for_selector("#performance [data-figure] .main-svg", timeout=20000)
        assert page.locator("#model-picker select").input_value() == "position_based"
        assert page.locator("#perf-spend").inner_text().strip() not in ("", "$0.00")
        assert page.locator("#perf-budget").inner_text().strip().startswith("$")
        assert page.locator("#perf-pacing meter").count() == 1
        assert page.locator("#campaign-weeks tbody tr").count() >= 2
        titles = page.locator(
            "#performance .g-xtitle text, #performance .g-ytitle text, #performance .g-y2title text"
        ).all_text_contents()
        assert "Week starting" in titles and "Leads" in titles
        page.select_option("#model-picker select", "last_touch")
        page.click("#model-picker button")
        page.wait_for_selector("#performance [data-figure] .main-svg", timeout=20000)
        assert "model=last_touch" in page.url
        _fits(page, width)
        _shot(page, f"campaign-performance-{width}")
        page.goto("/campaigns/")
        _fits(page, width)
        _shot(page, f"campaign-list-{width}")
        assert page.errors == []
        page.context.close()


def test_open_a_won_lead_and_read_each_models_split(
    browser: Any, live_server: Any, demo: None
) -> None:
    deal = (
        Deal.objects.filter(stage__is_won=True, lead__owner__username="rep1", credits__isnull=False)
        .order_by("-closed_at")
        .first()
    )
    assert deal is not None
    for user in ("rep1", "marketer"):
        for width in WIDTHS:
            page = _open(browser, live_server, user, width)
            page.goto(f"/crm/leads/{deal.lead_id}/")
            table = page.locator(f"#deal-split-{deal.pk}")
            table.scroll_into_view_if_needed()
            headers = [h.strip() for h in table.locator("thead th[data-model]").all_text_contents()]
            assert len(headers) == len(engine.MODELS)
            assert "Position-based" in headers and "position_based" not in headers
            for model in engine.MODELS:
                total = table.locator(f'tfoot th[data-model="{model}"]').inner_text()
                assert Decimal(total.replace(",", "").strip()) == deal.amount, (model, total)
            assert table.locator("tbody tr").count() >= 1
            _fits(page, width)
            _shot(page, f"lead-credits-{user}-{width}")
            # The model's page explains the rule with a real deal.
            page.click(f"#deal-split-{deal.pk} thead th[data-model=markov] a")
            assert "in proportion to the global removal effects" in page.inner_text("#rule")
            assert page.locator("#example table").count() >= 1
            _fits(page, width)
            _shot(page, f"model-markov-{user}-{width}")
            assert page.errors == []
            page.context.close()
