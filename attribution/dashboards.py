"""What the marketing dashboard shows, read from stored run results and spend only.

Never touches raw touchpoints: every figure is an aggregate over the run's AttributionSummary,
Spend or the per-deal CreditLedger, so the page stays fast whatever the traffic.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.http import QueryDict
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from attribution import charts, engine, selectors
from attribution.models import AttributionRun, AttributionSummary, CreditLedger
from attribution.self_reported import against_credited
from campaigns import selectors as campaign_selectors
from campaigns.models import Campaign, Channel, Spend
from clm.dashcache import cached_figure
from clm.filters import Filters, day_bounds, days_and_months, parse_filters
from crm import rollups
from crm.models import DailyCount
from crm.selectors import deals_visible_to
from leads.models import Lead


def _results(
    run: AttributionRun,
    f: Filters,
    start: date,
    end: date,
    model: str | None = None,
    by_day: bool = False,
):
    """Summary rows of [start, end]: month rows for whole months unless `by_day`."""
    qs = AttributionSummary.objects.filter(run=run, model=model or f.model).filter(
        Q(monthly=False, day__gte=start, day__lte=end) if by_day else days_and_months(start, end)
    )
    if f.channel_id:
        qs = qs.filter(channel_id=f.channel_id)
    if f.campaign_id:
        qs = qs.filter(campaign_id=f.campaign_id)
    return qs


def _spend(f: Filters, start: date, end: date) -> QuerySet[Spend]:
    qs = Spend.objects.filter(date__gte=start, date__lte=end)
    if f.channel_id:
        qs = qs.filter(campaign__channel_id=f.channel_id)
    if f.campaign_id:
        qs = qs.filter(campaign_id=f.campaign_id)
    return qs


def totals(run: AttributionRun | None, f: Filters, start: date, end: date) -> selectors.RoiRow:
    """Spend and credited outcomes over [start, end]."""
    by_milestone: dict[str, tuple[float, int]] = {}
    if run is not None:
        rows = (
            _results(run, f, start, end)
            .values("milestone")
            .annotate(c=Sum("conversions"), v=Sum("value_cents"))
        )
        by_milestone = {r["milestone"]: (r["c"] or 0.0, r["v"] or 0) for r in rows}
    spend = _spend(f, start, end).aggregate(s=Sum("amount"))["s"] or Decimal(0)

    def money(cents: int) -> Decimal:
        return (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))

    return selectors.RoiRow(
        key=None,
        name="Total",
        channel="",
        spend=Decimal(spend).quantize(Decimal("0.01")),
        leads=by_milestone.get("lead", (0.0, 0))[0],
        opportunities=by_milestone.get("opportunity", (0.0, 0))[0],
        pipeline=money(by_milestone.get("opportunity", (0.0, 0))[1]),
        deals=by_milestone.get("deal", (0.0, 0))[0],
        revenue=money(by_milestone.get("deal", (0.0, 0))[1]),
    )


def _change(now: Any, before: Any) -> float | None:
    if now is None or before in (None, 0):
        return None
    return float((Decimal(str(now)) - Decimal(str(before))) / abs(Decimal(str(before))))


def kpi_tiles(run: AttributionRun | None, f: Filters) -> list[dict[str, Any]]:
    """The KPI tiles with their change against the previous period of the same length."""
    now = totals(run, f, f.start, f.end)
    before = totals(run, f, *f.previous)
    # (label, attribute, kind, whether a rise is good)
    spec = [
        (_("Spend"), "spend", "money", None),
        (_("Leads"), "leads", "count", True),
        (_("Pipeline"), "pipeline", "money", True),
        (_("Revenue"), "revenue", "money", True),
        (_("ROI"), "roi", "percent", True),
        (_("ROAS"), "roas", "ratio", True),
        (_("Cost per lead"), "cost_per_lead", "money", False),
        (_("CAC"), "cac", "money", False),
    ]
    tiles = []
    for label, attr, kind, rise_is_good in spec:
        value, previous = getattr(now, attr), getattr(before, attr)
        change = _change(value, previous)
        # A change that shows as 0% is neither good nor bad news.
        flat = change is None or round(change * 100) == 0
        good = None if flat or rise_is_good is None else (change > 0) == rise_is_good
        tiles.append(
            {"label": label, "key": attr, "value": value, "kind": kind, "change": change,
             "good": good}
        )  # fmt: skip
    return tiles


def roi_rows(run: AttributionRun | None, f: Filters, group_by: str) -> list[selectors.RoiRow]:
    """ROI rows per channel or campaign, narrowed to the filter's channel and campaign."""
    rows = selectors.roi_rows(run=run, model=f.model, start=f.start, end=f.end, group_by=group_by)
    if group_by == "channel" and f.channel_id:
        rows = [r for r in rows if r.key == f.channel_id]
    if group_by == "campaign":
        if f.campaign_id:
            rows = [r for r in rows if r.key == f.campaign_id]
        elif f.channel_id:
            ids = set(Campaign.objects.filter(channel_id=f.channel_id).values_list("id", flat=True))
            rows = [r for r in rows if r.key in ids]
    return rows


