"""The marketing mix model in a real browser, on the demo (seed_demo fits it once)."""

import re

import pytest

from tests.demo_data import seed_demo
from tests.e2e.conftest import SCREENSHOTS, draw_all
from tests.e2e.test_responsive import accessibility_problems

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(celery_eager):
    seed_demo("--leads", "400", "--seed", "3")


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("\u2212", "-"))


def test_a_marketer_reads_the_intervals_and_gets_a_budget_proposal(page, login, demo):
    page.set_viewport_size({"width": 1440, "height": 900})
    login("marketer", "clm-demo")
    page.goto("/dashboards/marketing/")
    page.locator("#mix-pointer a").click()
    page.wait_for_url(re.compile(r"/mix/"))
    rows = page.locator("#mix-roi-table tbody tr")
    assert rows.count() >= 5
    for i in range(rows.count()):
        value = _number(rows.nth(i).locator("td").nth(3).inner_text())
        low, high = (
            _number(v) for v in rows.nth(i).locator("td.interval").inner_text().split(" \u2013 ")
        )
        assert low <= value <= high
    assert "Priors centred weakly on the Markov model's ROI" in page.locator("#roi").inner_text()
    draw_all(page)
    assert page.locator("[data-figure=fig-mix-roi] g.errorbar").count() >= 1

    budget = _number(page.locator("#id_total").input_value())
    page.fill("#id_total", str(round(budget * 1.2, 2)))
    page.click("#optimise-button")
    page.wait_for_selector("#proposal")
    proposed = page.locator("#proposal-table tbody td:nth-child(3)").all_inner_texts()
    assert sum(_number(v) for v in proposed) == pytest.approx(budget * 1.2, abs=len(proposed))
    assert re.search("\\([\\d,]+ \u2013 [\\d,]+\\)", page.locator("#outcome-proposed").inner_text())
    draw_all(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "mix-model-1440.png"), full_page=True)
    assert accessibility_problems(page, "mix-model") == []

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_selector("#proposal")
    draw_all(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SCREENSHOTS / "mix-model-390.png"), full_page=True)
    assert accessibility_problems(page, "mix-model") == []
    assert page.console_errors == []
