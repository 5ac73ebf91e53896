"""Daily rollups behind the dashboards: DailyCount rows kept in step with their sources.

A dashboard must answer from stored aggregates, not by counting 100,000 leads or 200,000
activities on every first view. Each kind of DailyCount is a grouped count of one source
(leads and their current ratings by capture day, activities by day, closed deals by close
day, stage changes by day) per first-touch channel, first-touch campaign and person, plus
contacted leads per capture day, owner and bucket of time to first contact. Month rows hold
the sums of whole months, so a year reads a dozen of them and the days at its edges.

Keeping them exact: every write that changes what a day counts marks that day (a RollupMark
row in the writer's own transaction), and `refresh()`, which the dashboards call before they
read, recounts the marked days from their source rows and moves the month rows by the
difference. The marks are written in crm/rollup_marks.py. `rebuild()` recomputes everything
(`manage.py rollups_rebuild`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from clm import bulk
from clm.filters import Filters, day_bounds, days_and_months, month_end, month_start
from crm.models import Activity, DailyCount, Deal, LeadFeedback, LeadHistory, RollupMark
from crm.rollup_marks import mark_all
from leads.models import Lead

Kind = DailyCount.Kind
CALL_KINDS = (Activity.Kind.CALL, Activity.Kind.INBOUND_CALL)
# Past this many separate runs of marked days, one range from the first to the last is redone.
MANY_RUNS = 40
_LOCK_KEY = 0x434C4D52  # "CLMR": one advisory lock serialises refreshes on PostgreSQL


@dataclass(frozen=True)
class Source:
    """How a kind is counted: grouped source rows, each group giving one count per key.

    `keys` maps a key to the Count expression of its rows (None for all rows of the group);
    `split` is an expression whose value becomes the key (deals: won or lost).
    """

    rows: Callable[[], QuerySet[Any]]
    at: str  # the timestamp that gives the day
    channel: str | None  # None: the kind is not split by channel
    campaign: str | None  # None: the kind is not split by campaign
    person: str
    keys: dict[str, Q | None]
    split: Any = None
    amount: str | None = None


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


_CURRENT_RATING = "current_feedback__rating"

# Upper bounds of the time-to-first-contact buckets: bucket i holds [bound i-1, bound i).
# Narrow where first contacts cluster (half-hours up to two days), so the leads of the bucket
# holding a median are few.
CONTACT_BOUNDS = tuple(
    timedelta(minutes=m)
    for m in (
        1, 2, 5, 10, 15, 20, 30, 45,
        *range(60, 48 * 60, 30), *range(48 * 60, 96 * 60, 60),
        7 * 1440, 10 * 1440, 14 * 1440, 21 * 1440, 30 * 1440, 60 * 1440, 90 * 1440,
    )
)  # fmt: skip
TIME_TO_CONTACT = ExpressionWrapper(
    F("first_contacted_at") - F("created_at"), output_field=DurationField()
)


def contact_bucket(index: int) -> str:
    """The key of bucket `index` (zero-padded, so keys sort in bucket order)."""
    return f"{index:03d}"


def contact_bucket_range(key: str) -> tuple[timedelta | None, timedelta | None]:
    """[low, high) of a bucket key; None for an open end."""
    index = int(key)
    low = CONTACT_BOUNDS[index - 1] if index > 0 else None
    return low, CONTACT_BOUNDS[index] if index < len(CONTACT_BOUNDS) else None


def _contact_bucket_of() -> Case:
    return Case(
        *(When(to_contact__lt=bound, then=_text(contact_bucket(i)))
          for i, bound in enumerate(CONTACT_BOUNDS)),
        default=_text(contact_bucket(len(CONTACT_BOUNDS))),
    )  # fmt: skip


SOURCES: dict[str, Source] = {
    # One row per lead, joined to its current rating if any (at most one: a unique index).
    Kind.LEAD: Source(
        lambda: Lead.objects.annotate(
            current_feedback=FilteredRelation("feedback", condition=Q(feedback__is_current=True))
        ),
        "created_at", "first_channel_id", "first_campaign_id", "owner_id",
        keys={
            "": None,
            LeadFeedback.Rating.GOOD: Q(**{_CURRENT_RATING: LeadFeedback.Rating.GOOD}),
            LeadFeedback.Rating.POOR: Q(**{_CURRENT_RATING: LeadFeedback.Rating.POOR}),
        },
    ),
    Kind.ACTIVITY: Source(
        lambda: Activity.objects.all(),
        "occurred_at", "lead__first_channel_id", "lead__first_campaign_id", "by_id",
        keys={"": None, "connected": Q(kind__in=CALL_KINDS, outcome=Activity.Outcome.CONNECTED)},
    ),
    Kind.DEAL: Source(
        lambda: Deal.objects.filter(closed_at__isnull=False).filter(
            Q(stage__is_won=True) | Q(stage__is_lost=True)
        ),
        "closed_at", "lead__first_channel_id", "lead__first_campaign_id", "owner_id",
        keys={"": None},
        split=Case(When(stage__is_won=True, then=_text("won")), default=_text("lost")),
        amount="amount",
    ),
    Kind.CONTACT: Source(
        lambda: Lead.objects.filter(first_contacted_at__isnull=False).annotate(
            to_contact=TIME_TO_CONTACT
        ),
        "created_at", None, None, "owner_id",
        keys={"": None},
        split=_contact_bucket_of(),
    ),
    Kind.ANSWER: Source(
        lambda: Lead.objects.exclude(heard_about=""),
        "created_at", "first_channel_id", "first_campaign_id", "owner_id",
        keys={"": None},
        split=F("heard_about"),
    ),
    Kind.ANSWER_WON: Source(
        lambda: Deal.objects.filter(stage__is_won=True).exclude(lead__heard_about=""),
        "lead__created_at", "lead__first_channel_id", "lead__first_campaign_id", "lead__owner_id",
        keys={"": None},
        split=F("lead__heard_about"),
        amount="amount",
    ),
    Kind.STAGE: Source(
        lambda: LeadHistory.objects.filter(field=LeadHistory.Field.STAGE),
        "at", "lead__first_channel_id", "lead__first_campaign_id", "lead__owner_id",
        keys={"": None},
        split=F("new"),
    ),
}  # fmt: skip


# --- Recomputing -----------------------------------------------------------------------------


def _runs(days: set[date]) -> list[tuple[date, date]]:
    """Consecutive days as [first, last] runs; too many runs become one from first to last."""
    ordered = sorted(days)
    runs: list[tuple[date, date]] = []
    for day in ordered:
        if runs and day - runs[-1][1] <= timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    if len(runs) > MANY_RUNS:
        return [(ordered[0], ordered[-1])]
    return runs


def _within(field: str, runs: list[tuple[date, date]] | None) -> Q:
    if runs is None:
        return Q()
    q = Q(pk__in=[])
    for first, last in runs:
        start_at, end_at = day_bounds(first, last)
        q |= Q(**{f"{field}__gte": start_at, f"{field}__lt": end_at})
    return q


def _recount(todo: dict[str, list[tuple[date, date]] | None]) -> int:
    """Replace the DailyCount rows of each kind on its day runs (None: all days) with fresh
    counts from the sources: one delete, one grouped query per source, one insert; then the
    month rows move by the difference (or, for kinds recounted whole, are summed anew)."""
    stale = Q(pk__in=[])
    for kind, runs in todo.items():
        stale |= Q(kind=kind, monthly=False) & (Q() if runs is None else _days(runs))
    partial = Q(pk__in=[])
    for kind, runs in todo.items():
        if runs is not None:
            partial |= Q(kind=kind, monthly=False) & _days(runs)
    before = list(DailyCount.objects.filter(partial).values_list(*_IDENTITY, "count", "amount"))
    DailyCount.objects.filter(stale).delete()
    zone = timezone.get_default_timezone()
    money = DecimalField(max_digits=16, decimal_places=2)
    rows = []
    for kind, runs in todo.items():
        source = SOURCES[kind]
        group = {"d": TruncDate(source.at, tzinfo=zone), "pe": F(source.person)}
        if source.channel is not None:
            group["ch"] = F(source.channel)
        if source.campaign is not None:
            group["ca"] = F(source.campaign)
        if source.split is not None:
            group["split"] = source.split
        measures: dict[str, Any] = {
            f"n{i}": Count("pk", filter=q) for i, q in enumerate(source.keys.values())
        }
        if source.amount:
            measures["a"] = Coalesce(Sum(source.amount), Value(0), output_field=money)
        grouped = (
            source.rows().filter(_within(source.at, runs)).values(**group).annotate(**measures)
        ).order_by()
        for r in grouped:
            for i, key in enumerate(source.keys):
                if not r[f"n{i}"]:
                    continue
                rows.append(DailyCount(
                    kind=kind, key=r.get("split") or key, day=r["d"], channel_id=r.get("ch"),
                    campaign_id=r.get("ca"), person_id=r["pe"], count=r[f"n{i}"],
                    amount=r.get("a") or 0,
                ))  # fmt: skip
    DailyCount.objects.bulk_create(rows, batch_size=5000)
    whole = {kind: None for kind, runs in todo.items() if runs is None}
    if whole:
        _recount_months(whole)
    after = [
        (r.kind, r.key, r.day, r.channel_id, r.campaign_id, r.person_id, r.count, r.amount)
        for r in rows
        if todo[r.kind] is not None
    ]
    _shift_months(before, after)
    return len(rows)


# A row's identity but for the day: (kind, key, day, channel, campaign, person).
_IDENTITY = ("kind", "key", "day", "channel_id", "campaign_id", "person_id")


def _shift_months(before: list[tuple], after: list[tuple]) -> None:
    """Move the month rows by the difference between the recounted day rows and the ones
    they replaced: a few rows written, not the whole month summed again."""
    delta: dict[tuple, list] = {}
    for rows, sign in ((after, 1), (before, -1)):
        for kind, key, day, channel, campaign, person, count, amount in rows:
            cell = delta.setdefault(
                (kind, key, month_start(day), channel, campaign, person), [0, 0]
            )
            cell[0] += sign * count
            cell[1] += sign * amount
    delta = {ident: cell for ident, cell in delta.items() if cell[0] or cell[1]}
    if not delta:
        return
    months, their_days = Q(pk__in=[]), Q(pk__in=[])
    for kind, month in {(ident[0], ident[2]) for ident in delta}:
        months |= Q(kind=kind, day=month)
        their_days |= Q(kind=kind, day__gte=month, day__lte=month_end(month))
    existing = {
        (r.kind, r.key, r.day, r.channel_id, r.campaign_id, r.person_id): r
        for r in DailyCount.objects.filter(months, monthly=True)
    }
    create, update, drop = [], [], []
    for ident, (count, amount) in delta.items():
        row = existing.get(ident)
        if row is None:
            kind, key, month, channel, campaign, person = ident
            create.append(DailyCount(kind=kind, key=key, monthly=True, day=month,
                                     channel_id=channel, campaign_id=campaign,
                                     person_id=person, count=count, amount=amount))  # fmt: skip
            continue
        row.count += count
        row.amount += amount
        (update if row.count else drop).append(row)
    if any(row.count < 0 for row in create + update):
        # Month rows that disagree with their days (written before this code, or by hand):
        # sum those months anew rather than carry the error on.
        DailyCount.objects.filter(months, monthly=True).delete()
        _recount_months_of(their_days)
        return
    if drop:
        DailyCount.objects.filter(pk__in=[row.pk for row in drop]).delete()
    if update:
        DailyCount.objects.bulk_update(update, ["count", "amount"], batch_size=2000)
    if create:
        DailyCount.objects.bulk_create(create, batch_size=5000)


def _recount_months(todo: dict[str, list[tuple[date, date]] | None]) -> None:
    """Replace the month rows of the months the day runs touch with sums of their day rows."""
    where = Q(pk__in=[])
    for kind, runs in todo.items():
        if runs is None:
            where |= Q(kind=kind)
        else:
            for first, last in runs:
                where |= Q(kind=kind, day__gte=month_start(first), day__lte=month_end(last))
    DailyCount.objects.filter(where, monthly=True).delete()
    _recount_months_of(where)


def _recount_months_of(where: Q) -> None:
    """Insert month rows summing the day rows matched by `where` (kind and a day range)."""
    sums = (
        DailyCount.objects.filter(where, monthly=False)
        .values("kind", "key", "channel_id", "campaign_id", "person_id", m=TruncMonth("day"))
        .annotate(n=Sum("count"), a=Sum("amount"))
        .order_by()
    )
    DailyCount.objects.bulk_create(
        (
            DailyCount(kind=r["kind"], key=r["key"], monthly=True, day=r["m"],
                       channel_id=r["channel_id"], campaign_id=r["campaign_id"],
                       person_id=r["person_id"], count=r["n"], amount=r["a"] or 0)
            for r in sums
        ),
        batch_size=5000,
    )  # fmt: skip


def _days(runs: list[tuple[date, date]]) -> Q:
    q = Q(pk__in=[])
    for first, last in runs:
        q |= Q(day__gte=first, day__lte=last)
    return q


def _lock() -> None:
    """Serialise refreshes: two at once would both replace the same days."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            # A day's rows join a few hundred leads: with the default cost of a random read
            # (made for spinning disks) the planner scans all 100,000 instead of looking
            # those few up by id, three times slower. For this transaction only.
            cursor.execute("SET LOCAL random_page_cost = 1.1")
    # SQLite: the IMMEDIATE transaction already holds the database's write lock.


