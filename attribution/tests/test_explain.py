"""Every credit explained: the per-touch splits shown equal the stored ledger to the cent and
add up to the deal's value under every model; only people who may see the lead see them."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from attribution import engine, explain, services
from attribution.models import CreditLedger
from attribution.tests.factories import lead_with_journey, won_deal
from campaigns.models import Channel
from campaigns.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

CELL = re.compile(r'<td class="num credit" data-model="(\w+)">(.*?)</td>', re.S)
TOTAL = re.compile(r'<th class="num total" data-model="(\w+)">([^<]*)', re.S)


@pytest.fixture
def journey(django_capture_on_commit_callbacks, celery_eager, rep):
    """Two won deals: an odd amount over four touches (cents must be rounded) and a second."""
    campaign = CampaignFactory(
        name="Spring search", utm_campaign="spring", channel=Channel.objects.get(name="Paid Search")
    )
    start = timezone.now() - timedelta(days=30)
    lead = lead_with_journey(
        "ann@x.io", ["Paid Search", "Organic Search", "Email", "Paid Search"], start=start
    )
    lead.touchpoints.filter(channel__name="Paid Search").update(campaign=campaign)
    lead.owner = rep
    lead.save()
    deal = won_deal(lead, "1000.01", days_after=3)
    other = lead_with_journey("bob@x.io", ["Organic Search", "Email"], start=start)
    won_deal(other, "250.00", days_after=2)
    lost = lead_with_journey("cid@x.io", ["Email"], start=start)  # a null path for Markov
    assert lost.pk
    with django_capture_on_commit_callbacks(execute=True):
        services.run_create(partitions=1)
    return lead, deal


def _ledger(deal_id: int) -> dict[str, dict[int | None, int]]:
    found: dict[str, dict[int | None, int]] = defaultdict(dict)
    for model, touch, cents in CreditLedger.objects.filter(deal_id=deal_id).values_list(
        "model", "touchpoint_id", "value_cents"
    ):
        found[model][touch] = found[model].get(touch, 0) + cents
    return found


def _shown(text: str) -> Decimal:
    text = re.sub(r"<[^>]+>", "", text).replace(",", "").strip()
    return Decimal(text)


def test_splits_equal_the_ledger_to_the_cent_and_each_model_adds_up_to_the_deal(journey):
    lead, deal = journey
    (split,) = explain.deal_splits(deals=[deal])
    ledger = _ledger(deal.pk)
    assert split.models == list(engine.MODELS)
    assert [r.touchpoint_id for r in split.rows] == list(
        lead.touchpoints.order_by("occurred_at").values_list("pk", flat=True)
    )
    for model in engine.MODELS:
        shown = {r.touchpoint_id: r.cents[model] for r in split.rows if model in r.cents}
        assert shown == ledger[model], model
        assert split.total_cents(model) == 100001, model
    assert all(column["matches"] for column in split.columns)


def test_reading_the_splits_of_many_deals_takes_two_queries(journey, django_assert_num_queries):
    from crm.models import Deal

    deals = list(Deal.objects.all())
    with django_assert_num_queries(2):
        splits = explain.deal_splits(deals=deals)
    assert [s.total_cents("linear") for s in splits] == [int(d.amount * 100) for d in deals]


def test_the_lead_page_shows_each_models_split_as_stored(client, rep, journey):
    lead, deal = journey
    client.force_login(rep)
    page = client.get(f"/crm/leads/{lead.pk}/").content.decode()
    assert 'id="credits"' in page
    table = page[page.index(f'id="deal-split-{deal.pk}"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r'<tr data-touch="(\d*)">(.*?)</tr>', table, re.S)
    assert len(rows) == 4
    ledger = _ledger(deal.pk)
    for touch, cells in rows:
        for model, value in CELL.findall(cells):
            assert _shown(value) * 100 == ledger[model].get(int(touch), 0), (model, touch)
    totals = dict(TOTAL.findall(table))
    assert set(totals) == set(engine.MODELS)
    assert all(_shown(v) == Decimal("1000.01") for v in totals.values())
    # Human names in the header, never the code.
    assert ">Position-based</a>" in table and ">position_based<" not in table


def test_a_rep_sees_no_split_of_another_reps_lead(client, other_rep, journey):
    lead, deal = journey
    client.force_login(other_rep)
    assert client.get(f"/crm/leads/{lead.pk}/").status_code == 404
    assert client.get(f"/dashboards/deals/{deal.pk}/credits/").status_code == 404


def test_the_drilldown_links_each_deal_to_its_split(client, marketer, journey):
    _lead, deal = journey
    client.force_login(marketer)
    drill = client.get("/dashboards/marketing/deals/", {"range": "90d", "model": "position_based"})
    body = drill.content.decode()
    assert f"/dashboards/deals/{deal.pk}/credits/" in body
    assert "model Position-based" in body
    page = client.get(f"/dashboards/deals/{deal.pk}/credits/")
    assert page.status_code == 200
    totals = dict(TOTAL.findall(page.content.decode()))
    assert all(_shown(v) == Decimal("1000.01") for v in totals.values())


def test_markov_page_explains_the_split_with_a_real_deal(client, manager, journey):
    _lead, deal = journey
    client.force_login(manager)
    page = client.get("/dashboards/models/markov/").content.decode()
    assert "in proportion to the global removal effects" in page
    assert "ChannelAttribution" in page and "GA4" in page
    assert f'id="deal-split-{deal.pk}"' in page  # the 4-touch journey is the example
    effects = re.findall(r'<tr><td><svg.*?</svg>([^<]+)</td><td class="num">([\d.]+)</td>', page)
    assert {name for name, _ in effects} == {"Paid Search", "Organic Search", "Email"}


@pytest.mark.parametrize("model", engine.MODELS)
def test_every_model_has_a_page_with_its_rule(client, marketer, journey, model):
    client.force_login(marketer)
    response = client.get(f"/dashboards/models/{model}/")
    assert response.status_code == 200
    assert "%(" not in response.content.decode()


def test_an_unknown_model_is_404(client, marketer):
    client.force_login(marketer)
    assert client.get("/dashboards/models/nope/").status_code == 404