NO_CAMPAIGN = _("(no campaign)")


def revenue_over_time(
    run: AttributionRun | None, f: Filters, by: str = "channel"
) -> dict[str, dict[date, float]]:
    """Credited revenue per channel (or campaign) per week (weeks start on Monday)."""
    out: dict[str, dict[date, float]] = defaultdict(dict)
    if run is None:
        return out
    name = f"{by}__name"
    rows = (
        _results(run, f, f.start, f.end, by_day=True)
        .filter(milestone="deal")
        .annotate(week=TruncWeek("day"))
        .values("week", name)
        .annotate(v=Sum("value_cents"))
        .order_by("week")
    )
    for r in rows:
        week = r["week"].date() if hasattr(r["week"], "date") else r["week"]
        out[r[name] or str(NO_CAMPAIGN)][week] = (r["v"] or 0) / 100
    return out


def model_comparison(
    run: AttributionRun | None, f: Filters, by: str = "channel"
) -> dict[str, dict[str, float]]:
    """Each channel's (or campaign's) credited revenue under every model of the run:
    model -> channel -> value."""
    out: dict[str, dict[str, float]] = {}
    if run is None:
        return out
    qs = AttributionSummary.objects.filter(run=run, milestone="deal").filter(
        days_and_months(f.start, f.end)
    )
    if f.campaign_id:
        qs = qs.filter(campaign_id=f.campaign_id)
    if by == "campaign" and f.channel_id:
        qs = qs.filter(channel_id=f.channel_id)
    name = f"{by}__name"
    for r in qs.values("model", name).annotate(v=Sum("value_cents")):
        out.setdefault(r["model"], {})[r[name] or str(NO_CAMPAIGN)] = (r["v"] or 0) / 100
    return {m: out.get(m, {}) for m in run.model_names}


def funnel_by_channel(
    run: AttributionRun | None, f: Filters, by: str = "channel"
) -> list[dict[str, Any]]:
    """Credited leads, qualified leads (first touch), opportunities and won deals per channel
    (or campaign, each with its channel as "parent").

    Qualified: the leads that entered the qualified stage in the period, per first-touch
    channel, from the daily rollup of stage changes (narrowed to the channel and campaign).
    """

    if run is None:
        return []
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    parents: dict[str, str] = {}
    field = f"{by}__name"
    for r in (
        _results(run, f, f.start, f.end)
        .values(field, "channel__name", "milestone")
        .annotate(c=Sum("conversions"))
    ):
        name = r[field] or str(NO_CAMPAIGN)
        counts[name][r["milestone"]] += r["c"] or 0.0
        parents[name] = r["channel__name"] or ""
    qualified = (
        rollups.counts(DailyCount.Kind.STAGE, f=f)
        .filter(key=Lead.Stage.QUALIFIED)
        .values(field)
        .annotate(n=Sum("count"))
        .order_by()
    )  # fmt: skip
    for r in qualified:
        name = r[field]
        if name:
            counts[name]["qualified"] += r["n"] or 0
    rows = [
        {
            "channel": name,
            "parent": parents.get(name, ""),
            "leads": c.get("lead", 0.0),
            "qualified": c.get("qualified", 0.0),
            "opportunities": c.get("opportunity", 0.0),
            "won": c.get("deal", 0.0),
        }
        for name, c in counts.items()
    ]
    rows.sort(key=lambda r: -r["leads"])
    return rows


