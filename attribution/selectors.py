"""Reads for attribution: journeys as DataFrames for the engine, runs, results and ROI."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db.models import Max, Q, QuerySet, Sum

from attribution.models import (
    AttributionRun,
    AttributionSummary,
    CreditLedger,
    Milestone,
    RunPartition,
)
from campaigns.models import Campaign, Channel, Spend
from clm.filters import days_and_months
from crm.models import AccountContact, Deal, DealContact
from leads.models import Lead, Touchpoint

TOUCH_COLUMNS = ["touch_id", "lead_id", "ts", "channel", "campaign_id", "is_lead_creation"]
CONVERSION_COLUMNS = [
    "conversion_id",
    "lead_id",
    "ts",
    "value_cents",
    "milestone",
    "opportunity_ts",
]


def _lead_range(field: str, lead_from: int, lead_to: int | None) -> Q:
    q = Q(**{f"{field}__gte": lead_from})
    if lead_to is not None:
        q &= Q(**{f"{field}__lt": lead_to})
    return q


def journey_touches(
    *,
    lead_from: int,
    lead_to: int | None,
    cutoff: datetime,
    also_leads: Iterable[int] = (),
) -> pd.DataFrame:
    """The touches that count in journeys for leads in [lead_from, lead_to) (and for the leads
    `also_leads`, whatever their partition: the other buyers of its deals in account scope).

    Page views that continue a visit (self-referrals: navigation within the site) are not new
    touches; form submissions, offline touches and page views that start a visit are.
    Late-stitched touches (an anonymous post's backdated views joined to a known lead) are
    nobody's word and get no credit.
    """
    whose = _lead_range("lead_id", lead_from, lead_to)
    extra = sorted(set(also_leads))
    if extra:
        whose |= Q(lead_id__in=extra)
    rows = (
        Touchpoint.objects.filter(whose, occurred_at__lte=cutoff, late_stitched=False)
        .exclude(kind=Touchpoint.Kind.PAGE_VIEW, self_referral=True)
        # In the engine's order (lead, time, id), so it need not sort them again.
        .order_by("lead_id", "occurred_at", "id")
        .values_list(
            "id",
            "lead_id",
            "occurred_at",
            "channel__name",
            "campaign_id",
            "lead__creation_touch_id",
        )
    )
    frame = pd.DataFrame.from_records(
        list(rows.iterator(chunk_size=20_000)),
        columns=["touch_id", "lead_id", "ts", "channel", "campaign_id", "creation_touch_id"],
    )
    frame["is_lead_creation"] = frame["touch_id"] == frame["creation_touch_id"]
    frame["campaign_id"] = frame["campaign_id"].astype("Int64")
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame[TOUCH_COLUMNS]


def _cents(amount: Decimal | None) -> int:
    return int((amount or Decimal(0)) * 100)


def journey_conversions(
    *, lead_from: int, lead_to: int | None, cutoff: datetime
) -> dict[str, pd.DataFrame]:
    """Conversions per milestone for leads in [lead_from, lead_to): lead created (value 0),
    opportunity created (pipeline value) and deal won (revenue)."""

    leads = Lead.objects.filter(_lead_range("id", lead_from, lead_to), created_at__lte=cutoff)
    records: dict[str, list[tuple]] = {m.value: [] for m in Milestone}
    for lead_id, created in leads.values_list("id", "created_at").iterator(chunk_size=20_000):
        records["lead"].append((lead_id, lead_id, created, 0, "lead", None))
    deals = Deal.objects.filter(_lead_range("lead_id", lead_from, lead_to)).values_list(
        "id", "lead_id", "amount", "opportunity_created_at", "closed_at", "stage__is_won"
    )
    for deal_id, lead_id, amount, opened, closed, won in deals.iterator(chunk_size=20_000):
        for milestone in _reached(opened, closed, won, cutoff):
            ts = opened if milestone == Milestone.OPPORTUNITY else closed
            records[milestone].append((deal_id, lead_id, ts, _cents(amount), milestone, opened))
    frames = {}
    for milestone, rows in records.items():
        frame = pd.DataFrame.from_records(rows, columns=CONVERSION_COLUMNS)
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        frame["opportunity_ts"] = pd.to_datetime(frame["opportunity_ts"], utc=True)
        frame["value_cents"] = frame["value_cents"].astype("int64")
        frames[milestone] = frame
    return frames


MEMBER_COLUMNS = ["conversion_id", "lead_id", "milestone"]


def _reached(
    opened: datetime | None, closed: datetime | None, won: bool, cutoff: datetime
) -> list[str]:
    """The deal milestones a deal reached by `cutoff` (as journey_conversions counts them)."""
    reached = []
    if opened and opened <= cutoff:
        reached.append(Milestone.OPPORTUNITY.value)
    if won and closed and closed <= cutoff:
        reached.append(Milestone.DEAL.value)
    return reached


def journey_members(
    *, lead_from: int, lead_to: int | None, cutoff: datetime, people: str
) -> pd.DataFrame:
    """Account scope: (deal id, lead id, milestone) of the other people whose touches count for
    a deal at a milestone it reached by `cutoff`, for every deal whose lead is in [lead_from,
    lead_to) and for every deal elsewhere that a person in that range buys for (such a person
    has no null path of their own: see attribution.engine). The deal's own lead has no row.

    `people` is AttributionRun.People: the deal's buying group (DealContact rows) or everyone
    in the deal's account (AccountContact rows).
    """
    in_range = _lead_range("lead_id", lead_from, lead_to)
    deal_fields = ("id", "lead_id", "opportunity_created_at", "closed_at", "stage__is_won")
    pairs: list[tuple[int, int]] = []
    if people == AttributionRun.People.ACCOUNT:
        mine = AccountContact.objects.filter(in_range).values("account_id")
        deals = Deal.objects.filter(account__isnull=False).filter(in_range | Q(account_id__in=mine))
        found = list(deals.values_list(*deal_fields, "account_id"))
        by_account: dict[int, list[int]] = {}
        contacts = AccountContact.objects.filter(
            account_id__in={row[-1] for row in found}
        ).values_list("account_id", "lead_id")
        for account_id, lead_id in contacts.iterator(chunk_size=20_000):
            by_account.setdefault(account_id, []).append(lead_id)
        deal_rows = {row[0]: row[1:-1] for row in found}
        pairs = [(row[0], lead) for row in found for lead in by_account.get(row[-1], ())]
    else:
        group = DealContact.objects.filter(
            _lead_range("deal__lead_id", lead_from, lead_to) | in_range
        ).values_list("deal_id", "lead_id")
        pairs = list(group.iterator(chunk_size=20_000))
        deal_rows = {
            row[0]: row[1:]
            for row in Deal.objects.filter(pk__in={d for d, _ in pairs}).values_list(*deal_fields)
        }
    records = [
        (deal_id, lead_id, milestone)
        for deal_id, lead_id in pairs
        if lead_id != deal_rows[deal_id][0]
        for milestone in _reached(*deal_rows[deal_id][1:], cutoff)
    ]
    frame = pd.DataFrame.from_records(records, columns=MEMBER_COLUMNS)
    frame[["conversion_id", "lead_id"]] = frame[["conversion_id", "lead_id"]].astype("int64")
    return frame.drop_duplicates().reset_index(drop=True)


def latest_run(*, model: str | None = None, scope: str = "contact") -> AttributionRun | None:
    """The newest finished run of a scope (covering `model` when given)."""
    runs = AttributionRun.objects.filter(status=AttributionRun.Status.DONE, scope=scope).order_by(
        "-finished_at", "-id"
    )
    if model is None:
        return runs.first()
    for run in runs[:20]:
        if model in run.model_names:
            return run
    return None


def run_version(run: AttributionRun) -> tuple[Any, ...]:
    """What a run's stored figures are at: its id, when it finished and its partitions' newest
    refresh (a refresh rewrites a lead's ledger and credits and stamps its partition), so a
    figure cached under it is replaced after every refresh and never otherwise."""
    refreshed = RunPartition.objects.filter(run=run).aggregate(at=Max("refreshed_at"))["at"]
    return (run.pk, run.finished_at, refreshed)


def run_in_progress(*, scope: str | None = None) -> AttributionRun | None:
    """The newest full run (of a scope, when given) that is queued or running, if any."""
    runs = AttributionRun.objects.filter(
        status__in=[AttributionRun.Status.QUEUED, AttributionRun.Status.RUNNING]
    )
    if scope is not None:
        runs = runs.filter(scope=scope)
    return runs.order_by("-id").first()


def run_progress(run: AttributionRun) -> dict[str, Any]:
    """Partitions done out of all, as a percentage, for progress bars."""
    parts = list(RunPartition.objects.filter(run=run).values_list("status", flat=True))
    two_stage = bool({"markov", "shapley"} & set(run.model_names))
    steps = len(parts) * (2 if two_stage else 1)
    done = sum(
        (2 if two_stage else 1) if s == "done" else (1 if s == "counted" else 0) for s in parts
    )
    percent = 100 if run.status == "done" else int(100 * done / steps) if steps else 0
    return {
        "id": run.pk,
        "status": run.status,
        "percent": percent,
        "partitions": len(parts),
        "partitions_done": sum(s == "done" for s in parts),
        "error": run.error,
    }


def results(
    *, run: AttributionRun, model: str, start: date | None = None, end: date | None = None
) -> QuerySet[AttributionSummary]:
    """The run's stored results for one model within [start, end] conversion days.

    Rows of the run's summary (month rows for the whole months, day rows for the rest): sum
    them, a key may have several rows.
    """
    return AttributionSummary.objects.filter(run=run, model=model).filter(
        days_and_months(start or None, end or None)
    )


def per_unit(spend: Decimal, count: float) -> Decimal | None:
    """spend / count to the cent, None when nothing was credited."""
    if not count or not spend:
        return None
    return (spend / Decimal(str(count))).quantize(Decimal("0.01"))


@dataclass
class RoiRow:
    """Spend against attributed outcomes for one channel or campaign."""

    key: int | None
    name: str
    channel: str
    spend: Decimal
    leads: float
    opportunities: float
    pipeline: Decimal
    deals: float
    revenue: Decimal

    @property
    def roi(self) -> float | None:
        """(revenue - spend) / spend."""
        return float((self.revenue - self.spend) / self.spend) if self.spend else None

    @property
    def roas(self) -> float | None:
        """revenue / spend."""
        return float(self.revenue / self.spend) if self.spend else None

    @property
    def cost_per_lead(self) -> Decimal | None:
        return per_unit(self.spend, self.leads)

    @property
    def cost_per_opportunity(self) -> Decimal | None:
        return per_unit(self.spend, self.opportunities)

    @property
    def cac(self) -> Decimal | None:
        """Customer acquisition cost: spend / credited won deals."""
        return per_unit(self.spend, self.deals)

    @property
    def lead_to_opportunity(self) -> float | None:
        return self.opportunities / self.leads if self.leads else None

    @property
    def opportunity_to_deal(self) -> float | None:
        return self.deals / self.opportunities if self.opportunities else None

    def as_dict(self) -> dict[str, Any]:
        money = lambda v: None if v is None else str(v)  # noqa: E731
        return {
            "key": self.key,
            "name": self.name,
            "channel": self.channel,
            "spend": money(self.spend),
            "leads": round(self.leads, 4),
            "opportunities": round(self.opportunities, 4),
            "pipeline": money(self.pipeline),
            "deals": round(self.deals, 4),
            "revenue": money(self.revenue),
            "roi": None if self.roi is None else round(self.roi, 4),
            "roas": None if self.roas is None else round(self.roas, 4),
            "cost_per_lead": money(self.cost_per_lead),
            "cost_per_opportunity": money(self.cost_per_opportunity),
            "cac": money(self.cac),
            "lead_to_opportunity": None
            if self.lead_to_opportunity is None
            else round(self.lead_to_opportunity, 4),
            "opportunity_to_deal": None
            if self.opportunity_to_deal is None
            else round(self.opportunity_to_deal, 4),
        }


def _money(cents: int) -> Decimal:
    return (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def roi_rows(
    *,
    run: AttributionRun | None,
    model: str,
    start: date | None = None,
    end: date | None = None,
    group_by: str = "channel",
) -> list[RoiRow]:
    """ROI per channel or campaign: spend in [start, end] against outcomes credited to it."""

    if group_by not in ("channel", "campaign"):
        raise ValueError("group_by is channel or campaign")
    key = "channel_id" if group_by == "channel" else "campaign_id"
    outcome: dict[int | None, dict[str, Any]] = {}
    if run is not None:
        rows = (
            results(run=run, model=model, start=start, end=end)
            .values(key, "milestone")
            .annotate(conversions=Sum("conversions"), value=Sum("value_cents"))
        )
        for row in rows:
            slot = outcome.setdefault(row[key], {})
            slot[row["milestone"]] = (row["conversions"] or 0.0, row["value"] or 0)
    spend_q = Spend.objects.all()
    if start:
        spend_q = spend_q.filter(date__gte=start)
    if end:
        spend_q = spend_q.filter(date__lte=end)
    spend_key = "campaign__channel_id" if group_by == "channel" else "campaign_id"
    spend = {
        row[spend_key]: row["total"] or Decimal(0)
        for row in spend_q.values(spend_key).annotate(total=Sum("amount"))
    }
    keys = set(outcome) | set(spend)
    if group_by == "channel":
        names = {c.pk: (c.name, c.name) for c in Channel.objects.filter(pk__in=keys - {None})}
    else:
        names = {
            c.pk: (c.name, c.channel.name if c.channel else "")
            for c in Campaign.objects.filter(pk__in=keys - {None}).select_related("channel")
        }
    out = []
    for k in keys:
        got = outcome.get(k, {})
        name, channel = names.get(k, ("(no campaign)" if group_by == "campaign" else "?", ""))
        out.append(
            RoiRow(
                key=k,
                name=name,
                channel=channel,
                spend=Decimal(spend.get(k, 0)).quantize(Decimal("0.01")),
                leads=got.get("lead", (0.0, 0))[0],
                opportunities=got.get("opportunity", (0.0, 0))[0],
                pipeline=_money(got.get("opportunity", (0.0, 0))[1]),
                deals=got.get("deal", (0.0, 0))[0],
                revenue=_money(got.get("deal", (0.0, 0))[1]),
            )
        )
    out.sort(key=lambda r: (-r.revenue, -r.spend, r.name))
    return out


def credited_revenue_of_touches(
    *, touch_ids: Iterable[int], model: str
) -> tuple[AttributionRun | None, dict[int, int]]:
    """The latest finished run of `model` and the revenue (cents) it credits each touch."""
    run = latest_run(model=model)
    found: dict[int, int] = {}
    if run is None:
        return None, found
    ids = list(touch_ids)
    for start in range(0, len(ids), 5000):
        rows = (
            CreditLedger.objects.filter(
                run=run, model=model, touchpoint_id__in=ids[start : start + 5000]
            )
            .values_list("touchpoint_id")
            .annotate(cents=Sum("value_cents"))
        )
        found.update(dict(rows))
    return run, found
