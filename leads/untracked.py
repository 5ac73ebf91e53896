"""UTM campaigns seen on touches that no registered campaign claims: listed on the campaigns
page, and registered in one step in the channel most of their touches have. Touches are leads',
so this sits here and calls campaigns down (campaign_save links the touches back)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min

from campaigns.models import Campaign
from campaigns.services import campaign_save
from leads.models import Touchpoint


def untracked_campaigns(limit: int = 50) -> list[dict[str, Any]]:
    """utm_campaign values seen on touches that no registered campaign claims."""
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


@transaction.atomic
def campaign_register_untracked(*, utm_campaign: str, owner: Any = None) -> Campaign:
    """Register a utm_campaign seen on touches as a campaign, in the channel most of them have."""
    value = utm_campaign.strip().lower()
    if not value:
        raise ValueError("utm_campaign is empty")
    if Campaign.objects.filter(utm_campaign=value, utm_source="", utm_medium="").exists():
        raise ValueError(f"campaign {value!r} is registered already")
    top = (
        Touchpoint.objects.filter(utm_campaign__iexact=value)
        .values("channel")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    campaign = Campaign(
        name=value.replace("_", " ").replace("-", " ").strip().title() or value,
        utm_campaign=value,
        channel_id=top["channel"] if top else None,
        owner=owner,
        status=Campaign.Status.ACTIVE,
    )
    return campaign_save(campaign=campaign)
