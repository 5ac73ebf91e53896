"""Time from capture to first contact on the sales dashboard: exact medians per period and
per owner, read from the contact rollup's buckets rather than by sorting every lead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Case, Count, F, Q, QuerySet, Sum, Value, When, Window
from django.db.models.functions import RowNumber

from clm.filters import Filters, day_bounds
from crm import rollups
from crm.models import DailyCount
from crm.permissions import Viewer
from crm.sales_scope import scoped_leads, to_hours
from leads.models import Lead


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
        now=to_hours(periods.get("now")),
        before=to_hours(periods.get("before")),
        by_owner={owner: to_hours(median) for owner, median in owners.items()},
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
        now=to_hours(medians.get("now")),
        before=to_hours(medians.get("before")),
        by_owner={g: to_hours(m) for g, m in medians.items() if g not in ("now", "before")},
    )
