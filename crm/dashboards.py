"""What the sales dashboard shows: pipeline, wins, rep activity and speed to lead.

Every number is aggregated in the database over the rows the viewer may see (the
crm.selectors *_visible_to scopes), narrowed by the dashboard filters; the channel and
campaign filters apply to the lead's first touch. Each function runs a fixed number of
queries whatever the number of leads, deals or activities.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Count,
    Min,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clm import roles
from clm.filters import Filters, day_bounds
from crm import rollups
from crm.contact_times import ContactMedians, contact_medians
from crm.models import DailyCount
from crm.permissions import Viewer
from crm.sales_scope import (
    fill_figure,
    lost_in,
    open_at,
    ratio,
    scoped_deals,
    scoped_leads,
    to_cents,
    to_hours,
    won_in,
)
from leads.models import Lead

WAITING_LIMIT = 20
NO_CHANNEL = "Unknown source"
NO_CAMPAIGN = "No campaign"
UNASSIGNED = "Unassigned"


# --- KPI tiles -----------------------------------------------------------------------------


def _change(now: Any, before: Any) -> float | None:
    if now is None or before in (None, 0):
        return None
    return (float(now) - float(before)) / abs(float(before))


def _tile(
    label: str, key: str, kind: str, now: Any, before: Any, rise_is_good: bool | None
) -> dict[str, Any]:
    change = _change(now, before) if rise_is_good is not None else None
    # A change that shows as 0% is neither good nor bad news.
    good = None if change is None or round(change * 100) == 0 else (change > 0) == rise_is_good
    return {"label": label, "key": key, "value": now, "kind": kind, "change": change,
            "good": good}  # fmt: skip


def deal_totals(*, user: Viewer, f: Filters) -> dict[str, dict[str, Any]]:
    """Open pipeline at the period's end, won/lost deals and won revenue: this and last period.

    Win rate = won / (won + lost) of the deals closed in the period; average deal size = won
    revenue / won deals.
    """
    start_at, end_at = day_bounds(f.start, f.end)
    before_start, before_end = day_bounds(*f.previous)
    row = scoped_deals(user=user, f=f).aggregate(
        pipeline=Sum("amount", filter=open_at(end_at)),
        pipeline_before=Sum("amount", filter=open_at(before_end)),
        won=Count("pk", filter=won_in(start_at, end_at)),
        won_before=Count("pk", filter=won_in(before_start, before_end)),
        lost=Count("pk", filter=lost_in(start_at, end_at)),
        lost_before=Count("pk", filter=lost_in(before_start, before_end)),
        revenue=Sum("amount", filter=won_in(start_at, end_at)),
        revenue_before=Sum("amount", filter=won_in(before_start, before_end)),
    )
    out = {}
    for period, suffix in (("now", ""), ("before", "_before")):
        won, lost = row[f"won{suffix}"], row[f"lost{suffix}"]
        revenue = to_cents(row[f"revenue{suffix}"])
        out[period] = {
            "pipeline": to_cents(row[f"pipeline{suffix}"]),
            "won": won,
            "lost": lost,
            "revenue": revenue,
            "win_rate": ratio(won, won + lost),
            "avg_deal": (revenue / won).quantize(Decimal("0.01")) if won else None,
        }
    return out


def waiting_leads(*, user: Viewer, f: Filters) -> QuerySet[Lead]:
    """Leads captured in the period that are still new and never contacted, oldest first."""
    start_at, end_at = day_bounds(f.start, f.end)
    return (
        scoped_leads(user=user, f=f)
        .filter(
            stage=Lead.Stage.NEW,
            last_contacted_at__isnull=True,
            created_at__gte=start_at,
            created_at__lt=end_at,
        )
        .order_by("created_at", "id")
    )


def kpi_tiles(
    *, user: Viewer, f: Filters, medians: ContactMedians | None = None
) -> list[dict[str, Any]]:
    """The six KPI tiles, with their change against the previous period where it means much."""
    deals = deal_totals(user=user, f=f)
    now, before = deals["now"], deals["before"]
    contact = medians or contact_medians(user=user, f=f)
    waiting = waiting_leads(user=user, f=f).aggregate(n=Count("pk"), oldest=Min("created_at"))
    contact_now, contact_before = contact.now, contact.before
    tiles = [
        _tile(_("Open pipeline"), "pipeline", "money", now["pipeline"], before["pipeline"], True),
        _tile(_("Won revenue"), "revenue", "money", now["revenue"], before["revenue"], True),
        _tile(_("Win rate"), "win_rate", "percent", now["win_rate"], before["win_rate"], True),
        _tile(_("Avg deal size"), "avg_deal", "money", now["avg_deal"], before["avg_deal"], True),
        _tile(
            _("Median first contact"), "first_contact", "hours", contact_now, contact_before, False
        ),
        _tile(_("Waiting for contact"), "waiting", "count", waiting["n"], None, None),
    ]
    # A count of leads waiting now has no meaningful previous value: show the oldest wait.
    oldest = waiting["oldest"]
    tiles[-1]["oldest_hours"] = to_hours(timezone.now() - oldest) if oldest else None
    return tiles


# --- Pipeline ------------------------------------------------------------------------------


def _person(first: str | None, last: str | None, username: str | None) -> str:
    if username is None:
        return UNASSIGNED
    return f"{first or ''} {last or ''}".strip() or username


@dataclass
class Pipeline:
    """Open pipeline amounts per owner (x) and stage (stacked), biggest owner first."""

    owners: list[str]
    stages: list[str]
    amounts: dict[str, list[float]]
    total: Decimal


def pipeline_by_owner(*, user: Viewer, f: Filters) -> Pipeline:
    """Deals open at the period's end, summed per owner and current open stage."""
    _, end_at = day_bounds(f.start, f.end)
    rows = (
        scoped_deals(user=user, f=f)
        .filter(open_at(end_at), stage__is_won=False, stage__is_lost=False)
        .values(
            "owner_id", "owner__first_name", "owner__last_name", "owner__username",
            "stage__name", "stage__order", "stage_id",
        )
        .annotate(amount=Sum("amount"))
        .order_by()
    )  # fmt: skip
    cells: dict[tuple[Any, str], Decimal] = {}
    owners: dict[Any, str] = {}
    stage_order: dict[str, tuple[int, int]] = {}
    for r in rows:
        owners[r["owner_id"]] = _person(
            r["owner__first_name"], r["owner__last_name"], r["owner__username"]
        )
        stage_order[r["stage__name"]] = (r["stage__order"], r["stage_id"])
        cells[(r["owner_id"], r["stage__name"])] = to_cents(r["amount"])
    totals = {o: sum((v for (k, _), v in cells.items() if k == o), Decimal(0)) for o in owners}
    ordered = sorted(owners, key=lambda o: (o is None, -totals[o], owners[o]))
    stages = sorted(stage_order, key=stage_order.__getitem__)
    return Pipeline(
        owners=[owners[o] for o in ordered],
        stages=stages,
        amounts={s: [float(cells.get((o, s), 0)) for o in ordered] for s in stages},
        total=sum(totals.values(), Decimal(0)),
    )


