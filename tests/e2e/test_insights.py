"""Closing the loop in a real browser: lead scores where reps work, budget advice and ROI
intervals on the marketing dashboard (demo data, scored and advised by seed_demo)."""

import re

import pytest

from tests.demo_data import seed_demo
from tests.e2e.conftest import SCREENSHOTS, draw_all

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(celery_eager):
    seed_demo("--leads", "400", "--seed", "3")


def test_a_rep_calls_the_best_scored_lead_first_and_sees_why_it_scores_so(
    page, login, screenshot, demo
):
    login("rep1", "clm-demo")
    page.goto("/crm/")
    page.get_by_role("link", name="Best score first").click()
    page.wait_for_url(re.compile(r"order=score"))
    scores = [int(s) for s in page.locator("#queue td.score .scorebadge").all_inner_texts()]
    assert len(scores) >= 5 and scores == sorted(scores, reverse=True)
    page.locator("#queue a.leadname").first.click()
    page.wait_for_url(re.compile(r"/crm/leads/\d+/"))
    assert int(page.locator("#lead-score").inner_text()) == scores[0]
    factors = page.locator("#score .factors li")
    assert factors.count() >= 2
    assert page.locator("#score").get_by_text(re.compile("First-touch channel: ")).count() >= 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#lead-head").scroll_into_view_if_needed()
    clip = _clip(page, "#lead-head", "#score")
    page.screenshot(path=str(SCREENSHOTS / "lead-score.png"), clip=clip)
    screenshot("lead-score-full")
    assert page.console_errors == []


def test_a_marketer_sees_budget_advice_and_roi_intervals(page, login, screenshot, demo):
    login("marketer", "clm-demo")
    page.goto("/dashboards/marketing/")
    advice = page.locator("#budget-advice")
    advice.scroll_into_view_if_needed()
    # seed_demo fitted the mix model on revenue: the advice rests on it, not on the fallback
    text = advice.inner_text()
    assert "From the marketing mix model fitted" in text and "Fallback" not in text
    rows = page.locator("#advice-table tbody tr")
    assert rows.count() >= 5
    actions = [rows.nth(i).get_attribute("data-action") for i in range(rows.count())]
    assert set(actions) <= {"more", "less", "hold"}
    # a move is suggested from every "spend less" channel only when one may take the money
    moves = page.locator("#advice-moves li").count()
    assert moves == (actions.count("less") if "more" in actions else 0)
    if not moves:
        assert page.locator("#advice-moves-none").is_visible()
    page.locator("#roi-intervals").scroll_into_view_if_needed()  # drawn when seen
    page.wait_for_selector("[data-figure=fig-roi-intervals] .main-svg", timeout=15000)
    # Error bars are drawn on the interval chart.
    assert page.locator("[data-figure=fig-roi-intervals] g.errorbar").count() >= 3
    draw_all(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#insights").screenshot(path=str(SCREENSHOTS / "budget-advice.png"))
    screenshot("marketing-dashboard-insights")
    assert page.console_errors == []


def _clip(page, first: str, last: str) -> dict:
    """The page area from the top of `first` to the bottom of `last`, full width."""
    top = page.locator(first).bounding_box()
    bottom = page.locator(last).bounding_box()
    y = top["y"] + page.evaluate("window.scrollY")
    height = bottom["y"] + bottom["height"] - top["y"]
    return {"x": 0, "y": y, "width": page.viewport_size["width"], "height": height}
