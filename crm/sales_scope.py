"""The sales dashboard's scope: the leads and deals a viewer may see, narrowed by the filters'
channel and campaign (on the lead's first touch), and the period and rounding helpers its
figures share (crm.dashboards, crm.contact_times)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from clm.filters import Filters
from crm.models import DailyCount, Deal
from crm.permissions import Viewer
from crm.selectors import deals_visible_to, leads_visible_to
from leads.models import Lead


def by_first_touch(qs: QuerySet[Any], f: Filters, lead: str = "") -> QuerySet[Any]:
    """Narrow rows to leads whose first touch is in the filter's channel and campaign."""
    if f.channel_id:
        qs = qs.filter(**{f"{lead}first_channel_id": f.channel_id})
    if f.campaign_id:
        qs = qs.filter(**{f"{lead}first_campaign_id": f.campaign_id})
    return qs


# Which figure of a leaderboard or sources row each (kind, key) of the daily rollups gives.
ROLLUP_FIGURES = {
    (DailyCount.Kind.LEAD, ""): "leads",
    (DailyCount.Kind.ACTIVITY, ""): "activities",
    (DailyCount.Kind.ACTIVITY, "connected"): "calls_connected",
    (DailyCount.Kind.DEAL, "won"): "deals_won",
    (DailyCount.Kind.DEAL, "lost"): "deals_lost",
}


def fill_figure(row: Any, cell: dict[str, Any]) -> None:
    """Set the figure a summed rollup cell (kind, key, n, amount) gives, if the row has it."""
    figure = ROLLUP_FIGURES.get((cell["kind"], cell["key"]))
    if figure is None or not hasattr(row, figure):
        return
    setattr(row, figure, cell["n"])
    if figure == "deals_won":
        row.revenue_won = to_cents(cell["amount"])


def scoped_leads(*, user: Viewer, f: Filters) -> QuerySet[Lead]:
    """Leads the user may see whose first touch matches the filter's channel and campaign."""
    return by_first_touch(leads_visible_to(user), f)


def scoped_deals(*, user: Viewer, f: Filters) -> QuerySet[Deal]:
    """Deals the user may see on leads matching the filter's channel and campaign."""
    return by_first_touch(deals_visible_to(user), f, "lead__")


def won_in(start_at: datetime, end_at: datetime) -> Q:
    return Q(stage__is_won=True, closed_at__gte=start_at, closed_at__lt=end_at)


def lost_in(start_at: datetime, end_at: datetime) -> Q:
    return Q(stage__is_lost=True, closed_at__gte=start_at, closed_at__lt=end_at)


def open_at(moment: datetime) -> Q:
    """Deals open at `moment`: opened before it, closed after it or not at all.

    A reopened deal has lost its old close date, so it counts as open since it was opened.
    """
    still_open = Q(closed_at__isnull=True, stage__is_won=False, stage__is_lost=False)
    return Q(opportunity_created_at__lt=moment) & (still_open | Q(closed_at__gte=moment))


def to_cents(value: Any) -> Decimal:
    """A sum of amounts to the cent, whatever the database returned (None for no rows)."""
    return Decimal(value or 0).quantize(Decimal("0.01"))


def ratio(part: Any, whole: Any) -> float | None:
    return float(part) / float(whole) if whole else None


def to_hours(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 3600