def run_figures(
    run: AttributionRun | None, f: Filters, *, by: str, currency: str
) -> dict[str, Any]:
    """The marketing dashboard's figures that read only the run's summary, spend, channels and
    campaigns: the KPI tiles, the ROI rows and the ROI, spend, revenue-over-time and model
    charts. Cached per run version, spend and setup (campaigns.selectors.figures_version),
    language and filters: a new lead, a call or a rating changes none of them, so the first
    view after one rebuilds only the figures that read leads and activities."""

    def build() -> dict[str, Any]:
        colours = channel_colors()
        channels = roi_rows(run, f, "channel")
        campaigns = roi_rows(run, f, "campaign")
        parts = campaigns if by == "campaign" else channels
        return {
            "tiles": kpi_tiles(run, f),
            "channel_rows": channels,
            "campaign_rows": campaigns,
            "roi": charts.roi_by_channel(parts, currency, colours, by=by),
            "spend_revenue": charts.spend_vs_revenue(parts, currency, colours, by=by),
            "revenue_time": charts.revenue_over_time(
                revenue_over_time(run, f, by=by),
                colours if by == "channel" else {},
                currency=currency,
                start=f.start,
                end=f.end,
            ),
            "models": charts.model_comparison(model_comparison(run, f, by=by), currency, by=by),
        }

    version = (
        selectors.run_version(run) if run is not None else None,
        campaign_selectors.figures_version(),
        translation.get_language() or "en",
        currency,
    )
    query = repr((f.start, f.end, f.previous, f.channel_id, f.campaign_id, f.model, by))
    return cached_figure("marketing-run", version, query, build)


def top_paths(run: AttributionRun | None, f: Filters, limit: int = 10) -> list[dict[str, Any]]:
    """The channel paths of won deals that converted most often, with their revenue.

    The tally reads the run's ledger only: it is cached per run version (its refreshes) and
    period and channel, so a new lead or an edit elsewhere does not recount it (and the run's
    end counts the default view's, warm_figures)."""
    if run is None or not run.model_names:
        return []
    query = repr((f.start, f.end, f.channel_id, limit))
    tally = cached_figure(
        "top-paths", selectors.run_version(run), query, lambda: _path_tally(run, f, limit)
    )
    names = dict(Channel.objects.values_list("id", "name"))
    return [
        {"path": [names.get(c, "") for c in path], "deals": n, "revenue": cents / 100}
        for path, n, cents in tally
    ]


def warm_figures() -> None:
    """Count the run-keyed figures of the marketing dashboard's default view (no filter in
    the address) for the newest contact run: the first view after a run or refresh reads
    them from the cache (clm.dashcache.cached_figure)."""
    f = parse_filters(QueryDict(""), models=engine.MODELS)
    run = selectors.latest_run(model=f.model)
    if run is None:
        return
    top_paths(run, f)
    against_credited(run, f, {})
    with translation.override(settings.LANGUAGE_CODE):
        run_figures(run, f, by=breakdown(f), currency=settings.CLM_CURRENCY)


