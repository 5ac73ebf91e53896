"""Every write to channels, rules, campaigns and spend goes through here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from campaigns.links import Seen
from campaigns.models import Campaign, Channel, ChannelRule, Spend
from campaigns.rules import bump_rules_version
from clm import events
from clm.events import CampaignSaved
from clm.localcache import forget


def _after_commit_bump() -> None:
    # Now, so this transaction classifies with its own edit; again after commit, so a process
    # that recompiled from the not-yet-committed state in between compiles once more.
    bump_rules_version()
    transaction.on_commit(bump_rules_version)


@transaction.atomic
def channel_rule_save(*, rule: ChannelRule) -> ChannelRule:
    """Validate and save a rule; every process picks up the change."""
    rule.full_clean()
    rule.save()
    _after_commit_bump()
    return rule


@transaction.atomic
def channel_rule_delete(*, rule: ChannelRule) -> None:
    """Delete a rule; every process picks up the change."""
    rule.delete()
    _after_commit_bump()


@transaction.atomic
def channel_save(*, channel: Channel) -> Channel:
    """Validate and save a channel."""
    channel.full_clean()
    channel.save()
    _after_commit_bump()
    return channel


@transaction.atomic
def campaign_save(*, campaign: Campaign) -> Campaign:
    """Validate and save a campaign, then link stored touches that carry its UTM values."""
    campaign.full_clean()
    campaign.save()
    bump_campaign_version()
    transaction.on_commit(bump_campaign_version)
    # leads links the stored touches that carry its UTM values (in this transaction).
    events.announce(
        CampaignSaved(
            campaign_id=campaign.pk,
            utm_campaign=campaign.utm_campaign,
            utm_source=campaign.utm_source,
            utm_medium=campaign.utm_medium,
        )
    )
    return campaign


@transaction.atomic
def campaign_ensure(
    *, utm_campaign: str, name: str, channel_name: str = "", utm_source: str = "",
    utm_medium: str = "", owner: Any = None,
) -> tuple[Campaign, bool]:  # fmt: skip
    """The campaign that claims touches tagged `utm_campaign` (with this source and medium),
    registered when none does, so our own tagged traffic (nurture emails) is never untracked.
    Returns the campaign and whether it was created; a second call changes nothing."""
    value = utm_campaign.strip().lower()
    if not value:
        raise ValueError("utm_campaign is empty")
    claims = Campaign.objects.filter(
        utm_campaign__iexact=value,
        utm_source__in=["", utm_source.strip().lower()],
        utm_medium__in=["", utm_medium.strip().lower()],
    ).first()
    if claims is not None:
        return claims, False
    campaign = Campaign(
        name=name.strip()[:200] or value,
        utm_campaign=value,
        channel=Channel.objects.filter(name=channel_name).first() if channel_name else None,
        owner=owner,
        status=Campaign.Status.ACTIVE,
    )
    return campaign_save(campaign=campaign), True


CAMPAIGN_VERSION_KEY = "campaigns:campaign-version"


def bump_campaign_version() -> None:
    """Make every process reload the UTM -> campaign map."""
    import time

    from django.core.cache import cache

    cache.set(CAMPAIGN_VERSION_KEY, str(time.time_ns()), None)
    forget("campaign-version")


@dataclass(frozen=True, slots=True)
class SpendRow:
    """One day's cost of one campaign, as any importer or the API hands it over."""

    campaign_id: int
    date: date
    amount: Decimal
    currency: str
    impressions: int = 0
    clicks: int = 0


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What an upsert of spend rows did."""

    created: int
    updated: int
    unchanged: int


@transaction.atomic
def spend_upsert(*, rows: Iterable[SpendRow], source: str) -> UpsertResult:
    """Insert or update spend on (campaign, date, source); identical rows change nothing.

    Rows repeating a (campaign, date) key within one call are summed first (an export may split
    one day into several lines, e.g. per ad group).
    """
    merged: dict[tuple[int, date], SpendRow] = {}
    for row in rows:
        key = (row.campaign_id, row.date)
        if key in merged:
            prev = merged[key]
            row = SpendRow(
                row.campaign_id,
                row.date,
                prev.amount + row.amount,
                row.currency,
                prev.impressions + row.impressions,
                prev.clicks + row.clicks,
            )
        merged[key] = row
    if not merged:
        return UpsertResult(0, 0, 0)
    campaign_ids = {k[0] for k in merged}
    dates = [k[1] for k in merged]
    existing = {
        (s.campaign_id, s.date): s
        for s in Spend.objects.select_for_update().filter(
            source=source,
            campaign_id__in=campaign_ids,
            date__gte=min(dates),
            date__lte=max(dates),
        )
    }
    to_create, to_update, unchanged = [], [], 0
    now = timezone.now()
    for key, row in merged.items():
        current = existing.get(key)
        if current is None:
            to_create.append(
                Spend(
                    campaign_id=row.campaign_id,
                    date=row.date,
                    amount=row.amount,
                    currency=row.currency,
                    impressions=row.impressions,
                    clicks=row.clicks,
                    source=source,
                )
            )
            continue
        values = (row.amount, row.currency, row.impressions, row.clicks)
        if (current.amount, current.currency, current.impressions, current.clicks) == values:
            unchanged += 1
            continue
        current.amount, current.currency, current.impressions, current.clicks = values
        current.updated_at = now
        to_update.append(current)
    Spend.objects.bulk_create(to_create, batch_size=2000)
    Spend.objects.bulk_update(
        to_update, ["amount", "currency", "impressions", "clicks", "updated_at"], batch_size=2000
    )
    return UpsertResult(len(to_create), len(to_update), unchanged)


class TrackedLinkRefused(ValueError):
    """A placement that breaks the UTM rules; `check.errors` says why per field."""

    def __init__(self, check: Any) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in check.errors.items()))
        self.check = check


@transaction.atomic
def tracked_link_create(
    *,
    campaign: Campaign,
    destination: str,
    source: str,
    medium: str,
    content: str = "",
    term: str = "",
    by: Any = None,
    seen: Seen,
) -> tuple[Any, list[str]]:
    """A tracked link for one placement of a campaign, with the warnings it raised.

    Values are lower-cased; the link must classify into the campaign's channel (the real
    channel rules decide), else TrackedLinkRefused. The same placement again returns the link
    that exists. `seen` gives the sources and mediums on stored traffic (near-twins of them warn).
    """
    from campaigns.links import check_link
    from campaigns.models import TrackedLink

    check, values = check_link(
        campaign=campaign, destination=destination, source=source, medium=medium,
        content=content, term=term, seen=seen,
    )  # fmt: skip
    if not check.ok:
        raise TrackedLinkRefused(check)
    link, _created = TrackedLink.objects.get_or_create(
        campaign=campaign,
        destination=destination.strip(),
        **values,
        defaults={"created_by": by},
    )
    return link, check.warnings
