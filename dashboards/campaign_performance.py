"""Campaigns as performance: spend to date against budget (pacing), leads, qualified leads,
won revenue and ROI under a chosen attribution model, per campaign and per week of one. Reads
campaigns' spend, crm's qualified leads and attribution's credited results, so it sits at the
top; one aggregate query per figure whatever the number of campaigns (dashboards/campaigns.py
renders them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy

from attribution import charts, engine, selectors
from attribution.models import AttributionRun, AttributionSummary, Milestone
from campaigns import selectors as campaign_selectors
from campaigns.models import Campaign, Spend
from crm import rollups
from crm.models import DailyCount, LeadHistory
from crm.selectors import history_visible_to
from leads.models import Lead

MAX_WEEKS = 156
# Spend this far from the time elapsed (as a share of the budget) counts as ahead or behind.
PACE_TOLERANCE = 0.1

PACE_LABELS = {
    "over": gettext_lazy("Over budget"),
    "ahead": gettext_lazy("Ahead of pace"),
    "behind": gettext_lazy("Behind pace"),
    "on_pace": gettext_lazy("On pace"),
    "not_started": gettext_lazy("Not started"),
    "open": gettext_lazy("No end date"),
}


@dataclass
class Results:
    """What a campaign (or one of its weeks) cost and brought in under one model."""

    spend: Decimal = Decimal(0)
    leads: float = 0.0
    qualified: float = 0.0
    deals: float = 0.0
    revenue_cents: int = 0

    @property
    def revenue(self) -> Decimal:
        return Decimal(self.revenue_cents) / 100

    @property
    def roi(self) -> float | None:
        """(credited revenue - spend) / spend; none without spend."""
        return float((self.revenue - self.spend) / self.spend) if self.spend else None


@dataclass
class Pacing:
    """Spend to date against the budget, and against the share of the campaign's days gone."""

    budget: Decimal
    spend: Decimal
    elapsed: float | None  # share of the campaign's days gone, None without both dates

    @property
    def spent(self) -> float:
        return float(self.spend / self.budget) if self.budget else 0.0

    @property
    def status(self) -> str:
        if self.spend > self.budget:
            return "over"
        if self.elapsed is None:
            return "open"
        if self.elapsed <= 0:
            return "not_started"
        if self.spent > self.elapsed + PACE_TOLERANCE:
            return "ahead"
        if self.spent < self.elapsed - PACE_TOLERANCE:
            return "behind"
        return "on_pace"

    @property
    def label(self) -> str:
        return str(PACE_LABELS[self.status])


def pacing(campaign: Campaign, spend: Decimal, today: date) -> Pacing | None:
    """The campaign's pacing, when it has a budget."""
    if not campaign.budget:
        return None
    elapsed = None
    if campaign.start_date and campaign.end_date and campaign.end_date >= campaign.start_date:
        days = (campaign.end_date - campaign.start_date).days + 1
        gone = (min(today, campaign.end_date) - campaign.start_date).days + 1
        elapsed = max(0.0, min(1.0, gone / days))
    return Pacing(budget=campaign.budget, spend=spend, elapsed=elapsed)


@dataclass
class CampaignRow:
    campaign: Campaign
    results: Results
    pacing: Pacing | None


def model_of(request: HttpRequest) -> str:
    model = request.GET.get("model", "linear")
    return model if model in engine.MODELS else "linear"


def _credited(
    run: AttributionRun | None, model: str, *, campaign_id: int | None = None, weekly: bool = False
) -> list[dict[str, Any]]:
    """Credited conversions and value per campaign (or per week of one) and milestone."""
    if run is None:
        return []
    if weekly:
        rows = AttributionSummary.objects.filter(
            run=run, model=model, campaign_id=campaign_id, monthly=False
        ).annotate(key=TruncWeek("day"))
    else:
        rows = selectors.results(run=run, model=model).filter(campaign__isnull=False)
    key = "key" if weekly else "campaign_id"
    return list(
        rows.values(key, "milestone")
        .annotate(c=Sum("conversions"), v=Sum("value_cents"))
        .order_by()
        .values_list(key, "milestone", "c", "v")
    )


def _add_credited(results: Results, milestone: str, conversions: float, cents: int) -> None:
    if milestone == Milestone.LEAD:
        results.leads += conversions or 0.0
    elif milestone == Milestone.DEAL:
        results.deals += conversions or 0.0
        results.revenue_cents += int(cents or 0)


