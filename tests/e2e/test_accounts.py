"""An account in the browser: the list, the combined journey of its people and the buying group."""

from datetime import timedelta

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
