"""An account in the browser: the list, the combined journey of its people and the buying group."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.services import account_create, account_match_lead, deal_contact_add, deal_create
from crm.tests.factories import ActivityFactory
from leads.tests.factories import LeadFactory, TouchpointFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_rep_opens_an_account_and_sees_the_combined_journey_and_buying_group(
    page, login, screenshot, rep, manager
):
    account_create(name="Umbrella", domains=["umbrella.example"], by=None, tier="1", is_target=True)
    now = timezone.now()
    people = [
        LeadFactory(email=f"{first.lower()}@{sub}umbrella.example", first_name=first,
                    last_name="Doe", owner=rep)
        for first, sub in (("Alice", ""), ("Boris", "eu."), ("Chen", "apac."))
    ]  # fmt: skip
    for lead, channel, days in zip(
        people, ("Paid Search", "Organic Social", "Email"), (60, 20, 5), strict=True
    ):
        account_match_lead(lead=lead)
        TouchpointFactory(lead=lead, channel_name=channel, occurred_at=now - timedelta(days=days))
    ActivityFactory(lead=people[2], by=rep, occurred_at=now - timedelta(days=1))
    deal = deal_create(lead=people[0], name="Umbrella rollout", by=rep)
    deal_contact_add(deal=deal, lead=people[1], role="decision_maker", by=rep)
    deal_contact_add(deal=deal, lead=people[2], role="champion", by=rep)

    login(rep.username)
    page.click(".mainnav a:has-text('Accounts')")
    page.wait_for_load_state("networkidle")
    page.click("#accounts a:has-text('Umbrella')")
    page.wait_for_load_state("networkidle")
    journey = page.locator("#journey .timeline li")
    assert journey.count() == 4
    texts = journey.all_inner_texts()
    assert "Alice Doe" in texts[0] and "Boris Doe" in texts[1] and "Chen Doe" in texts[2]
    assert "Call" in texts[3]
    group = page.locator(f"#deal-{deal.pk} .buyinggroup").inner_text()
    assert "Decision maker" in group and "Champion" in group and "Primary" in group
    # Every touch above is within 90 days; two within 30.
    assert page.locator("#engaged").inner_text().strip() == "3 / 3"
    assert page.locator("#touches-30").inner_text().strip() == "2"
    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"sideways scrolling at {width} px"
        screenshot(f"account-{width}")
    assert page.console_errors == []


def _revenue(page, channel):
    row = page.locator("#channel-table tbody tr", has_text=channel)
    return row.locator("td").nth(5).inner_text().strip()


def test_the_marketing_dashboard_switches_to_account_scope_and_the_figures_change(
    page, login, screenshot, rep, marketer, celery_eager
):
    from attribution import services
    from crm.services import deal_close

    account_create(name="Initech", domains=["initech.example"], by=None)
    now = timezone.now()
    people = [
        LeadFactory(email=f"{first.lower()}@initech.example", first_name=first, last_name="Roe",
                    owner=rep)
        for first in ("Dana", "Eli", "Fay")
    ]  # fmt: skip
    for lead, channel, days in zip(
        people, ("Paid Search", "Organic Social", "Email"), (60, 20, 5), strict=True
    ):
        account_match_lead(lead=lead)
        TouchpointFactory(lead=lead, channel_name=channel, occurred_at=now - timedelta(days=days))
    deal = deal_create(lead=people[0], name="Initech licences", by=rep, amount=Decimal("900.00"))
    deal_contact_add(deal=deal, lead=people[1], role="decision_maker", by=rep)
    deal_contact_add(deal=deal, lead=people[2], role="champion", by=rep)
    deal_close(deal=deal, won=True, by=rep)
    services.run_create(models=["linear"])

    login(marketer.username)
    page.goto("/dashboards/marketing/?model=linear")
    page.wait_for_load_state("networkidle")
    # Contact scope: Dana's own journey holds only her Paid Search touch.
    assert _revenue(page, "Paid Search") == "900"
    page.click(".scope-switch a[data-scope='account']")
    page.wait_for_load_state("networkidle")
    assert "scope=account" in page.url
    # No account-scoped run yet: said so, with a button to start one instead of empty charts.
    assert page.locator("#no-account-run").is_visible()
    assert page.locator("#channel-table").count() == 0
    page.click("#start-account-run")
    page.wait_for_load_state("networkidle")
    assert "scope=account" in page.url
    assert page.locator("#run-scope").is_visible()
    # The buying group's three touches share the deal: 300 each.
    assert _revenue(page, "Paid Search") == "300"
    assert _revenue(page, "Organic Social") == "300"
    assert _revenue(page, "Email") == "300"
    path = page.locator("#paths tbody tr").first.inner_text()
    assert "Paid Search" in path and "Organic Social" in path and "Email" in path
    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"sideways scrolling at {width} px"
        screenshot(f"marketing-account-scope-{width}")
    page.click(".scope-switch a[data-scope='contact']")
    page.wait_for_load_state("networkidle")
    assert _revenue(page, "Paid Search") == "900"
    assert page.console_errors == []


def test_a_rep_edits_a_deals_buying_group_on_the_lead_page(page, login, screenshot, rep):
    account_create(name="Hooli", domains=["hooli.example"], by=None)
    people = [
        LeadFactory(email=f"{first.lower()}@hooli.example", first_name=first, last_name="Poe",
                    owner=rep)
        for first in ("Gus", "Hal")
    ]  # fmt: skip
    for lead in people:
        account_match_lead(lead=lead)
    deal = deal_create(lead=people[0], name="Hooli pilot", by=rep)
    login(rep.username)
    page.goto(f"/crm/leads/{people[0].pk}/")
    assert "Hooli" in page.locator("#lead-account").inner_text()
    form = page.locator(f"#deal-{deal.pk} .buying-group form.dealstage")
    form.locator("select[name=lead]").select_option(label="Hal Poe")
    form.locator("select[name=role]").select_option("champion")
    form.locator("button").click()
    page.wait_for_load_state("networkidle")
    group = page.locator(f"#deal-{deal.pk} .buying-group").inner_text()
    assert "Hal Poe" in group and "Champion" in group
    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"sideways scrolling at {width} px"
        screenshot(f"lead-buying-group-{width}")
    page.locator(f"#deal-{deal.pk} .buying-group li", has_text="Hal Poe").locator("button").click()
    page.wait_for_load_state("networkidle")
    assert "Hal Poe" not in page.locator(f"#deal-{deal.pk} .buying-group ul").inner_text()
    assert page.console_errors == []
