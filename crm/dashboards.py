"""What the sales dashboard shows: pipeline, wins, rep activity and speed to lead.

Every number is aggregated in the database over the rows the viewer may see (the
crm.selectors *_visible_to scopes), narrowed by the dashboard filters; the channel and
campaign filters apply to the lead's first touch. Each function runs a fixed number of
queries whatever the number of leads, deals or activities.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    F,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clm import roles
from clm.filters import Filters, day_bounds
from crm import rollups
from crm.models import DailyCount, Deal
from crm.permissions import Viewer
from crm.selectors import deals_visible_to, leads_visible_to
from leads.models import Lead

WAITING_LIMIT = 20
NO_CHANNEL = "Unknown source"
NO_CAMPAIGN = "No campaign"
UNASSIGNED = "Unassigned"


# --- Scope and periods ---------------------------------------------------------------------


def _by_first_touch(qs: QuerySet[Any], f: Filters, lead: str = "") -> QuerySet[Any]:
    """Narrow rows to leads whose first touch is in the filter's channel and campaign."""
    if f.channel_id:
        qs = qs.filter(**{f"{lead}first_channel_id": f.channel_id})
    if f.campaign_id:
        qs = qs.filter(**{f"{lead}first_campaign_id": f.campaign_id})
    return qs


# Which figure of a leaderboard or sources row each (kind, key) of the daily rollups gives.
_FIGURES = {
    (DailyCount.Kind.LEAD, ""): "leads",
    (DailyCount.Kind.ACTIVITY, ""): "activities",
    (DailyCount.Kind.ACTIVITY, "connected"): "calls_connected",
    (DailyCount.Kind.DEAL, "won"): "deals_won",
    (DailyCount.Kind.DEAL, "lost"): "deals_lost",
}


def _fill(row: Any, cell: dict[str, Any]) -> None:
    """Set the figure a summed rollup cell (kind, key, n, amount) gives, if the row has it."""
    figure = _FIGURES.get((cell["kind"], cell["key"]))
    if figure is None or not hasattr(row, figure):
        return
    setattr(row, figure, cell["n"])
    if figure == "deals_won":
        row.revenue_won = _money(cell["amount"])


def scoped_leads(*, user: Viewer, f: Filters) -> QuerySet[Lead]:
    """Leads the user may see whose first touch matches the filter's channel and campaign."""
    return _by_first_touch(leads_visible_to(user), f)


def scoped_deals(*, user: Viewer, f: Filters) -> QuerySet[Deal]:
    """Deals the user may see on leads matching the filter's channel and campaign."""
    return _by_first_touch(deals_visible_to(user), f, "lead__")


def _won_in(start_at: datetime, end_at: datetime) -> Q:
    return Q(stage__is_won=True, closed_at__gte=start_at, closed_at__lt=end_at)


def _lost_in(start_at: datetime, end_at: datetime) -> Q:
    return Q(stage__is_lost=True, closed_at__gte=start_at, closed_at__lt=end_at)


def _open_at(moment: datetime) -> Q:
    """Deals open at `moment`: opened before it, closed after it or not at all.

    A reopened deal has lost its old close date, so it counts as open since it was opened.
    """
    still_open = Q(closed_at__isnull=True, stage__is_won=False, stage__is_lost=False)
    return Q(opportunity_created_at__lt=moment) & (still_open | Q(closed_at__gte=moment))


def _money(value: Any) -> Decimal:
    """A sum of amounts to the cent, whatever the database returned (None for no rows)."""
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _ratio(part: Any, whole: Any) -> float | None:
    return float(part) / float(whole) if whole else None


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 3600


# --- Time to first contact -----------------------------------------------------------------