# --- Reps ----------------------------------------------------------------------------------


@dataclass
class RepRow:
    """One rep's line on the leaderboard for the period."""

    user_id: int
    name: str
    leads: int = 0
    activities: int = 0
    calls_connected: int = 0
    deals_won: int = 0
    deals_lost: int = 0
    revenue_won: Decimal = Decimal(0)
    first_contact_hours: float | None = None

    @property
    def win_rate(self) -> float | None:
        return ratio(self.deals_won, self.deals_won + self.deals_lost)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rep": self.name, "leads": self.leads, "activities": self.activities,
            "calls_connected": self.calls_connected, "deals_won": self.deals_won,
            "deals_lost": self.deals_lost, "revenue_won": self.revenue_won,
            "win_rate": None if self.win_rate is None else round(self.win_rate, 4),
            "median_hours_to_first_contact": None if self.first_contact_hours is None
            else round(self.first_contact_hours, 2),
        }  # fmt: skip


def rep_leaderboard(
    *, user: Viewer, f: Filters, medians: ContactMedians | None = None
) -> list[RepRow]:
    """Per rep, in the period: leads received, activities logged, calls connected, deals won
    and lost, revenue won, win rate and median time to first contact; best revenue first.

    Activities count for who logged them; leads, deals and contact times for their owner.
    Active reps without any of these are listed with zeros.
    """
    rows: dict[int, RepRow] = {}

    def row(user_id: int) -> RepRow:
        return rows.setdefault(user_id, RepRow(user_id=user_id, name=""))

    kinds = (DailyCount.Kind.ACTIVITY, DailyCount.Kind.DEAL, DailyCount.Kind.LEAD)
    for r in (
        rollups.counts(kinds, user=user, f=f)
        .filter(person__isnull=False)
        .values("person_id", "kind", "key")
        .annotate(n=Sum("count"), amount=Sum("amount"))
        .order_by()
    ):
        fill_figure(row(r["person_id"]), r)
    for owner_id, hours in (medians or contact_medians(user=user, f=f)).by_owner.items():
        row(owner_id).first_contact_hours = hours
    people = get_user_model().objects.filter(
        Q(pk__in=list(rows)) | Q(is_active=True, groups__name=roles.SALES_REP)
    )
    for person in people.distinct():
        row(person.pk).name = person.get_full_name() or person.get_username()
    board = [r for r in rows.values() if r.name]
    board.sort(key=lambda r: (-r.revenue_won, -r.deals_won, -r.activities, r.name.lower()))
    return board


