"""Budget advice and bootstrap intervals of a finished attribution run, stored for the
dashboard (which only reads them)."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from attribution.models import AttributionRun
from campaigns.models import Channel, Spend
from insights import engine, selectors
from insights.models import BudgetAdvice, BudgetPlan, ChannelInterval

log = logging.getLogger(__name__)
RECENT_DAYS = 28  # the current spend rate is the last four weeks'
FIT_DAYS = 365


def _money(value: float) -> Decimal:
    return Decimal(str(round(float(value), 2)))


@transaction.atomic
def intervals_compute(*, run: Any, model: str, samples: int = 400) -> list[ChannelInterval]:
    """Per channel: revenue and ROI of deals won in the window before the run's cut-off, with
    90% bootstrap intervals (resampling the converting journeys), replacing stored rows."""

    start, end = selectors.window(run.data_cutoff, settings.CLM_INSIGHTS_WINDOW_DAYS)
    credits = selectors.deal_credits(run=run, model=model, start=start, end=end)
    spend = selectors.spend_by_channel(start=start, end=end)
    table = engine.bootstrap_totals(
        credits, spend, samples=samples, seed=run.pk, min_deals=settings.CLM_INSIGHTS_MIN_DEALS
    )
    ids = dict(Channel.objects.values_list("name", "id"))
    ChannelInterval.objects.filter(run=run, model=model).delete()

    def ratio(v: float) -> float | None:
        return None if pd.isna(v) else round(float(v), 4)

    rows = [
        ChannelInterval(
            run=run,
            model=model,
            channel_id=ids[r.key],
            start=start,
            end=end,
            deals=r.deals,
            revenue=_money(r.revenue),
            revenue_low=_money(r.revenue_low),
            revenue_high=_money(r.revenue_high),
            spend=_money(r.spend),
            roi=ratio(r.roi),
            roi_low=ratio(r.roi_low),
            roi_high=ratio(r.roi_high),
            small_sample=bool(r.small_sample),
        )
        for r in table.itertuples()
        if r.key in ids
    ]
    return ChannelInterval.objects.bulk_create(rows)


def budget_plan() -> BudgetPlan:
    """The admin's plan (defaults when none was saved)."""
    return BudgetPlan.objects.prefetch_related("bounds__channel").first() or BudgetPlan()


@transaction.atomic
def advice_compute(*, run: Any, model: str, samples: int = 200) -> BudgetAdvice | None:
    """Fit diminishing-returns curves per channel (and campaign) on weekly spend and revenue
    credited to that week's touches, split next period's budget within the plan's bounds, and
    store it. None when no channel had spend in the last four weeks."""
    cutoff = run.data_cutoff.date()
    fit_end = cutoff - timedelta(days=settings.CLM_BUDGET_MATURITY_DAYS)
    fit_start = fit_end - timedelta(days=FIT_DAYS)
    plan = budget_plan()
    weeks = plan.period_days / 7
    recent = selectors.spend_by_channel(start=cutoff - timedelta(days=RECENT_DAYS - 1), end=cutoff)
    current = recent[recent > 0] / (RECENT_DAYS / 7)
    BudgetAdvice.objects.filter(run=run, model=model).delete()
    if current.empty:
        return None
    weekly = _weekly(run=run, model=model, start=fit_start, end=fit_end, group_by="channel")
    change = float(plan.max_change)
    lower = current * max(0.0, 1 - change)
    upper = current * (1 + change)

    names = dict(Channel.objects.values_list("id", "name"))
    for bound in plan.bounds.all() if plan.pk else []:
        name = names.get(bound.channel_id)
        if name in current.index:
            lower[name] = float(bound.min_spend) / weeks
            if bound.max_spend is not None:
                upper[name] = float(bound.max_spend) / weeks
    total = float(plan.total_budget) / weeks if plan.total_budget is not None else None
    advice = engine.advise(
        weekly,
        current=current,
        lower=lower,
        upper=upper,
        total=total,
        samples=samples,
        seed=run.pk,
    )
    ids = {v: k for k, v in names.items()}
    channels = [
        {
            "channel_id": ids.get(key),
            "name": key,
            "current": round(r.current * weeks, 2),
            "recommended": round(r.recommended * weeks, 2),
            "change": round(r.change * weeks, 2),
            "lower": round(r.lower * weeks, 2),
            "upper": round(r.upper * weeks, 2),
            "marginal_roi": round(float(r.marginal_roi_current), 4),
            "marginal_roi_after": round(float(r.marginal_roi_recommended), 4),
            "b": round(float(r.b), 3),
            "weeks": int(r.weeks),
            "deals": round(float(r.deals), 1),
            "thin": float(r.deals) < settings.CLM_INSIGHTS_MIN_DEALS,
        }
        for key, r in advice.rows.iterrows()
    ]
    channels.sort(key=lambda c: -c["change"])
    return BudgetAdvice.objects.create(
        run=run,
        model=model,
        period_days=plan.period_days,
        fitted_from=fit_start,
        fitted_to=fit_end,
        current_total=_money(current.sum() * weeks),
        total=_money(advice.total * weeks),
        expected_change=_money(advice.expected_change * weeks),
        change_low=_money(advice.change_low * weeks),
        change_high=_money(advice.change_high * weeks),
        probability_better=round(advice.probability_better, 4),
        channels=channels,
        campaigns=_campaign_rows(run=run, model=model, start=fit_start, end=fit_end, cutoff=cutoff),
        notes=advice.notes,
    )


