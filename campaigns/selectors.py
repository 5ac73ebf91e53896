"""Reads of channels, campaigns and spend beyond a plain .get()."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Min, QuerySet, Sum

from campaigns.models import Campaign, Spend
from clm.localcache import remember

_campaign_map: dict[str, Any] = {"version": None, "map": {}}


def _campaign_lookup() -> dict[str, list[tuple[str, str, int]]]:
    from campaigns.services import CAMPAIGN_VERSION_KEY

    version = remember("campaign-version", 1.0, lambda: cache.get(CAMPAIGN_VERSION_KEY))
    if version is None:
        # A lost or empty cache: start a new version so all processes rebuild once.
        import time

        cache.add(CAMPAIGN_VERSION_KEY, str(time.time_ns()), None)
        version = cache.get(CAMPAIGN_VERSION_KEY)
    if version is None or version != _campaign_map["version"]:
        lookup: dict[str, list[tuple[str, str, int]]] = {}
        rows = Campaign.objects.values_list("utm_campaign", "utm_source", "utm_medium", "id")
        for utm_campaign, source, medium, pk in rows:
            lookup.setdefault(utm_campaign, []).append((source, medium, pk))
        for candidates in lookup.values():
            # The most specific campaign (source and medium set) is tried first.
            candidates.sort(key=lambda c: (not c[0], not c[1]))
        _campaign_map["map"] = lookup
        _campaign_map["version"] = version
    return _campaign_map["map"]


def campaign_id_for(*, utm_campaign: str, source: str = "", medium: str = "") -> int | None:
    """The campaign a touch with these UTM values belongs to, the most specific first."""
    key = (utm_campaign or "").strip().lower()
    if not key:
        return None
    for c_source, c_medium, pk in _campaign_lookup().get(key, ()):
        if c_source and c_source != (source or "").strip().lower():
            continue
        if c_medium and c_medium != (medium or "").strip().lower():
            continue
        return pk
    return None


def untracked_campaigns(limit: int = 50) -> list[dict[str, Any]]:
    """utm_campaign values seen on touches that no registered campaign claims."""
    from leads.models import Touchpoint

    rows = (
        Touchpoint.objects.filter(campaign__isnull=True)
        .exclude(utm_campaign="")
        .values("utm_campaign")
        .annotate(
            touches=Count("id"),
            leads=Count("lead", distinct=True),
            first_seen=Min("occurred_at"),
            last_seen=Max("occurred_at"),
        )
        .order_by("-touches")[:limit]
    )
    return list(rows)


def campaigns_with_spend(*, start: Any = None, end: Any = None) -> QuerySet[Campaign]:
    """Campaigns with their channel, owner and spend total (optionally within dates)."""
    spend_filter: dict[str, Any] = {}
    if start:
        spend_filter["spend__date__gte"] = start
    if end:
        spend_filter["spend__date__lte"] = end
    from django.db.models import Q

    return (
        Campaign.objects.select_related("channel", "owner")
        .annotate(
            spend_total=Sum("spend__amount", filter=Q(**spend_filter) if spend_filter else None),
            spend_days=Count("spend__date", distinct=True),
        )
        .order_by("-start_date", "name")
    )


def spend_daily(*, campaign_ids: list[int] | None = None) -> QuerySet[Spend]:
    """Spend rows, newest first."""
    qs = Spend.objects.select_related("campaign")
    if campaign_ids is not None:
        qs = qs.filter(campaign_id__in=campaign_ids)
    return qs


@dataclass
class LinkStats:
    """What one tracked link brought in: visits, leads, and won revenue of those leads."""

    link: Any
    visits: int = 0
    leads: int = 0
    won_deals: int = 0
    revenue: Any = 0


def tracked_link_stats(*, campaign: Campaign) -> list[LinkStats]:
    """The campaign's links with their visits, leads and won revenue, in three queries.

    A touchpoint belongs to a link when its utm_campaign/source/medium/content/term equal the
    link's (case-insensitive). Visits are page views that start a visit; leads are the distinct
    leads with any such touch; revenue is their won deals. A lead reached by two links counts
    in both, so the rows do not add up to the campaign total.
    """
    from decimal import Decimal

    from django.db.models import Q
    from django.db.models.functions import Lower

    from crm.models import Deal
    from leads.models import Touchpoint

    links = list(campaign.links.select_related("created_by"))
    if not links:
        return []
    by_key = {(lk.source, lk.medium, lk.content, lk.term): LinkStats(link=lk) for lk in links}
    rows = (
        Touchpoint.objects.filter(utm_campaign__iexact=campaign.utm_campaign)
        .annotate(
            s=Lower("utm_source"),
            m=Lower("utm_medium"),
            c=Lower("utm_content"),
            t=Lower("utm_term"),
        )
        .values("s", "m", "c", "t", "lead_id")
        .annotate(visits=Count("id", filter=Q(kind=Touchpoint.Kind.PAGE_VIEW, self_referral=False)))
    )
    leads_of: dict[tuple[str, str, str, str], set[int]] = {}
    for row in rows:
        stats = by_key.get((row["s"], row["m"], row["c"], row["t"]))
        if stats is None:
            continue
        stats.visits += row["visits"]
        if row["lead_id"]:
            leads_of.setdefault((row["s"], row["m"], row["c"], row["t"]), set()).add(row["lead_id"])
    all_leads = set().union(*leads_of.values()) if leads_of else set()
    revenue: dict[int, tuple[int, Decimal]] = {}
    if all_leads:
        won = (
            Deal.objects.filter(lead_id__in=sorted(all_leads), stage__is_won=True)
            .values("lead_id")
            .annotate(n=Count("id"), total=Sum("amount"))
        )
        revenue = {r["lead_id"]: (r["n"], r["total"] or Decimal(0)) for r in won}
    for key, lead_ids in leads_of.items():
        stats = by_key[key]
        stats.leads = len(lead_ids)
        stats.won_deals = sum(revenue.get(pk, (0, 0))[0] for pk in lead_ids)
        stats.revenue = sum((revenue.get(pk, (0, Decimal(0)))[1] for pk in lead_ids), Decimal(0))
    return [by_key[(lk.source, lk.medium, lk.content, lk.term)] for lk in links]
