"""A rep works a lead in the browser: queue -> lead page -> call -> rating -> deal -> won."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.tests.factories import CampaignFactory
from crm.models import Activity, Deal, LeadFeedback
from crm.tests.factories import lead_with_journey
from leads.models import Lead, Touchpoint
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)


def journey_lead(rep):
    now = timezone.now()
    spring = CampaignFactory(name="Spring Sale", utm_campaign="spring_sale")
    lead = lead_with_journey(
        owner=rep, first_name="Ada", last_name="Lovelace", email="ada@analytical.io",
        company="Analytical Engines", phone="+44 20 7946 0000",
        created_at=now - timedelta(days=2),
        touches=[
            {"channel_name": "Paid Search", "campaign": spring,
             "occurred_at": now - timedelta(days=3), "title": "Pricing",
             "utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring_sale",
             "url": "https://www.example.com/pricing?utm_source=google&utm_medium=cpc"
                    "&utm_campaign=spring_sale&gclid=Cj0KCQ",
             "click_ids": {"gclid": "Cj0KCQ"}},
            {"channel_name": "Organic Search", "occurred_at": now - timedelta(days=2, hours=2),
             "url": "https://www.example.com/blog/multi-touch-attribution",
             "referrer": "https://www.google.com/", "title": "Blog: multi-touch attribution"},
            {"channel_name": "Direct", "kind": Touchpoint.Kind.FORM_SUBMIT,
             "occurred_at": now - timedelta(days=2), "url": "https://www.example.com/demo",
             "title": "Book a demo"},
        ],
    )  # fmt: skip
    Lead.objects.filter(pk=lead.pk).update(creation_touch=lead.latest_touch)
    return lead


def test_rep_works_a_lead_from_the_queue_to_a_won_deal(page, login, screenshot, rep):
    rep.first_name, rep.last_name = "Riley", "Rep"
    rep.save()
    lead = journey_lead(rep)
    LeadFactory(owner=rep, first_name="Grace", last_name="Hopper", company="Cobol Systems")

    login(rep.username)
    page.goto("/crm/")
    assert page.locator("#queue tbody tr").count() == 2
    page.click("#queue a:has-text('Ada Lovelace')")
    page.wait_for_url(f"**/crm/leads/{lead.pk}/")

    journey = page.locator("#journey li.touch")
    assert journey.count() == 3
    assert "Paid Search" in journey.nth(0).inner_text()
    assert "Spring Sale" in journey.nth(0).inner_text()
    assert "source=google" in journey.nth(0).inner_text()
    assert "Organic Search" in journey.nth(1).inner_text()
    assert "Converted here" in journey.nth(2).inner_text()

    # One click on the outcome logs the call.
    page.click("label.kind:has(input[value=call])")
    page.fill("textarea[name=notes]", "Discovery call: 40 seats, budget approved for Q3.")
    page.fill("input[name=duration_minutes]", "12")
    page.click(".outcomes[data-kind=call] button:has-text('Connected')")
    page.wait_for_load_state("networkidle")
    assert "Call logged: Connected." in page.locator(".messages").inner_text()
    assert "Discovery call" in page.locator("#activities").inner_text()
    assert Activity.objects.get().outcome == "connected"

    page.select_option("#quality select[name=reason]", label="Clear need and timeline")
    page.click("#quality button:has-text('Good fit')")
    page.wait_for_load_state("networkidle")
    assert "Rated good fit." in page.locator(".messages").inner_text()
    assert LeadFeedback.objects.get(is_current=True).rating == "good"

    page.fill("#deal-form input[name=name]", "Annual plan, 40 seats")
    page.fill("#deal-form input[name=amount]", "24000")
    page.click("#deal-form button:has-text('Create deal')")
    page.wait_for_load_state("networkidle")
    assert "Annual plan, 40 seats" in page.locator("#deals").inner_text()
    assert page.locator("#lead-stage").inner_text() == "Opportunity"

    page.click("#deals button:has-text('Mark won')")
    page.wait_for_load_state("networkidle")
    assert Deal.objects.get().stage.is_won
    assert page.locator("#lead-stage").inner_text() == "Customer"

    steps = page.locator("#history li[data-stage]")
    assert [steps.nth(i).get_attribute("data-stage") for i in range(steps.count())] == [
        "contacted",
        "opportunity",
        "customer",
    ]
    assert "Riley Rep" in page.locator("#history").inner_text()

    page.evaluate("window.scrollTo(0, 0)")
    screenshot("crm-lead-page")
    assert page.console_errors == []


def test_manager_assigns_leads_in_bulk_from_the_queue(page, login, screenshot, manager, rep):
    for n in range(3):
        LeadFactory(owner=None, first_name=f"Prospect{n}", company="Initech")
    login(manager.username)
    page.goto("/crm/?owner=none")
    page.check("#select-all")
    page.select_option("#bulk-assign select[name=owner]", value=str(rep.pk))
    page.click("#bulk-assign button:has-text('Assign')")
    page.wait_for_load_state("networkidle")
    assert "3 leads assigned" in page.locator(".messages").inner_text()
    assert Lead.objects.filter(owner=rep).count() == 3
    page.goto("/crm/")
    screenshot("crm-queue")
    assert page.console_errors == []
