"""Every main page works under the Content-Security-Policy: no violation, charts drawn.

The browser reports each blocked script, style, eval or connection twice: as a
`securitypolicyviolation` event in the page (collected by an init script, which CDP injects
outside the page's policy) and as a console error; both are checked.
"""

from __future__ import annotations

from typing import Any

import pytest

from leads.models import CaptureForm, Lead
from tests.demo_data import seed_demo
from tests.e2e.conftest import draw_all

pytestmark = pytest.mark.django_db(transaction=True)

COLLECT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile);
});
"""


@pytest.fixture
def demo(celery_eager: Any) -> None:
    seed_demo("--leads", "200", "--seed", "5")


@pytest.fixture
def watched(page: Any) -> Any:
    page.context.add_init_script(COLLECT)
    return page


def violations(page: Any) -> list[str]:
    events = page.evaluate("window.__csp || []")
    console = [m for m in page.console_errors if "Content Security Policy" in m]
    return events + console


def visit(page: Any, url: str, ready: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "object-src 'none'" in policy, (url, policy)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (url, policy)
    if ready.startswith("[data-figure]"):
        # Charts are drawn as they near the viewport; the marketing dashboard opens on its key
        # figures and the budget advice table, its first chart below them.
        page.locator("[data-figure]").first.scroll_into_view_if_needed()
    page.wait_for_selector(ready, timeout=20000)
    page.wait_for_load_state("networkidle")
    assert violations(page) == [], url


def test_staff_pages_run_under_the_policy_without_a_violation(
    watched: Any, login: Any, demo: None, screenshot: Any
) -> None:
    page = watched
    login("admin", "clm-demo")
    assert violations(page) == []

    visit(page, "/dashboards/marketing/?range=365d", "[data-figure] .main-svg")
    draw_all(page)  # charts below the fold are drawn when scrolled into view
    assert page.locator("[data-figure] .main-svg").count() >= 6
    # plotly's own stylesheet applied through the nonce'd <style>: the modebar is hidden
    # until hover, which only its CSS rules do.
    rules = page.evaluate("document.getElementById('plotly.js-style-global').sheet.cssRules.length")
    assert rules > 10
    page.hover("[data-figure] .main-svg >> nth=0")
    screenshot("csp-marketing-dashboard")

    visit(page, "/dashboards/sales/?range=365d", "[data-figure] .main-svg")
    draw_all(page)
    assert page.locator("[data-figure] .main-svg").count() >= 4

    visit(page, "/crm/", "table")
    assert page.locator("svg.swatch").count() >= 1  # channel colours without style=""

    lead = Lead.objects.filter(touchpoints__isnull=False).order_by("pk").first()
    visit(page, f"/crm/leads/{lead.pk}/", "svg.dot")
    colour = page.evaluate("getComputedStyle(document.querySelector('svg.dot rect')).fill")
    assert colour not in ("", "none")

    visit(page, "/campaigns/", "table")
    visit(page, "/nurture/segments/new/", "[data-condition-builder] .cb-tabs")
    page.locator("#segment-sample li").first.wait_for()  # the live count's sample of leads
    page.click("[data-condition-builder] button:has-text('Add condition')")
    page.locator("[data-condition-builder] li.cb-condition input[type=checkbox]").first.check()
    page.wait_for_load_state("networkidle")
    visit(page, "/campaigns/rules/bench/", "[data-condition-builder] .cb-tabs")
    visit(page, "/admin/", "#content-main")
    form = CaptureForm.objects.filter(slug="demo-request").get()
    visit(page, f"/admin/leads/captureform/{form.pk}/change/", "textarea.clm-embed")
    page.click("textarea.clm-embed")
    selected = page.evaluate(
        "(() => { const t = document.querySelector('textarea.clm-embed');"
        " return t.selectionEnd - t.selectionStart; })()"
    )
    assert selected > 100  # the admin's static script selects the whole snippet
    visit(page, "/admin/leads/lead/", "#result_list")

    visit(page, "/api/docs/", ".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() > 5
    screenshot("csp-api-docs")
    assert violations(page) == []


def test_the_hosted_landing_page_captures_under_the_policy(watched: Any, demo: None) -> None:
    page = watched
    visit(page, "/l/demo-request/", "form.capture")
    page.wait_for_timeout(2100)  # the form's minimum fill time (bot check)
    page.fill("input[name=email]", "csp.check@example.com")
    page.fill("input[name=first_name]", "Ada")
    page.click("form.capture button[type=submit]")
    page.wait_for_selector("text=Thank you", timeout=15000)
    assert Lead.objects.filter(email="csp.check@example.com").exists()
    assert violations(page) == []