def _path_tally(
    run: AttributionRun, f: Filters, limit: int
) -> list[tuple[tuple[int, ...], int, int]]:
    """(channel ids of the path, won deals, revenue in cents), most frequent first."""
    start_at, end_at = day_bounds(f.start, f.end)
    # Linear credits every touch of a journey (first touch only its first): its ledger rows
    # are the whole path.
    model = "linear" if "linear" in run.model_names else run.model_names[0]
    ledger = CreditLedger.objects.filter(
        run=run,
        model=model,
        deal__closed_at__gte=start_at,
        deal__closed_at__lt=end_at,
    )
    if f.channel_id:
        ledger = ledger.filter(
            deal_id__in=CreditLedger.objects.filter(
                run=run, model=model, channel_id=f.channel_id
            ).values("deal_id")
        )
    # Channel ids, not names: no join, and a tenth of the bytes for ~25,000 ledger rows.
    paths: dict[int, list[int]] = defaultdict(list)
    revenue: dict[int, int] = defaultdict(int)
    for deal_id, channel_id, cents in ledger.order_by("deal_id", "position").values_list(
        "deal_id", "channel_id", "value_cents"
    ):
        if not paths[deal_id] or paths[deal_id][-1] != channel_id:
            paths[deal_id].append(channel_id)
        revenue[deal_id] += cents
    tally: Counter[tuple[int, ...]] = Counter()
    money: dict[tuple[int, ...], int] = defaultdict(int)
    for deal_id, path in paths.items():
        key = tuple(path)
        tally[key] += 1
        money[key] += revenue[deal_id]
    return [(path, n, money[path]) for path, n in tally.most_common(limit)]


def deals_behind(
    run: AttributionRun | None, f: Filters, *, user: Any, limit: int = 200
) -> list[dict[str, Any]]:
    """The won deals credited to the filter's channel/campaign, with the credit they gave it."""

    if run is None:
        return []
    start_at, end_at = day_bounds(f.start, f.end)
    ledger = CreditLedger.objects.filter(
        run=run,
        model=f.model,
        deal__closed_at__gte=start_at,
        deal__closed_at__lt=end_at,
        deal__in=deals_visible_to(user),
    )
    if f.channel_id:
        ledger = ledger.filter(channel_id=f.channel_id)
    if f.campaign_id:
        ledger = ledger.filter(campaign_id=f.campaign_id)
    rows = (
        ledger.values(
            "deal_id", "deal__name", "deal__amount", "deal__closed_at", "lead_id",
            "deal__lead__email", "deal__lead__first_name", "deal__lead__last_name",
        )
        .annotate(credit=Sum("value_cents"), share=Sum("share"))
        .order_by("-credit")[:limit]
    )  # fmt: skip
    return [
        {
            "deal_id": r["deal_id"],
            "deal": r["deal__name"],
            "amount": r["deal__amount"],
            "closed_at": r["deal__closed_at"],
            "lead_id": r["lead_id"],
            "lead": f"{r['deal__lead__first_name']} {r['deal__lead__last_name']}".strip()
            or r["deal__lead__email"],
            "credit": Decimal(r["credit"] or 0) / 100,
            "share": r["share"] or 0.0,
        }
        for r in rows
    ]


def filter_choices() -> dict[str, Any]:
    """Channels and campaigns for the filter bar."""
    return {
        "channels": list(Channel.objects.filter(is_active=True).values("id", "name")),
        "campaigns": list(Campaign.objects.order_by("name").values("id", "name", "channel_id")),
    }


def channel_colors() -> dict[str, str]:
    """Chart colour per channel name."""
    return campaign_selectors.channel_colours()


def breakdown(f: Filters) -> str:
    """What the "by channel" figures break down by: campaigns when one channel is filtered."""
    return "campaign" if f.channel_id and not f.campaign_id else "channel"


def running_run() -> AttributionRun | None:
    """A run in progress, if any."""
    return selectors.run_in_progress()
