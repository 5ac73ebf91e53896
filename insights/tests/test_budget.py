"""Budget advice and ROI intervals on the demo data: computed after the attribution run,
stored, and read by the marketing dashboard; admins frame the advice with bounds."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Channel
from insights.models import BudgetAdvice, ChannelInterval

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(rep, django_capture_on_commit_callbacks, celery_eager):
    from demo import generator as demo

    with django_capture_on_commit_callbacks(execute=True):
        demo.generate(leads=350, seed=3, log=lambda _: None)


def test_the_run_leaves_advice_and_intervals_that_the_dashboard_shows(client, marketer, demo):
    advice = BudgetAdvice.objects.get(model="linear")
    channels = {c["name"]: c for c in advice.channels}
    assert "Paid Search" in channels and "Paid Social" in channels
    # The split keeps the total and moves money towards the higher marginal return.
    assert sum(c["recommended"] for c in channels.values()) == pytest.approx(
        float(advice.total), abs=1
    )
    raised = [c for c in channels.values() if c["change"] > 0]
    cut = [c for c in channels.values() if c["change"] < 0]
    assert raised and cut
    assert min(c["marginal_roi"] for c in raised) > max(c["marginal_roi"] for c in cut)
    for c in channels.values():
        assert c["lower"] - 0.01 <= c["recommended"] <= c["upper"] + 0.01
    assert advice.change_low <= advice.expected_change <= advice.change_high
    assert ChannelInterval.objects.filter(model="linear", small_sample=True).exists()

    client.force_login(marketer)
    response = client.get(reverse("attribution:marketing-dashboard"))
    page = response.content.decode()
    assert "Budget advice for the next 28 days" in page
    # no mix model fit on revenue yet: the power-law advice is shown, labelled as the fallback
    assert 'id="advice-source"' in page and "Fallback: no marketing mix model" in page
    table = page[page.index('id="advice-table"') :].split("</table>")[0]
    for name in channels:
        assert f'data-channel="{name}"' in table
    assert 'id="small-sample-warning"' in page and "Too few won deals to trust" in page
    figure = json.loads(page.split('id="fig-roi-intervals" type="application/json">')[1]
                        .split("</script>")[0])  # fmt: skip
    bars = figure["data"][0]
    assert bars["error_x"]["array"] and bars["error_x"]["arrayminus"]
    assert all(v >= 0 for v in bars["error_x"]["array"] + bars["error_x"]["arrayminus"])


def test_admin_bounds_shape_the_advice_at_once(
    client, admin, demo, django_capture_on_commit_callbacks
):
    before = {c["name"]: c for c in BudgetAdvice.objects.get(model="linear").channels}
    social = Channel.objects.get(name="Paid Social")
    held = Decimal(str(before["Paid Social"]["current"]))
    client.force_login(admin)
    form = {
        "period_days": "28", "total_budget": "", "max_change": "0.50",
        "bounds-TOTAL_FORMS": "1", "bounds-INITIAL_FORMS": "0", "bounds-MIN_NUM_FORMS": "0",
        "bounds-MAX_NUM_FORMS": "1000", "bounds-0-channel": str(social.pk),
        "bounds-0-min_spend": str(held), "bounds-0-max_spend": str(held),
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:insights_budgetplan_add"), form)
    assert response.status_code == 302
    after = {c["name"]: c for c in BudgetAdvice.objects.get(model="linear").channels}
    assert after["Paid Social"]["recommended"] == pytest.approx(float(held), abs=0.01)
    assert before["Paid Social"]["recommended"] != pytest.approx(float(held), abs=1)


def test_a_bound_whose_maximum_is_below_its_minimum_is_refused(client, admin, seeded_rows):
    social = Channel.objects.get(name="Paid Social")
    client.force_login(admin)
    form = {
        "period_days": "28", "total_budget": "", "max_change": "0.50",
        "bounds-TOTAL_FORMS": "1", "bounds-INITIAL_FORMS": "0", "bounds-MIN_NUM_FORMS": "0",
        "bounds-MAX_NUM_FORMS": "1000", "bounds-0-channel": str(social.pk),
        "bounds-0-min_spend": "500", "bounds-0-max_spend": "100",
    }  # fmt: skip
    response = client.post(reverse("admin:insights_budgetplan_add"), form)
    assert response.status_code == 200
    assert "The maximum may not be below the minimum." in response.content.decode()