def _with_time_to_contact(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """Annotate the time from capture to first contact (None until contacted)."""
    return leads.annotate(to_contact=rollups.TIME_TO_CONTACT)


class _Median(Aggregate):
    """PostgreSQL's continuous median: the middle value, or the mean of the middle two."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


def median_by(qs: QuerySet[Any], value: str, group: str) -> dict[Any, Any]:
    """Median of `value` per `group`, without reading every row.

    PostgreSQL: one ordered-set aggregate per group. Elsewhere one query numbers the rows of
    each group by `value`; only the middle row (odd count) or the middle two (even count,
    averaged here) leave the database. Both give the mean of the middle two for even counts.
    """
    present = qs.filter(**{f"{value}__isnull": False})
    if connection.vendor == "postgresql":
        field = present.query.annotations[value].output_field
        rows = present.values(group).annotate(m=_Median(F(value), output_field=field)).order_by()
        return {row[group]: row["m"] for row in rows}
    ranked = (
        present.annotate(
            _rank=Window(RowNumber(), partition_by=[F(group)], order_by=[F(value).asc()]),
            _count=Window(Count("pk"), partition_by=[F(group)]),
        )
        .filter(_rank__gte=(F("_count") + 1) / 2, _rank__lte=(F("_count") + 2) / 2)
        .order_by()
        .values_list(group, value)
    )
    middles: dict[Any, list[Any]] = {}
    for key, middle in ranked:
        middles.setdefault(key, []).append(middle)
    return {key: sum(values[1:], values[0]) / len(values) for key, values in middles.items()}


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
        pipeline=Sum("amount", filter=_open_at(end_at)),
        pipeline_before=Sum("amount", filter=_open_at(before_end)),
        won=Count("pk", filter=_won_in(start_at, end_at)),
        won_before=Count("pk", filter=_won_in(before_start, before_end)),
        lost=Count("pk", filter=_lost_in(start_at, end_at)),
        lost_before=Count("pk", filter=_lost_in(before_start, before_end)),
        revenue=Sum("amount", filter=_won_in(start_at, end_at)),
        revenue_before=Sum("amount", filter=_won_in(before_start, before_end)),
    )
    out = {}
    for period, suffix in (("now", ""), ("before", "_before")):
        won, lost = row[f"won{suffix}"], row[f"lost{suffix}"]
        revenue = _money(row[f"revenue{suffix}"])
        out[period] = {
            "pipeline": _money(row[f"pipeline{suffix}"]),
            "won": won,
            "lost": lost,
            "revenue": revenue,
            "win_rate": _ratio(won, won + lost),
            "avg_deal": (revenue / won).quantize(Decimal("0.01")) if won else None,
        }
    return out


@dataclass
class ContactMedians:
    """Median hours from capture to first contact: of the leads captured in this period and in
    the previous one, and per owner of the leads captured in this period."""

    now: float | None
    before: float | None
    by_owner: dict[int, float | None]


def contact_medians(*, user: Viewer, f: Filters) -> ContactMedians:
    """The period's, the previous period's and each owner's median time to first contact
    (computed once per page for the KPI tile and the leaderboard).

    Exact, without sorting every lead: the daily contact rollup says how many leads fell in
    each bucket of time to contact, so the bucket holding the middle rank is known; only the
    leads of that bucket are then read and sorted. A channel or campaign filter (the rollup is
    not split by them) sorts the filtered leads directly.
    """
    start_at, end_at = day_bounds(f.start, f.end)
    before_start, _ = day_bounds(*f.previous)
    leads = _with_time_to_contact(
        scoped_leads(user=user, f=f).filter(created_at__gte=before_start, created_at__lt=end_at)
    )
    if not f.campaign_id and not f.channel_id:
        medians = _medians_from_buckets(user=user, f=f, leads=leads, start_at=start_at)
        if medians is not None:
            return medians
    periods = median_by(
        leads.annotate(
            period=Case(When(created_at__gte=start_at, then=Value("now")), default=Value("before"))
        ),
        "to_contact",
        "period",
    )
    owners = median_by(
        leads.filter(created_at__gte=start_at, owner__isnull=False), "to_contact", "owner_id"
    )
    return ContactMedians(
        now=_hours(periods.get("now")),
        before=_hours(periods.get("before")),
        by_owner={owner: _hours(median) for owner, median in owners.items()},
    )


def _middle(histogram: dict[str, int]) -> list[tuple[str, int]]:
    """(bucket, rank within it) of the middle value, or of the middle two for an even count."""
    total = sum(histogram.values())
    if not total:
        return []
    wanted, found, below = sorted({(total - 1) // 2, total // 2}), [], 0
    for key in sorted(histogram):
        for rank in wanted:
            if below <= rank < below + histogram[key]:
                found.append((key, rank - below))
        below += histogram[key]
    return found


def _medians_from_buckets(
    *, user: Viewer, f: Filters, leads: QuerySet[Lead], start_at: datetime
) -> ContactMedians | None:
    """Medians via the contact rollup; None if the leads changed between the two reads."""
    histograms: dict[Any, dict[str, int]] = {}
    now, before = rollups.period(f.start, f.end), rollups.period(*f.previous)
    for r in (
        rollups.counts(DailyCount.Kind.CONTACT, user=user, within=now | before)
        .values("person_id", "key")
        .annotate(now=Sum("count", filter=now), before=Sum("count", filter=before))
        .order_by()
    ):
        groups = [("now", r["now"]), ("before", r["before"])]
        if r["person_id"] is not None:
            groups.append((r["person_id"], r["now"]))
        for group, n in groups:
            if n:
                cell = histograms.setdefault(group, {})
                cell[r["key"]] = cell.get(r["key"], 0) + n
    wanted = {group: _middle(histogram) for group, histogram in histograms.items()}

    def in_bucket(key: str) -> Q:
        low, high = rollups.contact_bucket_range(key)
        q = Q(to_contact__isnull=False)
        q &= Q(to_contact__gte=low) if low is not None else Q()
        return q & (Q(to_contact__lt=high) if high is not None else Q())

    # The few buckets holding a middle (often the same ones for every group): one read.
    needed = Q(pk__in=[])
    for key in {key for middles in wanted.values() for key, _rank in middles}:
        needed |= in_bucket(key)
    rows = list(leads.filter(needed).order_by().values_list("created_at", "owner_id", "to_contact"))
    medians: dict[Any, timedelta | None] = {}
    for group, middles in wanted.items():
        values = []
        for key, rank in middles:
            low, high = rollups.contact_bucket_range(key)
            bucket = sorted(
                delay
                for created_at, owner_id, delay in rows
                if (low is None or delay >= low) and (high is None or delay < high)
                and (created_at < start_at if group == "before" else created_at >= start_at)
                and group in ("now", "before", owner_id)
            )  # fmt: skip
            if rank >= len(bucket):
                return None
            values.append(bucket[rank])
        medians[group] = sum(values[1:], values[0]) / len(values) if values else None
    return ContactMedians(
        now=_hours(medians.get("now")),
        before=_hours(medians.get("before")),
        by_owner={g: _hours(m) for g, m in medians.items() if g not in ("now", "before")},
    )


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
    tiles[-1]["oldest_hours"] = _hours(timezone.now() - oldest) if oldest else None
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
        .filter(_open_at(end_at), stage__is_won=False, stage__is_lost=False)
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
        cells[(r["owner_id"], r["stage__name"])] = _money(r["amount"])
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
        return _ratio(self.deals_won, self.deals_won + self.deals_lost)

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
        _fill(row(r["person_id"]), r)
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
        return _ratio(self.deals_won, self.deals_won + self.deals_lost)

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
        _fill(row(r), r)
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