def refresh() -> int:
    """Recompute the marked days; returns how many marks it settled (0: all was current).

    Only the marks read here are deleted: a change committed while this ran left its own
    mark, which the next refresh picks up.
    """
    if not RollupMark.objects.exists():
        return 0
    with transaction.atomic():
        _lock()
        marks = list(RollupMark.objects.values_list("pk", "kind", "day"))
        days: dict[str, set[date] | None] = {}
        for _, kind, day in marks:
            if day is None:
                days[kind] = None
            elif days.get(kind, set()) is not None:
                days.setdefault(kind, set()).add(day)
        _recount({k: None if d is None else _runs(d) for k, d in days.items()})
        settled = [pk for pk, _, _ in marks]
        for i in range(0, len(settled), 2000):
            RollupMark.objects.filter(pk__in=settled[i : i + 2000]).delete()
    return len(marks)


def rebuild() -> int:
    """Recompute every rollup from scratch; returns the number of DailyCount rows."""

    mark_all()
    refresh()
    bulk.analyze([DailyCount])  # fresh statistics, or the planner guesses a handful of rows
    return DailyCount.objects.count()


# --- Reading ---------------------------------------------------------------------------------


_settled: ContextVar[bool] = ContextVar("crm_rollups_settled", default=False)


@contextmanager
def settled() -> Iterator[None]:
    """Refresh once, then read without checking for marks again: for a page that reads the
    rollups several times and wants one consistent picture. Also a decorator."""
    refresh()
    token = _settled.set(True)
    try:
        yield
    finally:
        _settled.reset(token)


