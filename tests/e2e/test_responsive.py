"""Every page each demo role can reach fits a 390 px phone and a 1440 px desktop.

At each width a page must not scroll sideways (wide tables scroll inside their own box), log no
console error, load every request, show every chart's whole legend (no entry behind a scroll
bar) and have no serious or critical WCAG 2.1 A/AA violation by
axe-core (bundled in the axe-playwright-python wheel: nothing downloads at run time). A
screenshot of each page at both widths goes to var/screenshots/responsive/ to be looked at.
One browser; one context per role and width: every role (admin, marketer, manager, rep) at
both widths, each on every page it can open; an anonymous visitor on the public pages.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from attribution.charts import MODEL_LABELS
from campaigns.models import Campaign, Channel
from crm.models import Account, Deal
from leads.models import Lead
from nurture.models import Segment, Sequence
from tests.demo_data import seed_demo

from .conftest import SCREENSHOTS, draw_all

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.long]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}

ADMIN, MARKETER, MANAGER, REP = "admin", "marketer", "manager", "rep1"
STAFF = (ADMIN, MARKETER, MANAGER)
EDITORS = (ADMIN, MARKETER)
EVERYONE = (ADMIN, MARKETER, MANAGER, REP)

AXE = Axe()
WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}


# Rules not applied on one page, each with its reason. Only third-party markup belongs here.
AXE_EXEMPT = {
    "api-docs": {
        # Swagger UI (drf-spectacular's sidecar) renders each operation's summary as a button
        # that holds the copy and expand buttons; its structure is upstream's, not ours.
        "nested-interactive",
    },
}


def accessibility_problems(page: Any, name: str) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 AA violations on the page, with where."""
    options = dict(WCAG_AA)
    if name in AXE_EXEMPT:
        options["rules"] = {rule: {"enabled": False} for rule in AXE_EXEMPT[name]}
    found = AXE.run(page, options=options).response["violations"]
    return [
        f"axe {v['id']} ({v['impact']}): "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:3])
        + (f" (+{len(v['nodes']) - 3} more)" if len(v["nodes"]) > 3 else "")
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


# The elements wider than the viewport, outermost first, to say what overflows.
WIDE = """
(limit) => {
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.right > limit + 1 && r.width > 0 && !el.closest(".table-scroll, table.data")) {
      const parent = el.parentElement && el.parentElement.getBoundingClientRect();
      if (!parent || parent.right <= limit + 1) {
        out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
                 (el.className && el.className.baseVal === undefined ? "." + el.className : "") +
                 " " + Math.round(r.right));
      }
    }
  }
  return out.slice(0, 5);
}
"""


# Charts whose legend hides entries behind a scroll bar (plotly's when the legend outgrows
# the room the figure gives it): each chart's id and how many of its entries are out of view.
HIDDEN_LEGEND_ENTRIES = """
() => [...document.querySelectorAll("[data-figure]")].map(el => {
  const legend = el.querySelector(".legend");
  if (!legend) return null;
  const box = legend.querySelector(".bg").getBoundingClientRect();
  const hidden = [...legend.querySelectorAll(".traces")].filter(entry => {
    const r = entry.getBoundingClientRect();
    return r.bottom > box.bottom + 1 || r.top < box.top - 1;
  }).length;
  return hidden ? `${el.getAttribute("data-figure")}: ${hidden} legend entries out of view` : null;
}).filter(Boolean)
"""


@pytest.fixture
def demo(celery_eager: Any) -> None:
    seed_demo("--leads", "200", "--seed", "7")


