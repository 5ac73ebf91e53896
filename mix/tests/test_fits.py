"""Fits from the stored spend and won deals, the page that shows them, and the optimiser form."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Channel, Spend
from campaigns.tests.factories import CampaignFactory
from crm.models import Deal
from crm.tests.factories import DealFactory, stage
from leads.models import Lead
from leads.tests.factories import LeadFactory
from mix import engine, selectors, services
from mix.models import Control, LiftTest, MixModelRun

pytestmark = pytest.mark.django_db
CHANNELS = ["Paid Search", "Paid Social", "Display"]
FAST = {"draws": 2500, "tune": 1500}


@pytest.fixture
def history(db):
    """60 weeks of spend on three channels and one won deal a week whose amount follows
    known response curves."""
    truth = engine.simulate(seed=5, weeks=60, channels=3)
    won = stage("won")
    spend = []
    for name, column in zip(CHANNELS, truth.spend.columns, strict=True):
        campaign = CampaignFactory(channel=Channel.objects.get(name=name))
        for week, amount in truth.spend[column].items():
            for day in range(7):
                spend.append(
                    Spend(campaign=campaign, date=week.date() + timedelta(days=day),
                          amount=Decimal(str(round(amount / 7, 2))))
                )  # fmt: skip
    Spend.objects.bulk_create(spend)
    for week, amount in truth.outcome.items():
        closed = timezone.make_aware(datetime.combine(week.date() + timedelta(days=2), time(12)))
        DealFactory(lead=LeadFactory(), stage=won, amount=Decimal(str(round(amount, 2))),
                    closed_at=closed, opportunity_created_at=closed)  # fmt: skip
    return truth, truth.spend.index[-1].date() + timedelta(days=6)


def _fit(cutoff, django_capture_on_commit_callbacks, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_start(data_cutoff=cutoff, params={**FAST, "weeks": 60}, **extra)
    run.refresh_from_db()
    return run


def test_a_fit_stores_roi_with_intervals_contributions_and_curves(
    history, celery_eager, django_capture_on_commit_callbacks
):
    truth, cutoff = history
    run = _fit(cutoff, django_capture_on_commit_callbacks, attribution_model="")
    assert run.status == MixModelRun.Status.DONE, run.error
    assert run.progress == 100
    results = run.results
    assert results["channels"] == sorted(CHANNELS)
    assert len(results["weeks"]) == 60 and results["weeks"][-1] == str(truth.spend.index[-1].date())
    for row in results["roas"]:
        assert row["roas_low"] <= row["roas"] <= row["roas_high"]
        assert row["spend"] > 0
    assert results["evidence"]["spend_weeks"]["Paid Search"] > 26
    assert len(results["contributions"]["base"]) == 60
    assert len(results["draws"]["beta"][0]) == 3
    # the model's weekly total tracks the stored outcome
    actual = sum(results["contributions"]["actual"])
    assert actual == pytest.approx(float(sum(Deal.objects.values_list("amount", flat=True))), 1e-4)


def test_one_fit_at_a_time_and_a_second_request_changes_nothing(client, marketer, history):
    _, cutoff = history
    running = services.run_start(data_cutoff=cutoff)  # queued: no worker in this test
    with pytest.raises(services.RunInProgress):
        services.run_start(data_cutoff=cutoff)
    client.force_login(marketer)
    response = client.post(reverse("mix:start"), {"outcome": "revenue"})
    assert response.status_code == 302
    assert list(MixModelRun.objects.values_list("pk", flat=True)) == [running.pk]
    status = client.get(reverse("mix:status")).json()
    assert status["running"]["id"] == running.pk and status["running"]["percent"] == 0
    page = client.get(reverse("mix:page")).content.decode()
    assert 'id="fit-button" disabled' in page and 'id="fit-progress"' in page


def test_a_bad_outcome_is_refused_with_field_messages(client, marketer):
    client.force_login(marketer)
    response = client.post(reverse("mix:start"), {"outcome": "everything"})
    assert response.status_code == 400
    assert "outcome" in response.json()["errors"]
    assert not MixModelRun.objects.exists()


def test_too_little_spend_fails_the_fit_with_its_reason(
    celery_eager, django_capture_on_commit_callbacks
):
    run = _fit(timezone.localdate(), django_capture_on_commit_callbacks)
    assert run.status == MixModelRun.Status.FAILED
    assert "Not enough data" in run.error


def test_reps_may_not_open_the_page(client, rep, manager):
    client.force_login(rep)
    assert client.get(reverse("mix:page")).status_code == 403
    assert client.post(reverse("mix:start"), {"outcome": "revenue"}).status_code == 403
    client.force_login(manager)
    assert client.get(reverse("mix:page")).status_code == 200
    assert client.post(reverse("mix:start"), {"outcome": "revenue"}).status_code == 403


def test_the_page_shows_intervals_and_the_optimiser_proposes_within_bounds(
    client, marketer, history, celery_eager, django_capture_on_commit_callbacks
):
    _, cutoff = history
    run = _fit(cutoff, django_capture_on_commit_callbacks)
    client.force_login(marketer)
    page = client.get(reverse("mix:page")).content.decode()
    for section in ("contributions", "roi", "curves", "optimiser"):
        assert f'id="{section}"' in page
    roi = json.loads(page.split('id="fig-mix-roi" type="application/json">')[1]
                     .split("</script>")[0])  # fmt: skip
    assert roi["data"][0]["error_x"]["array"]
    assert 'class="num interval"' in page
    total = round(sum(run.results["points"][c]["current"] for c in run.results["channels"]))
    before = MixModelRun.objects.values_list("pk", "results").order_by("pk")
    stored = list(before)
    response = client.get(reverse("mix:page"), {"total": total, "min_0": 100, "max_0": 2000})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="proposal"' in page and 'id="outcome-proposed"' in page
    rows = page.split('id="proposal-table"')[1].split("</table>")[0]
    assert all(f'data-channel="{c}"' in rows for c in CHANNELS)
    assert list(before) == stored  # a proposal changes nothing
    bad = client.get(reverse("mix:page"), {"total": 100, "min_0": 500, "max_1": "x"})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "add up to more than this" in text and "Enter a number." in text


def test_a_proposal_keeps_the_total_and_the_bounds(
    history, celery_eager, django_capture_on_commit_callbacks
):
    _, cutoff = history
    run = _fit(cutoff, django_capture_on_commit_callbacks)
    bounds = {"Display": (500.0, 900.0)}
    proposal = services.proposal_for(run=run, total=6000, bounds=bounds)
    assert proposal.feasible
    assert proposal.proposed.sum() == pytest.approx(6000, rel=1e-6)
    assert 500 - 1e-6 <= proposal.proposed["Display"] <= 900 + 1e-6


def test_a_lift_test_outside_its_own_interval_is_refused():
    display = Channel.objects.get(name="Display")
    test = LiftTest(channel=display, start="2025-01-06", end="2025-01-26",
                    lift=Decimal(500), low=Decimal(600), high=Decimal(900))  # fmt: skip
    with pytest.raises(ValidationError) as error:
        services.lift_test_save(test=test)
    assert "lift" in error.value.message_dict
    assert not LiftTest.objects.exists()


def test_lift_tests_and_controls_enter_the_fit_and_the_page_names_them(
    client, marketer, history, celery_eager, django_capture_on_commit_callbacks
):
    truth, cutoff = history
    weeks = truth.spend.index
    display = Channel.objects.get(name="Display")
    column = truth.spend.columns[CHANNELS.index("Display")]
    measured = round(float(truth.contributions[column].iloc[20:30].sum()), 2)
    test = services.lift_test_save(test=LiftTest(
        channel=display, start=weeks[20].date(), end=weeks[29].date() + timedelta(days=6),
        lift=Decimal(str(measured)), low=Decimal(str(round(measured * 0.9, 2))),
        high=Decimal(str(round(measured * 1.1, 2))),
    ))  # fmt: skip
    services.control_save(
        control=Control(name="Spring launch", start=weeks[10].date(), end=weeks[14].date())
    )
    run = _fit(cutoff, django_capture_on_commit_callbacks)
    assert run.status == MixModelRun.Status.DONE, run.error
    assert run.results["evidence"]["lift_tests"] == [test.pk]
    assert run.results["evidence"]["controls"] == ["Spring launch"]
    client.force_login(marketer)
    roi = client.get(reverse("mix:page")).content.decode().split('id="roi"')[1]
    assert "Lift tests taken in:" in roi and "Display" in roi
    contributions = client.get(reverse("mix:page")).content.decode().split('id="contributions"')[1]
    assert "Controls:" in contributions and "Spring launch" in contributions


def test_a_fit_on_new_leads_reads_per_1000_of_spend(
    client, marketer, history, celery_eager, django_capture_on_commit_callbacks
):
    _, cutoff = history  # one lead a week (each deal's lead), created now: move them back
    weeks = list(Deal.objects.order_by("closed_at").values_list("lead_id", "closed_at"))
    for lead_id, closed in weeks:
        Lead.objects.filter(pk=lead_id).update(created_at=closed)
    run = _fit(cutoff, django_capture_on_commit_callbacks, outcome="leads")
    assert run.status == MixModelRun.Status.DONE, run.error
    assert sum(run.results["contributions"]["actual"]) == len(weeks)
    client.force_login(marketer)
    page = client.get(reverse("mix:page"), {"outcome": "leads"}).content.decode()
    assert "Outcome per 1,000 of spend" in page and f"Fit #{run.pk}" in page
    assert client.get(reverse("mix:page")).content.decode().count('id="no-fit"') == 1


def test_a_marketer_adds_a_lift_test_and_a_control_on_the_evidence_page(client, marketer):
    client.force_login(marketer)
    display = Channel.objects.get(name="Display")
    url = reverse("mix:evidence")
    lift = {"lift-channel": display.pk, "lift-outcome": "revenue", "lift-start": "2026-03-02",
            "lift-end": "2026-03-29", "lift-lift": "12000", "lift-low": "8000",
            "lift-high": "16000", "lift-note": "Geo holdout"}  # fmt: skip
    assert client.post(url, lift).status_code == 302
    test = LiftTest.objects.get()
    assert (test.channel, test.lift, test.note) == (display, Decimal(12000), "Geo holdout")
    control = {"control-name": "Price change", "control-start": "2026-05-04",
               "control-end": "2026-06-28"}  # fmt: skip
    assert client.post(url, control).status_code == 302
    page = client.get(url).content.decode()
    assert "Geo holdout" in page and "Price change" in page


def test_a_bad_lift_test_answers_400_with_field_messages_and_stores_nothing(client, marketer):
    client.force_login(marketer)
    display = Channel.objects.get(name="Display")
    bad = {"lift-channel": display.pk, "lift-outcome": "revenue", "lift-start": "2026-03-29",
           "lift-end": "2026-03-02", "lift-lift": "20000", "lift-low": "8000",
           "lift-high": "16000"}  # fmt: skip
    response = client.post(reverse("mix:evidence"), bad)
    assert response.status_code == 400
    text = response.content.decode()
    assert "The end is before the start." in text
    assert "The lift must lie within its interval." in text
    assert not LiftTest.objects.exists()
    response = client.post(reverse("mix:evidence"), {"control-name": "", "control-start": "x"})
    assert response.status_code == 400 and not Control.objects.exists()


def test_a_manager_reads_the_evidence_but_may_not_add_to_it(client, manager):
    client.force_login(manager)
    page = client.get(reverse("mix:evidence")).content.decode()
    assert 'id="lift-table"' in page and 'id="lift-form"' not in page
    response = client.post(reverse("mix:evidence"), {"control-name": "Launch",
                           "control-start": "2026-05-04", "control-end": "2026-05-10"})  # fmt: skip
    assert response.status_code == 403 and not Control.objects.exists()


def _crafted_run(**extra) -> MixModelRun:
    """A finished revenue fit whose curves are known: Paid Search pays at the margin, Display
    loses at the margin, Paid Social straddles break-even (its draws spread widely)."""
    rng = np.random.default_rng(0)
    n = 400
    beta = np.column_stack([
        rng.uniform(9_000, 11_000, n),  # Display: 10k/wk most, k 5k, current 10k
        rng.uniform(9_000, 11_000, n),  # Paid Search: marginal ~ 2 at 1k/wk
        rng.uniform(1_000, 20_000, n),  # Paid Social
    ])  # fmt: skip
    k = np.column_stack([np.full(n, 5_000.0), np.full(n, 4_000.0), np.full(n, 4_000.0)])
    names = ["Display", "Paid Search", "Paid Social"]
    current = {"Display": 10_000.0, "Paid Search": 1_000.0, "Paid Social": 2_000.0}
    roas = [{"channel": c, "roas": 1.2, "roas_low": 0.5, "roas_high": 2.0} for c in names]
    results = {
        "channels": names,
        "draws": {"beta": beta.tolist(), "k": k.tolist()},
        "points": {c: {"current": v} for c, v in current.items()},
        "roas": roas,
        "evidence": {"weeks": 104, "first_week": "2025-01-06", "last_week": "2026-12-28",
                     "lift_tests": [], "controls": []},
        "diagnostics": {"rhat_max": 1.01},
    }  # fmt: skip
    return MixModelRun.objects.create(
        outcome="revenue", attribution_model="markov", params={}, data_cutoff=date(2027, 1, 3),
        status=MixModelRun.Status.DONE, results=results, finished_at=timezone.now(), **extra,
    )  # fmt: skip


def test_budget_advice_moves_money_only_where_the_marginal_intervals_agree():
    advice = selectors.budget_advice(_crafted_run())
    rows = {c["name"]: c for c in advice["channels"]}
    assert rows["Paid Search"]["action"] == "more" and rows["Paid Search"]["marginal_low"] > 0
    assert rows["Display"]["action"] == "less" and rows["Display"]["marginal_high"] < 0
    social = rows["Paid Social"]
    assert social["action"] == "hold" and social["marginal_low"] < 0 < social["marginal_high"]
    assert advice["moves"] == [{"source": "Display", "target": "Paid Search"}]
    # marginal ROI at today's spend: beta/k e^(-x/k) - 1, Paid Search's mean beta 10k, k 4k
    assert rows["Paid Search"]["marginal_roi"] == pytest.approx(
        10_000 / 4_000 * np.exp(-1_000 / 4_000) - 1, rel=0.02
    )
    assert rows["Paid Search"]["roi"] == pytest.approx(0.2)
    assert (rows["Display"]["roi_low"], rows["Display"]["roi_high"]) == (-0.5, 1.0)


def test_the_marketing_dashboards_budget_advice_comes_from_the_latest_revenue_fit(client, marketer):
    url = reverse("attribution:marketing-dashboard")
    client.force_login(marketer)
    before = client.get(url).content.decode()
    assert "Fallback: no marketing mix model" in before
    _crafted_run()
    page = client.get(url).content.decode()
    section = page[page.index('id="budget-advice"') :].split("</section>")[0]
    assert "Fallback" not in section
    assert "From the marketing mix model fitted" in section and "(104 weeks)" in section
    assert "Markov model" in section
    table = section[section.index('id="advice-table"') :].split("</table>")[0]
    for name, action in [("Paid Search", "more"), ("Display", "less"), ("Paid Social", "hold")]:
        assert f'data-channel="{name}" data-action="{action}"' in table
    moves = section[section.index('id="advice-moves"') :].split("</ul>")[0]
    assert "from <strong>Display</strong> to <strong>Paid Search</strong>" in moves
    assert moves.count("<li>") == 1


def test_the_stacked_contributions_never_stack_a_negative_base():
    from mix import charts

    results = {
        "weeks": ["2026-01-05", "2026-01-12", "2026-01-19"],
        "channels": ["Display"],
        "contributions": {"base": [-50.0, 20.0, 80.0], "Display": [30.0, 30.0, 30.0],
                          "actual": [10.0, 60.0, 100.0]},
    }  # fmt: skip
    traces = charts.contributions(results, "Revenue", {})["data"]
    stacked = [t for t in traces if t.get("stackgroup")]
    assert all(v >= 0 for t in stacked for v in t["y"])
    assert stacked[0]["y"] == [0.0, 20.0, 80.0]
    below = [t for t in traces if "below zero" in str(t["name"])]
    assert len(below) == 1 and below[0]["y"] == [-50.0, 0.0, 0.0]
    assert "stackgroup" not in below[0]
    # no such line when the base stays above zero
    results["contributions"]["base"] = [5.0, 20.0, 80.0]
    names = [str(t["name"]) for t in charts.contributions(results, "Revenue", {})["data"]]
    assert not any("below zero" in n for n in names)


def test_the_page_warns_when_the_chains_have_not_agreed(
    client, marketer, history, celery_eager, django_capture_on_commit_callbacks
):
    _, cutoff = history
    run = _fit(cutoff, django_capture_on_commit_callbacks)
    client.force_login(marketer)
    for rhat, warned in ((1.04, False), (1.1, False), (1.27, True)):
        run.results["diagnostics"]["rhat_max"] = rhat
        MixModelRun.objects.filter(pk=run.pk).update(results=run.results)
        page = client.get(reverse("mix:page")).content.decode()
        assert ('id="rhat-warning"' in page) is warned, rhat
        assert f"largest R-hat {rhat}" in page
