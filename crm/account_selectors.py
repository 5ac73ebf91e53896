"""Reads of accounts: who sees which, the list with its filters, and the account page (the
combined journey of its people, its deals with their buying groups, its engagement)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from clm import roles
from crm.models import Account, AccountContact, AccountDomain, Activity, Deal, DealContact
from crm.permissions import Viewer
from leads.models import Lead, Touchpoint
from leads.selectors import leads_visible_to

# The account page shows at most this many of the newest journey entries.
JOURNEY_LIMIT = 300
ENGAGEMENT_DAYS = (30, 90)


def accounts_visible_to(user: Viewer) -> QuerySet[Account]:
    """Admins, managers and marketers see every account; a rep the accounts they own or in
    which they own a lead; anyone else none."""
    scope = roles.lead_scope(user)
    if scope == "all":
        return Account.objects.all()
    if scope == "own":
        theirs = AccountContact.objects.filter(account=OuterRef("pk"), lead__owner=user)
        return Account.objects.filter(Q(owner=user) | Exists(theirs))
    return Account.objects.none()


def accounts_search(accounts: QuerySet[Account], q: str) -> QuerySet[Account]:
    """The accounts whose name or one of whose domains contains `q` (all when empty)."""
    if not q:
        return accounts
    in_domains = AccountDomain.objects.filter(account=OuterRef("pk"), domain__icontains=q)
    return accounts.filter(Q(name__icontains=q) | Exists(in_domains))


def account_list(
    *,
    user: Viewer,
    q: str = "",
    owner_id: int | None = None,
    tier: str = "",
    target: bool | None = None,
) -> QuerySet[Account]:
    """The visible accounts matching the filters, with their contact and open-deal counts."""
    accounts = accounts_search(accounts_visible_to(user), q)
    if owner_id is not None:
        accounts = accounts.filter(owner_id=owner_id)
    if tier:
        accounts = accounts.filter(tier=tier)
    if target is not None:
        accounts = accounts.filter(is_target=target)
    return (
        accounts.select_related("owner")
        .prefetch_related("domains")
        .annotate(
            contact_count=Count("contacts", distinct=True),
            open_deal_count=Count("deals", filter=Q(deals__closed_at__isnull=True), distinct=True),
        )
        .order_by("name", "id")
    )


@dataclass(frozen=True)
class JourneyEntry:
    """A touchpoint or an activity of one of the account's people."""

    at: datetime
    lead: Lead
    touch: Touchpoint | None = None
    activity: Activity | None = None


@dataclass
class AccountPage:
    account: Account
    contacts: list[AccountContact]
    journey: list[JourneyEntry]
    journey_truncated: bool
    deals: list[Deal]
    touches_30: int
    touches_90: int
    engaged_contacts: int
    visible_lead_ids: set[int]

    @property
    def won_total(self) -> Any:
        return sum((d.amount for d in self.deals if d.stage.is_won), start=0)

    @property
    def open_total(self) -> Any:
        return sum((d.amount for d in self.deals if d.closed_at is None), start=0)


def account_engagement(*, lead_ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """Touches of these people in the last 30 and 90 days, and how many had one in 90 days.

    Touches are the journey's (page views that start a visit are kept whole like every touch;
    activities count too: a call is engagement)."""
    now = now or timezone.now()
    since = {days: now - timedelta(days=days) for days in ENGAGEMENT_DAYS}
    touches = Touchpoint.objects.filter(lead_id__in=lead_ids, occurred_at__lte=now)
    counts = touches.aggregate(
        t30=Count("pk", filter=Q(occurred_at__gte=since[30])),
        t90=Count("pk", filter=Q(occurred_at__gte=since[90])),
    )
    engaged = set(
        touches.filter(occurred_at__gte=since[90]).values_list("lead_id", flat=True).distinct()
    ) | set(
        Activity.objects.filter(
            lead_id__in=lead_ids, occurred_at__gte=since[90], occurred_at__lte=now
        )
        .values_list("lead_id", flat=True)
        .distinct()
    )
    return {"touches_30": counts["t30"], "touches_90": counts["t90"], "engaged": len(engaged)}


def account_page(*, user: Viewer, account_id: int) -> AccountPage | None:
    """A visible account with everything its page shows; else None."""
    account = (
        accounts_visible_to(user)
        .select_related("owner")
        .prefetch_related("domains")
        .filter(pk=account_id)
        .first()
    )
    if account is None:
        return None
    contacts = list(
        AccountContact.objects.filter(account=account)
        .select_related("lead__owner")
        .order_by("lead__last_name", "lead__first_name", "lead_id")
    )
    lead_ids = [c.lead_id for c in contacts]
    leads = {c.lead_id: c.lead for c in contacts}
    touches = list(
        Touchpoint.objects.filter(lead_id__in=lead_ids)
        .select_related("channel", "campaign")
        .order_by("-occurred_at", "-id")[: JOURNEY_LIMIT + 1]
    )
    activities = list(
        Activity.objects.filter(lead_id__in=lead_ids, touchpoint__isnull=True)
        .select_related("by")
        .order_by("-occurred_at", "-id")[: JOURNEY_LIMIT + 1]
    )
    entries = [JourneyEntry(at=t.occurred_at, lead=leads[t.lead_id], touch=t) for t in touches]
    entries += [
        JourneyEntry(at=a.occurred_at, lead=leads[a.lead_id], activity=a) for a in activities
    ]
    entries.sort(key=lambda e: e.at, reverse=True)
    truncated = len(entries) > JOURNEY_LIMIT
    journey = sorted(entries[:JOURNEY_LIMIT], key=lambda e: e.at)
    deals = list(
        Deal.objects.filter(account=account)
        .select_related("stage", "owner", "lead")
        .prefetch_related(Prefetch("contacts", queryset=DealContact.objects.select_related("lead")))
        .order_by("-created_at", "-id")
    )
    engagement = account_engagement(lead_ids=lead_ids)
    visible = set(
        leads_visible_to(user)
        .filter(pk__in=lead_ids + [d.lead_id for d in deals])
        .values_list("pk", flat=True)
    )
    return AccountPage(
        account=account,
        contacts=contacts,
        journey=journey,
        journey_truncated=truncated,
        deals=deals,
        touches_30=engagement["touches_30"],
        touches_90=engagement["touches_90"],
        engaged_contacts=engagement["engaged"],
        visible_lead_ids=visible,
    )