def pages_by_role() -> dict[str, list[tuple[str, str]]]:
    """(name, url) of every page a role can open, on the demo data."""
    channel = Channel.objects.filter(campaigns__isnull=False).order_by("pk").first()
    campaign = Campaign.objects.order_by("pk").first()
    segment = Segment.objects.order_by("pk").first()
    sequence = Sequence.objects.order_by("pk").first()
    any_lead = Lead.objects.filter(touchpoints__isnull=False).order_by("pk").first()
    own_lead = Lead.objects.filter(owner__username=REP).order_by("pk").first()
    own_account = Account.objects.filter(contacts__lead=own_lead).first()
    assert channel and campaign and segment and any_lead and own_lead and own_account
    pages: list[tuple[str, str, tuple[str, ...]]] = [
        ("marketing", f"/dashboards/marketing/?range=365d&channel={channel.pk}", STAFF),
        ("drilldown", f"/dashboards/marketing/deals/?range=365d&channel={channel.pk}", STAFF),
        ("sales", "/dashboards/sales/?range=90d", STAFF),
        ("sales-by-campaign", f"/crm/dashboard/?range=365d&channel={channel.pk}", STAFF),
        ("queue", "/crm/", EVERYONE),
        ("lead", f"/crm/leads/{any_lead.pk}/", STAFF),
        ("own-lead", f"/crm/leads/{own_lead.pk}/", (REP,)),
        (
            "own-lead-follow-up",
            f"/crm/leads/{own_lead.pk}/?follow_up=call_back#follow-ups",
            (REP,),
        ),
        ("my-day", "/crm/my-day/", (ADMIN, MANAGER, REP)),
        ("queue-sorted", "/crm/?order=-captured&q=a", EVERYONE),
        ("accounts", "/crm/accounts/", EVERYONE),
        ("account", f"/crm/accounts/{own_account.pk}/", EVERYONE),
        ("campaigns", "/campaigns/", EDITORS),
        ("campaign-links", f"/campaigns/{campaign.pk}/", EDITORS),
        ("campaign-form", "/campaigns/new/", EDITORS),
        ("campaign-edit", f"/campaigns/{campaign.pk}/edit/", EDITORS),
        ("spend-import", "/campaigns/spend/import/", EDITORS),
        ("conversions", "/setup/conversions/", EDITORS),
        (
            "rule-bench",
            "/campaigns/rules/bench/?landing_url=https://x.io/%3Futm_source%3Dgoogle%26utm_medium%3Dcpc",
            (ADMIN,),
        ),
        ("segments", "/nurture/segments/", EVERYONE),
        ("segment", f"/nurture/segments/{segment.pk}/", EVERYONE),
        ("segment-form", "/nurture/segments/new/", EDITORS),
        ("segment-edit", f"/nurture/segments/{segment.pk}/edit/", EDITORS),
        ("nurture", "/nurture/sequences/", EDITORS),
        ("sequence-form", "/nurture/sequences/new/", EDITORS),
        ("mix-model", "/mix/?total=10000", STAFF),
        ("scoring", "/insights/scoring/", (ADMIN,)),
        ("alerts", "/insights/alerts/", EVERYONE),
        ("tokens", "/accounts/tokens/", EVERYONE),
        ("password", "/accounts/password/", EVERYONE),
        ("personal-data", "/setup/privacy/", (ADMIN,)),
        ("suspected-spam", "/setup/spam/", (ADMIN,)),
        ("setup", "/setup/", (ADMIN,)),
        ("api-docs", "/api/docs/", (ADMIN,)),
    ]
    if sequence is not None:
        pages.append(("sequence", f"/nurture/sequences/{sequence.pk}/", EDITORS))
    # Every credit explained: a won deal's split per model, and each model's page.
    won = Deal.objects.filter(stage__is_won=True, lead__owner__username=REP).order_by("pk").first()
    if won is not None:
        pages.append(("won-lead", f"/crm/leads/{won.lead_id}/", EVERYONE))
        pages.append(("deal-credits", f"/dashboards/deals/{won.pk}/credits/", EVERYONE))
    pages.append(("model-markov", "/dashboards/models/markov/", EVERYONE))
    pages.append(("model-position-based", "/dashboards/models/position_based/", EVERYONE))
    # The other models' pages share their template: once, for the admin.
    for model in MODEL_LABELS:
        if model not in ("markov", "position_based"):
            pages.append((f"model-{model}", f"/dashboards/models/{model}/", (ADMIN,)))
    return {
        role: [(name, url) for name, url, allowed in pages if role in allowed] for role in EVERYONE
    }


