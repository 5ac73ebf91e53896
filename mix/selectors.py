"""Reads for the mix model: weekly spend per channel, the weekly outcome, controls, lift tests
and attributed ROAS, as the engine takes them; runs and their progress."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, Sum
from django.db.models.functions import TruncWeek

from attribution import selectors as attribution_selectors
from campaigns.models import Spend
from crm.models import Deal
from leads.models import Lead
from mix import engine
from mix.engine import LiftTest as EngineLiftTest
from mix.models import ChannelBound, Control, LiftTest, MixModelRun, Outcome

QUALIFIED_STAGES = (Lead.Stage.QUALIFIED, Lead.Stage.OPPORTUNITY, Lead.Stage.CUSTOMER)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_range(*, cutoff: date, weeks: int) -> pd.DatetimeIndex:
    """The `weeks` whole weeks (Mondays) that end on or before `cutoff`."""
    last = monday(cutoff + timedelta(days=1)) - timedelta(days=7)
    return pd.date_range(end=pd.Timestamp(last), periods=weeks, freq="7D")


def weekly_spend(weeks: pd.DatetimeIndex) -> pd.DataFrame:
    """Spend per week (rows) and channel (columns) over the weeks; channels never paid for
    are left out."""
    start, end = weeks[0].date(), weeks[-1].date() + timedelta(days=6)
    rows = (
        Spend.objects.filter(date__gte=start, date__lte=end, campaign__channel__isnull=False)
        .annotate(week=TruncWeek("date"))
        .values_list("week", "campaign__channel__name")
        .annotate(total=Sum("amount"))
    )
    frame = pd.DataFrame.from_records(list(rows), columns=["week", "channel", "spend"])
    if frame.empty:
        return pd.DataFrame(index=weeks)
    frame["week"] = pd.to_datetime(frame["week"]).dt.tz_localize(None).dt.normalize()
    frame["spend"] = frame["spend"].astype(float)
    table = frame.pivot_table(index="week", columns="channel", values="spend", aggfunc="sum")
    table = table.reindex(weeks).fillna(0.0)
    table = table.loc[:, table.sum() > 0]
    return table[sorted(table.columns)]


def weekly_outcome(weeks: pd.DatetimeIndex, outcome: str) -> pd.Series:
    """The outcome per week: won revenue by close week, new leads or qualified leads (by the
    week the lead came)."""
    start, end = weeks[0].date(), weeks[-1].date() + timedelta(days=6)
    if outcome == Outcome.REVENUE:
        rows = (
            Deal.objects.filter(
                stage__is_won=True, closed_at__date__gte=start, closed_at__date__lte=end
            )
            .annotate(week=TruncWeek("closed_at"))
            .values_list("week")
            .annotate(value=Sum("amount"))
        )
    else:
        leads = Lead.objects.filter(created_at__date__gte=start, created_at__date__lte=end)
        if outcome == Outcome.QUALIFIED:
            leads = leads.filter(stage__in=QUALIFIED_STAGES)
        rows = (
            leads.annotate(week=TruncWeek("created_at"))
            .values_list("week")
            .annotate(value=Count("id"))
        )
    frame = pd.DataFrame.from_records(list(rows), columns=["week", "value"])
    if frame.empty:
        return pd.Series(0.0, index=weeks)
    week = pd.to_datetime(frame["week"], utc=True).dt.tz_localize(None).dt.normalize()
    series = pd.Series(frame["value"].astype(float).to_numpy(), index=week)
    return series.groupby(level=0).sum().reindex(weeks).fillna(0.0)


def weekly_controls(weeks: pd.DatetimeIndex) -> pd.DataFrame:
    """One 0/1 column per control: 1 in the weeks its dates overlap."""
    start, end = weeks[0].date(), weeks[-1].date() + timedelta(days=6)
    columns = {}
    for control in Control.objects.filter(start__lte=end, end__gte=start):
        first, last = pd.Timestamp(monday(control.start)), pd.Timestamp(monday(control.end))
        columns[control.name] = ((weeks >= first) & (weeks <= last)).astype(float)
    return pd.DataFrame(columns, index=weeks)


def lift_tests(weeks: pd.DatetimeIndex, outcome: str) -> tuple[list[EngineLiftTest], list[int]]:
    """The lift tests of this outcome within the weeks, as the engine takes them."""
    start, end = weeks[0].date(), weeks[-1].date() + timedelta(days=6)
    found, ids = [], []
    tests = LiftTest.objects.filter(outcome=outcome, start__gte=start, end__lte=end)
    for test in tests.select_related("channel"):
        found.append(
            EngineLiftTest(
                channel=test.channel.name,
                start=pd.Timestamp(monday(test.start)),
                end=pd.Timestamp(monday(test.end)),
                lift=float(test.lift),
                low=float(test.low),
                high=float(test.high),
            )
        )
        ids.append(test.pk)
    return found, ids


def attributed_return(*, model: str, outcome: str, start: date, end: date) -> pd.Series:
    """Each channel's attributed outcome per unit of spend in [start, end] from the newest run
    of `model`: revenue / spend, or leads / spend (none for qualified leads)."""
    if not model or outcome == Outcome.QUALIFIED:
        return pd.Series(dtype=float)
    run = attribution_selectors.latest_run(model=model)
    if run is None:
        return pd.Series(dtype=float)
    rows = attribution_selectors.roi_rows(run=run, model=model, start=start, end=end)
    values = {}
    for row in rows:
        if row.spend and row.channel:
            got = float(row.revenue) if outcome == Outcome.REVENUE else row.leads
            if got > 0:
                values[row.channel] = got / float(row.spend)
    return pd.Series(values, dtype=float)


def latest_run(*, outcome: str | None = None) -> MixModelRun | None:
    """The newest finished fit (of `outcome` when given)."""
    runs = MixModelRun.objects.filter(status=MixModelRun.Status.DONE)
    if outcome:
        runs = runs.filter(outcome=outcome)
    return runs.order_by("-finished_at", "-id").first()


def run_in_progress() -> MixModelRun | None:
    return (
        MixModelRun.objects.filter(
            status__in=[MixModelRun.Status.QUEUED, MixModelRun.Status.RUNNING]
        )
        .order_by("-id")
        .first()
    )


def run_progress(run: MixModelRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "status": run.status,
        "status_display": str(run.get_status_display()),
        "percent": 100 if run.status == MixModelRun.Status.DONE else int(run.progress),
        "error": run.error,
    }


def channel_bounds() -> dict[str, tuple[float, float | None]]:
    """Admin-set weekly bounds per channel name."""
    return {
        b.channel.name: (float(b.min_weekly), None if b.max_weekly is None else float(b.max_weekly))
        for b in ChannelBound.objects.select_related("channel")
    }


def budget_advice(run: MixModelRun) -> dict[str, Any] | None:
    """Budget advice from a finished fit on won revenue: per channel its ROI over the fitted
    weeks and the marginal ROI of one more unit of weekly spend at today's rate (last four
    fitted weeks), each with its 90% interval; "more" where even the interval's low end of the
    marginal ROI is above zero, "less" where even its high end is below, "hold" otherwise; and
    a move of budget from each "less" channel to the "more" channel with the best low end.
    None for a fit of another outcome or without results."""
    results = run.results or {}
    if run.outcome != Outcome.REVENUE or not results.get("draws"):
        return None
    names = results["channels"]
    beta = np.asarray(results["draws"]["beta"], dtype=float)
    k = np.asarray(results["draws"]["k"], dtype=float)
    current = np.array([float(results["points"][n]["current"]) for n in names])
    mean, low, high = engine.marginal_returns(beta, k, current)
    roas = {r["channel"]: r for r in results["roas"]}
    channels = []
    for i, name in enumerate(names):
        marginal = (float(mean[i]) - 1, float(low[i]) - 1, float(high[i]) - 1)
        action = "more" if marginal[1] > 0 else "less" if marginal[2] < 0 else "hold"
        channels.append(
            {
                "name": name,
                "weekly_spend": round(float(current[i]), 2),
                "roi": round(roas[name]["roas"] - 1, 4),
                "roi_low": round(roas[name]["roas_low"] - 1, 4),
                "roi_high": round(roas[name]["roas_high"] - 1, 4),
                "marginal_roi": round(marginal[0], 4),
                "marginal_low": round(marginal[1], 4),
                "marginal_high": round(marginal[2], 4),
                "action": action,
            }
        )
    channels.sort(key=lambda c: -c["marginal_roi"])
    better = [c for c in channels if c["action"] == "more"]
    best = max(better, key=lambda c: c["marginal_low"]) if better else None
    moves = [
        {"source": c["name"], "target": best["name"]}
        for c in channels
        if c["action"] == "less" and best is not None
    ]
    evidence = results["evidence"]
    return {
        "run": run,
        "channels": channels,
        "moves": moves,
        "first_week": date.fromisoformat(evidence["first_week"]),
        "last_week": date.fromisoformat(evidence["last_week"]) + timedelta(days=6),
        "weeks": evidence["weeks"],
        "attribution_model": run.attribution_model,
        "lift_tests": len(evidence.get("lift_tests", [])),
        "controls": len(evidence.get("controls", [])),
        "rhat_max": results["diagnostics"]["rhat_max"],
    }