def period(start: date | None, end: date | None) -> Q:
    """Rows covering [start, end] once (see clm.filters.days_and_months)."""
    return days_and_months(start, end)


def counts(
    kind: str | Iterable[str],
    *,
    user: Any = None,
    f: Filters | None = None,
    start: date | None = None,
    end: date | None = None,
    channel_id: int | None = None,
    campaign_id: int | None = None,
    within: Q | None = None,
) -> QuerySet[DailyCount]:
    """Current DailyCount rows of `kind` (or kinds) in [start, end], narrowed to a first-touch
    channel and campaign and to what `user` may see; group and Sum("count") / Sum("amount").
    Dashboard filters `f` give the period, channel and campaign; `within` (Q of period()
    calls) replaces start and end, e.g. for two periods at once.

    Viewers who see every lead get every row; a sales rep only the rows they are the person
    of (their own leads, their own activities and deals); anyone else nothing.
    """
    from crm.permissions import lead_scope

    if f is not None:
        start, end, channel_id, campaign_id = f.start, f.end, f.channel_id, f.campaign_id
    if not _settled.get():
        refresh()
    kinds = [kind] if isinstance(kind, str) else list(kind)
    qs = DailyCount.objects.filter(kind__in=kinds)
    scope = "all" if user is None else lead_scope(user)
    if scope != "all":
        qs = qs.filter(person=user) if scope == "own" else qs.none()
    qs = qs.filter(period(start, end) if within is None else within)
    if channel_id:
        qs = qs.filter(channel_id=channel_id)
    if campaign_id:
        qs = qs.filter(campaign_id=campaign_id)
    return qs