def _qualified(user: Any, *, campaign_id: int | None = None, weekly: bool = False) -> QuerySet[Any]:
    """Leads that reached Qualified, by first-touch campaign (or by week of one campaign)."""
    rows = rollups.counts(
        DailyCount.Kind.STAGE,
        user=user,
        campaign_id=campaign_id,
        within=Q(monthly=False) if weekly else None,
    ).filter(key=Lead.Stage.QUALIFIED, campaign__isnull=False)
    if weekly:
        return rows.annotate(k=TruncWeek("day")).values("k").annotate(n=Sum("count")).order_by()
    return rows.values("campaign_id").annotate(n=Sum("count")).order_by()


@rollups.settled()
def campaign_rows(*, model: str, user: Any, today: date | None = None) -> list[CampaignRow]:
    """Every campaign with spend to date, pacing and its results under `model`'s latest run:
    campaigns with spend (one query), credited results (one), qualified leads (one)."""
    today = today or timezone.localdate()
    run = selectors.latest_run(model=model)
    campaigns = list(campaign_selectors.campaigns_with_spend(end=today))
    results = {c.pk: Results(spend=c.spend_total or Decimal(0)) for c in campaigns}
    for campaign_id, milestone, conversions, cents in _credited(run, model):
        if campaign_id in results:
            _add_credited(results[campaign_id], milestone, conversions, cents)
    for row in _qualified(user).values_list("campaign_id", "n"):
        if row[0] in results:
            results[row[0]].qualified += row[1] or 0
    return [
        CampaignRow(campaign=c, results=results[c.pk], pacing=pacing(c, results[c.pk].spend, today))
        for c in campaigns
    ]


@dataclass
class Week:
    start: date
    results: Results = field(default_factory=Results)
    spend_to_date: Decimal = Decimal(0)


def campaign_weeks(
    *, campaign: Campaign, run: AttributionRun | None, model: str, user: Any, today: date
) -> tuple[list[Week], Decimal]:
    """The campaign's spend and results per week (Monday), gaps filled, oldest first, and its
    spend to date: weekly spend (one query), credited results (one), qualified leads (one)."""
    weeks: dict[date, Week] = {}

    def week(key: Any) -> Week:
        day = key.date() if isinstance(key, datetime) else key
        return weeks.setdefault(day, Week(start=day))

    spend = (
        Spend.objects.filter(campaign=campaign)
        .annotate(k=TruncWeek("date"))
        .values("k")
        .annotate(s=Sum("amount"), to_date=Sum("amount", filter=Q(date__lte=today)))
        .order_by()
    )
    to_date = Decimal(0)
    for row in spend:
        week(row["k"]).results.spend += row["s"] or Decimal(0)
        to_date += row["to_date"] or Decimal(0)
    for key, milestone, conversions, cents in _credited(
        run, model, campaign_id=campaign.pk, weekly=True
    ):
        _add_credited(week(key).results, milestone, conversions, cents)
    # Entries into Qualified of the leads whose first touch was the campaign (what the daily
    # rollup counts), read directly: one campaign's history is small.
    qualified = (
        history_visible_to(user)
        .filter(field=LeadHistory.Field.STAGE, new=Lead.Stage.QUALIFIED,
                lead__first_campaign=campaign)
        .annotate(k=TruncWeek("at"))
        .values("k")
        .annotate(n=Count("id"))
        .order_by()
    )  # fmt: skip
    for row in qualified:
        week(row["k"]).results.qualified += row["n"] or 0
    if not weeks:
        return [], to_date
    first, last = min(weeks), max(weeks)
    first = max(first, last - timedelta(weeks=MAX_WEEKS - 1))
    out, running, day = [], Decimal(0), first
    while day <= last:
        item = weeks.get(day) or Week(start=day)
        running += item.results.spend
        item.spend_to_date = running
        out.append(item)
        day += timedelta(weeks=1)
    return out, to_date


def model_context(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "model_label": charts.MODEL_LABELS[model],
        "models": [(m, charts.MODEL_LABELS[m]) for m in engine.MODELS],
        "run": selectors.latest_run(model=model),
        "currency": settings.CLM_CURRENCY,
    }