def _weekly(*, run: Any, model: str, start: Any, end: Any, group_by: str) -> pd.DataFrame:
    spend = selectors.weekly_spend(start=start, end=end, group_by=group_by)
    revenue = selectors.weekly_revenue(
        run=run, model=model, start=start, end=end, group_by=group_by
    )
    frame = spend.merge(revenue, on=["key", "week"], how="left")
    frame[["revenue", "deals"]] = frame[["revenue", "deals"]].fillna(0.0)
    return frame


def _campaign_rows(*, run: Any, model: str, start: Any, end: Any, cutoff: Any) -> list[dict]:
    """Marginal ROI of each campaign at its current spend rate (curves fitted per campaign)."""

    weekly = _weekly(run=run, model=model, start=start, end=end, group_by="campaign")
    if weekly.empty:
        return []
    curves = engine.fit_curves(weekly)
    recent = Spend.objects.filter(
        date__gt=cutoff - timedelta(days=RECENT_DAYS), date__lte=cutoff
    ).values_list("campaign__name", "campaign__channel__name")
    totals = recent.annotate(total=Sum("amount"))
    channel_of = {name: channel for name, channel, _ in totals}
    spend = pd.Series({name: float(t) / (RECENT_DAYS / 7) for name, _, t in totals})
    rows = []
    for key, c in curves.iterrows():
        if key not in spend.index or spend[key] <= 0:
            continue
        marginal = float(engine.marginal_roas(c["a"], c["b"], spend[key])) - 1
        rows.append(
            {
                "name": key,
                "channel": channel_of.get(key) or "",
                "weekly_spend": round(spend[key], 2),
                "marginal_roi": round(marginal, 4),
                "deals": round(float(c["deals"]), 1),
                "thin": float(c["deals"]) < settings.CLM_INSIGHTS_MIN_DEALS,
            }
        )
    rows.sort(key=lambda r: -r["marginal_roi"])
    return rows


def insights_for_run(*, run_id: int) -> dict[str, int]:
    """Everything derived from a finished run: intervals and advice per model, rank flips."""
    from insights.alerts import alerts_check_rank_flips

    run = AttributionRun.objects.filter(pk=run_id, status=AttributionRun.Status.DONE).first()
    # Advice, intervals and alerts follow the contact-scoped runs: the budget is spent on
    # reaching people, and an account run finishing in between must not replace them.
    if run is None or run.scope != AttributionRun.Scope.CONTACT:
        return {}
    counts = {"intervals": 0, "advice": 0}
    for model in run.model_names:
        counts["intervals"] += len(intervals_compute(run=run, model=model))
        counts["advice"] += advice_compute(run=run, model=model) is not None
    counts["alerts"] = alerts_check_rank_flips(run=run)
    return counts