class Visitor:
    """A browser context of one role at one width that notes what goes wrong on each page."""

    def __init__(self, browser: Any, base_url: str, label: str, options: dict[str, Any]) -> None:
        self.context = browser.new_context(base_url=base_url, **options)
        self.page = self.context.new_page()
        self.width = options["viewport"]["width"]
        self.label = label
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("requestfailed", self._failed)
        self.page.on(
            "response",
            lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        # Requests in flight: a page is checked once every request it made has an answer
        # (what "networkidle" waits for, without its fixed half second of quiet per page).
        self.pending: set[Any] = set()
        self.page.on("request", lambda r: self.pending.add(r))
        self.page.on("requestfinished", lambda r: self.pending.discard(r))
        self.page.on("requestfailed", lambda r: self.pending.discard(r))

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the page has loaded and no request it made is still unanswered."""
        self.page.wait_for_load_state("load")
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            self.page.wait_for_timeout(25)
        assert not self.pending, f"still loading: {[r.url for r in self.pending]}"

    def _failed(self, request: Any) -> None:
        # A live page's poll that the next navigation cancels is not a fault of either page.
        if request.resource_type in ("fetch", "xhr") and request.failure == "net::ERR_ABORTED":
            return
        self.errors.append(f"failed {request.url} ({request.failure})")

    def login(self, username: str) -> None:
        self.page.goto("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", "clm-demo")
        self.page.click("main button[type=submit]")
        self.page.wait_for_load_state("networkidle")
        # The page after login may be a dashboard: its plotly request starts after first paint,
        # and the next page's navigation would cancel it mid-way. Let it arrive first.
        if self.page.locator("[data-figure]").count():
            self.page.wait_for_function("() => window.Plotly !== undefined", timeout=30000)

    def check(self, name: str, url: str) -> list[str]:
        """Open `url`; return what is wrong with it at this width."""
        self.errors.clear()
        self.pending.clear()
        response = self.page.goto(url)
        problems = []
        if response is None or response.status != 200:
            problems.append(f"status {response and response.status}")
        if self.page.locator("[data-figure]").count():
            draw_all(self.page)  # each chart is drawn when scrolled into view
            problems += self.page.evaluate(HIDDEN_LEGEND_ENTRIES)
        self.settle()
        scroll_width = self.page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > self.width:
            wide = self.page.evaluate(WIDE, self.width)
            problems.append(f"page is {scroll_width} px wide: {wide}")
        problems += self.errors
        problems += accessibility_problems(self.page, name)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / "responsive" / f"{name}-{self.label}-{self.width}.png"
        path.parent.mkdir(exist_ok=True)
        # CSS pixels: a phone page at its device scale of 2 would be four times the pixels.
        self.page.screenshot(path=str(path), full_page=True, scale="css")
        return [f"{name} as {self.label} at {self.width} px: {p}" for p in problems]


@pytest.mark.parametrize("role", [*EVERYONE, "visitor"])
def test_every_page_of_every_role_fits_a_phone_and_a_desktop_without_an_error(
    browser: Any, live_server: Any, demo: None, role: str
) -> None:
    """One role per test, so that parallel test processes share the walk."""
    problems: list[str] = []
    if role != "visitor":
        for options in (PHONE, DESKTOP):
            visitor = Visitor(browser, live_server.url, role, options)
            try:
                visitor.login(role)
                for name, url in pages_by_role()[role]:
                    problems += visitor.check(name, url)
            finally:
                visitor.context.close()
        assert problems == [], "\n".join(problems)
        return
    from django.contrib.auth import get_user_model

    from attribution.services import share_link_create

    _link, token = share_link_create(
        label="Board", query="range=365d", days=7,
        created_by=get_user_model().objects.get(username=ADMIN),
    )  # fmt: skip
    for options in (PHONE, DESKTOP):
        visitor = Visitor(browser, live_server.url, "visitor", options)
        try:
            problems += visitor.check("shared-dashboard", f"/dashboards/shared/{token}/")
            # Wait for track.js's page view to be answered: a beacon still in flight when the
            # context closes would reach the server while the test database is being flushed.
            with visitor.page.expect_response(lambda r: "/api/v1/track/" in r.url):
                problems += visitor.check("landing", "/l/demo-request/")
        finally:
            visitor.context.close()
    assert problems == [], "\n".join(problems)