# --- Sources -------------------------------------------------------------------------------


@dataclass
class SourceRow:
    """One first-touch channel: leads captured, deals closed, win rate, average deal size."""

    channel_id: int | None
    channel: str
    color: str
    leads: int = 0
    deals_won: int = 0
    deals_lost: int = 0
    revenue_won: Decimal = Decimal(0)

    @property
    def win_rate(self) -> float | None:
        return ratio(self.deals_won, self.deals_won + self.deals_lost)

    @property
    def avg_deal(self) -> Decimal | None:
        return (
            (self.revenue_won / self.deals_won).quantize(Decimal("0.01"))
            if self.deals_won
            else None
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel, "leads": self.leads, "deals_won": self.deals_won,
            "deals_lost": self.deals_lost, "revenue_won": self.revenue_won,
            "win_rate": None if self.win_rate is None else round(self.win_rate, 4),
            "avg_deal_size": self.avg_deal,
        }  # fmt: skip


def sources(*, user: Viewer, f: Filters, by: str = "channel") -> list[SourceRow]:
    """Per first-touch channel (or campaign, `by`) of the lead: leads captured, deals won and
    lost, revenue won, win rate and average deal size in the period; most revenue first.
    A campaign row carries its channel's colour."""
    rows: dict[int | None, SourceRow] = {}
    key, name = f"{by}_id", f"{by}__name"
    colour = "channel__color" if by == "channel" else "campaign__channel__color"
    missing = NO_CHANNEL if by == "channel" else NO_CAMPAIGN

    def row(r: dict[str, Any]) -> SourceRow:
        return rows.setdefault(
            r[key],
            SourceRow(channel_id=r[key], channel=r[name] or missing, color=r[colour] or ""),
        )

    for r in (
        rollups.counts((DailyCount.Kind.LEAD, DailyCount.Kind.DEAL), user=user, f=f)
        .values(key, name, colour, "kind", "key")
        .annotate(n=Sum("count"), amount=Sum("amount"))
        .order_by()
    ):
        fill_figure(row(r), r)
    return sorted(rows.values(), key=lambda r: (-r.revenue_won, -r.leads, r.channel.lower()))


# --- Waiting leads -------------------------------------------------------------------------


def waiting_rows(*, user: Viewer, f: Filters, limit: int = WAITING_LIMIT) -> list[dict[str, Any]]:
    """The leads waiting longest for a first contact: lead, owner, captured, hours waiting."""
    now = timezone.now()
    leads = waiting_leads(user=user, f=f).select_related("owner")[:limit]
    return [
        {
            "lead_id": lead.pk,
            "lead": lead.display_name,
            "email": lead.email,
            "company": lead.company,
            "owner": (lead.owner.get_full_name() or lead.owner.get_username())
            if lead.owner
            else UNASSIGNED,
            "captured_at": lead.created_at,
            "waiting_hours": round((now - lead.created_at).total_seconds() / 3600, 1),
        }
        for lead in leads
    ]


# --- CSV -----------------------------------------------------------------------------------

EXPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "leaderboard": (
        "rep", "leads", "activities", "calls_connected", "deals_won", "deals_lost",
        "revenue_won", "win_rate", "median_hours_to_first_contact",
    ),
    "sources": (
        "channel", "leads", "deals_won", "deals_lost", "revenue_won", "win_rate",
        "avg_deal_size",
    ),
    "waiting": ("lead_id", "lead", "email", "company", "owner", "captured_at", "waiting_hours"),
}  # fmt: skip


def export_table(*, table: str, user: Viewer, f: Filters) -> list[list[Any]]:
    """The rows of a dashboard table for CSV, in the order of EXPORT_COLUMNS[table]."""
    if table == "leaderboard":
        rows = [r.as_dict() for r in rep_leaderboard(user=user, f=f)]
    elif table == "sources":
        rows = [r.as_dict() for r in sources(user=user, f=f)]
    elif table == "waiting":
        rows = [
            {**r, "captured_at": timezone.localtime(r["captured_at"]).isoformat(timespec="minutes")}
            for r in waiting_rows(user=user, f=f)
        ]
    else:
        raise KeyError(table)
    return [[r[c] for c in EXPORT_COLUMNS[table]] for r in rows]
