"""Reads of channels, campaigns and spend beyond a plain .get()."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, QuerySet, Sum

from campaigns.colours import FALLBACK
from campaigns.models import Campaign, Channel, Spend
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


def channel_colours() -> dict[str, str]:
    """Each channel's fixed chart colour by name (every chart colours a channel this way)."""
    return {
        name: colour or FALLBACK for name, colour in Channel.objects.values_list("name", "color")
    }


def figures_version() -> tuple[Any, ...]:
    """What a dashboard figure built from spend, channels and campaigns reads, as a key part:
    spend's newest change and row count (a deleted row changes the count; every write of a
    row stamps updated_at), and a digest of the channels' and campaigns' names, colours,
    order, activity and grouping. Three small reads, whatever the number of leads."""
    import hashlib

    spend = Spend.objects.aggregate(at=Max("updated_at"), n=Count("id"))
    setup = repr(
        (
            list(
                Channel.objects.order_by("id").values_list(
                    "id", "name", "color", "display_order", "is_active", "is_paid"
                )
            ),
            list(Campaign.objects.order_by("id").values_list("id", "name", "channel_id")),
        )
    )
    return (spend["at"], spend["n"], hashlib.sha256(setup.encode()).hexdigest()[:16])
