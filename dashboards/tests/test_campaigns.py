"""Campaigns as performance: spend to date against budget, leads, qualified leads, won revenue
and ROI under the chosen model, per campaign and per week, in a fixed number of queries."""

from __future__ import annotations

import itertools
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from attribution import services
from attribution.models import AttributionSummary
from attribution.tests.factories import lead_with_journey, won_deal
from campaigns.models import Campaign, Channel, Spend
from campaigns.tests.factories import CampaignFactory
from dashboards.campaign_performance import Pacing, pacing

pytestmark = pytest.mark.django_db


@pytest.fixture
def spring(django_capture_on_commit_callbacks, celery_eager):
    """A search campaign half-way through, a third of its budget spent, two won deals."""
    today = timezone.localdate()
    campaign = CampaignFactory(
        name="Spring search", utm_campaign="spring",
        channel=Channel.objects.get(name="Paid Search"),
        budget=Decimal("900.00"), start_date=today - timedelta(days=20),
        end_date=today + timedelta(days=20),
    )  # fmt: skip
    for days, amount in ((15, "100.00"), (8, "100.00"), (1, "100.00")):
        Spend.objects.create(campaign=campaign, date=today - timedelta(days=days), amount=amount)
    Spend.objects.create(campaign=campaign, date=today + timedelta(days=3), amount="50.00")
    start = timezone.now() - timedelta(days=18)
    for email, channels, amount in (
        ("a@x.io", ["Paid Search", "Email"], "1000.00"),
        ("b@x.io", ["Organic Search", "Paid Search"], "500.00"),
    ):
        lead = lead_with_journey(email, channels, start=start)
        lead.touchpoints.filter(channel__name="Paid Search").update(campaign=campaign)
        won_deal(lead, amount, days_after=3)
    with django_capture_on_commit_callbacks(execute=True):
        services.run_create(partitions=1)
    return campaign


def _credited(campaign: Campaign, model: str, milestone: str) -> dict:
    return AttributionSummary.objects.filter(
        model=model, milestone=milestone, campaign=campaign, monthly=False
    ).aggregate(c=Sum("conversions"), v=Sum("value_cents"))


@pytest.mark.parametrize("model", ["first_touch", "last_touch", "linear"])
def test_the_list_shows_spend_pacing_and_results_under_the_chosen_model(
    client, marketer, spring, model
):
    client.force_login(marketer)
    response = client.get("/campaigns/", {"model": model})
    (row,) = [r for r in response.context["rows"] if r.campaign == spring]
    deals = _credited(spring, model, "deal")
    leads = _credited(spring, model, "lead")
    assert row.results.spend == Decimal("300.00")  # the future row is not spent yet
    assert row.results.revenue_cents == deals["v"]
    assert row.results.leads == pytest.approx(leads["c"] or 0)
    assert row.results.roi == pytest.approx((deals["v"] / 100 - 300) / 300)
    assert row.pacing.status == "behind"  # a third spent, half the time gone
    page = response.content.decode()
    assert "<meter" in page and "Behind pace" in page


def test_models_differ_and_the_picker_keeps_the_choice(client, marketer, spring):
    client.force_login(marketer)
    first = client.get("/campaigns/", {"model": "first_touch"}).context["rows"][0]
    last = client.get("/campaigns/", {"model": "last_touch"}).context["rows"][0]
    # a@x.io came by search first and b@x.io by search last.
    assert (first.results.revenue, last.results.revenue) == (Decimal(1000), Decimal(500))
    page = client.get("/campaigns/", {"model": "position_based"}).content.decode()
    assert '<option value="position_based" selected>Position-based</option>' in page


def test_a_bad_model_shows_linear_not_an_error(client, marketer, spring):
    client.force_login(marketer)
    for value in ("nope", "x" * 5000, "<script>"):
        response = client.get(f"/campaigns/{spring.pk}/", {"model": value})
        assert response.status_code == 200 and response.context["model"] == "linear"


def test_the_list_reads_in_the_same_number_of_queries_for_more_campaigns(
    client, marketer, spring, django_assert_num_queries
):
    client.force_login(marketer)
    client.get("/campaigns/")  # rollups and caches settle
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/campaigns/")
    queries = len(few.captured_queries)
    for _ in range(5):
        campaign = CampaignFactory(budget=Decimal("10"))
        Spend.objects.create(campaign=campaign, date=timezone.localdate(), amount="1.00")
    client.get("/campaigns/")
    with django_assert_num_queries(queries):
        client.get("/campaigns/")


def test_the_campaign_page_shows_the_same_per_week(client, marketer, spring):
    client.force_login(marketer)
    response = client.get(f"/campaigns/{spring.pk}/", {"model": "linear"})
    weeks, total = response.context["weeks"], response.context["total"]
    assert sum(w.results.spend for w in weeks) == Decimal("350.00")
    assert response.context["spend_to_date"] == Decimal("300.00")
    assert total.revenue_cents == _credited(spring, "linear", "deal")["v"]
    assert [w.start.weekday() for w in weeks] == [0] * len(weeks)
    assert all(b.start - a.start == timedelta(weeks=1) for a, b in itertools.pairwise(weeks))
    page = response.content.decode()
    figure = json.loads(re.search(r'id="fig-campaign-weeks"[^>]*>(.*?)</script>', page, re.S)[1])
    assert figure["layout"]["xaxis"]["title"]["text"] == "Week starting"
    assert figure["layout"]["yaxis"]["title"]["text"] == "Amount (USD)"
    assert figure["layout"]["yaxis2"]["title"]["text"] == "Leads"
    assert page.index('id="performance"') < page.index('id="link-builder"')
    assert 'id="campaign-weeks"' in page


def test_reps_cannot_open_campaigns(client, rep, spring):
    client.force_login(rep)
    assert client.get("/campaigns/").status_code == 403
    assert client.get(f"/campaigns/{spring.pk}/").status_code == 403


@pytest.mark.parametrize(
    ("spend", "elapsed", "status"),
    [
        ("100", 0.5, "behind"), ("500", 0.5, "on_pace"), ("800", 0.5, "ahead"),
        ("1001", 0.9, "over"), ("0", 0.0, "not_started"), ("100", None, "open"),
    ],
)  # fmt: skip
def test_pacing_compares_spend_with_the_time_gone(spend, elapsed, status):
    assert Pacing(budget=Decimal(1000), spend=Decimal(spend), elapsed=elapsed).status == status


def test_a_campaign_without_budget_has_no_pacing():
    assert pacing(Campaign(budget=None), Decimal(5), timezone.localdate()) is None
