"""Accounts: matching leads to the companies they work for, merging and splitting accounts,
and the buying group (contacts with roles) of a deal.

A lead is matched by its corporate email domain first (eu.acme.com and ACME.com are acme.com;
free-mail providers never group people), then by its company field folded (company_key). A
lead placed by hand, or by an admin's merge or split, is never moved by matching again, so an
anonymous capture post cannot take a person out of the account sales put them in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from clm import events, roles
from clm.domains import matches_free_mail, registrable_domain
from clm.events import AccountCreated
from clm.localcache import versioned
from crm import hooks
from crm.models import (
    Account,
    AccountContact,
    AccountDomain,
    AccountUnplaced,
    Deal,
    DealContact,
    FreeMailDomain,
)
from crm.permissions import Actor, ensure_may_change_lead, ensure_may_manage
from leads.models import Lead

MatchedBy = AccountContact.MatchedBy

# Legal forms left out when company names are compared ("Acme, Inc." is "ACME").
LEGAL_FORMS = frozenset(
    ["inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "gmbh", "mbh", "ag", "kg",
     "sa", "sas", "sarl", "sl", "srl", "spa", "bv", "nv", "plc", "pt", "tbk", "cv", "corp",
     "corporation", "co", "company", "pty", "oy", "oyj", "ab", "as", "asa", "aps", "kk", "pte",
     "sdn", "bhd", "se", "the"]
)  # fmt: skip


def company_key(name: str) -> str:
    """A company name folded for matching: case, accents, punctuation and legal forms gone."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w]
    kept = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(kept or words)[:200]


FREE_MAIL_VERSION = "free-mail-domains"


def free_mail_patterns() -> frozenset[str]:
    """The admin-editable free-mail list (FreeMailDomain), kept per process until a pattern is
    saved or deleted (crm.apps bumps the version): every capture of a new lead reads it."""
    return versioned(
        FREE_MAIL_VERSION,
        lambda: frozenset(FreeMailDomain.objects.values_list("pattern", flat=True)),
    )


def corporate_domain(email: str, patterns: frozenset[str]) -> str:
    """The registrable domain of a corporate address; "" for free mail or no domain."""
    domain = registrable_domain(email)
    return "" if not domain or matches_free_mail(domain, patterns) else domain


@dataclass(frozen=True)
class Match:
    account: Account | None
    matched_by: str
    domain: str
    key: str


def _find(lead: Lead, patterns: frozenset[str]) -> Match:
    """Which existing account the lead's details point to (reads only)."""
    domain = corporate_domain(lead.email, patterns)
    key = company_key(lead.company)
    if domain:
        known = AccountDomain.objects.select_related("account").filter(domain=domain).first()
        if known is not None:
            return Match(known.account, MatchedBy.DOMAIN, domain, key)
    if key:
        account = Account.objects.filter(name_key=key).order_by("id").first()
        if account is not None:
            return Match(account, MatchedBy.COMPANY, domain, key)
    return Match(None, "", domain, key)


def _add_domain(account: Account, domain: str) -> bool:
    """Give `account` the domain unless another account holds it; True when added."""
    try:
        with transaction.atomic():
            AccountDomain.objects.create(account=account, domain=domain)
    except IntegrityError:
        return False
    return True


def _create(
    *, name: str, domains: Iterable[str] = (), by: Actor = None, **fields: object
) -> Account:
    account = Account.objects.create(name=name, name_key=company_key(name), **fields)
    for domain in domains:
        if not _add_domain(account, domain):
            raise ValidationError(
                {"domains": _("%(domain)s belongs to another account.") % {"domain": domain}}
            )
    events.announce(
        AccountCreated(account_id=account.pk, name=account.name, by_id=by.pk if by else None)
    )
    return account


def _create_for(lead: Lead, match: Match) -> tuple[Account, str]:
    """A new account from the lead's details; if a concurrent capture just took the domain,
    the lead joins that account instead (the capture must not fail over it)."""
    name = lead.company.strip()[:200] or match.domain
    account = Account.objects.create(name=name, name_key=company_key(name))
    if match.domain and not _add_domain(account, match.domain):
        account.delete()
        known = AccountDomain.objects.select_related("account").get(domain=match.domain)
        return known.account, MatchedBy.DOMAIN
    events.announce(AccountCreated(account_id=account.pk, name=account.name))
    return account, MatchedBy.DOMAIN if match.domain else MatchedBy.COMPANY


def _deals_follow(lead_id: int, old_account_id: int | None, account: Account) -> None:
    """The lead's own deals without an account, or in the one it left, move with it."""
    Deal.objects.filter(lead_id=lead_id, account_id=old_account_id).update(account=account)
    if old_account_id is not None:
        Deal.objects.filter(lead_id=lead_id, account__isnull=True).update(account=account)


@transaction.atomic
def account_match_lead(
    *, lead: Lead, patterns: frozenset[str] | None = None
) -> AccountContact | None:
    """Put the lead in the account its email domain or company names, creating one if none.

    Changes nothing for a lead placed by hand, a lead with neither a corporate domain nor a
    company, or a lead already where its details point (so a rerun writes nothing).
    """
    return _match(lead, free_mail_patterns() if patterns is None else patterns, new=False)


def account_match_new_lead(*, lead: Lead) -> AccountContact | None:
    """account_match_lead for a lead created in the current transaction (a capture): it has no
    account, no "taken out by hand" mark and no deals yet, so three reads, an update and a
    savepoint fewer on the request path. Must run inside that transaction."""
    return _match(lead, free_mail_patterns(), new=True)


def _match(lead: Lead, patterns: frozenset[str], *, new: bool) -> AccountContact | None:
    link = None if new else AccountContact.objects.select_for_update().filter(lead=lead).first()
    if link is not None and link.matched_by == MatchedBy.MANUAL:
        return link
    if link is None and not new and AccountUnplaced.objects.filter(lead=lead).exists():
        return None  # taken out of its account by hand
    match = _find(lead, patterns)
    account, matched_by = match.account, match.matched_by
    if account is None:
        if not (match.domain or match.key):
            return link
        account, matched_by = _create_for(lead, match)
    elif matched_by == MatchedBy.COMPANY and match.domain and not account.domains.exists():
        # An account known only by name learns its first domain from its people.
        _add_domain(account, match.domain)
    if link is None:
        link = AccountContact.objects.create(lead=lead, account=account, matched_by=matched_by)
        if not new:
            _deals_follow(lead.pk, None, account)
    elif (link.account_id, link.matched_by) != (account.pk, matched_by):
        old = link.account_id
        link.account, link.matched_by = account, matched_by
        link.save(update_fields=["account", "matched_by"])
        if old != account.pk:
            _deals_follow(lead.pk, old, account)
    return link


def accounts_match_all(*, batch: int = 2000) -> dict[str, int]:
    """Match every lead not placed by hand (the backfill); returns counts of what changed."""
    patterns = free_mail_patterns()
    counts = {"leads": 0, "linked": 0, "moved": 0, "accounts_created": 0}
    before_accounts = Account.objects.count()
    leads = Lead.objects.filter(erased_at__isnull=True).order_by("pk")
    last = 0
    while True:
        chunk = list(leads.filter(pk__gt=last)[:batch])
        if not chunk:
            break
        last = chunk[-1].pk
        current = dict(
            AccountContact.objects.filter(lead__in=chunk).values_list("lead_id", "account_id")
        )
        for lead in chunk:
            counts["leads"] += 1
            link = account_match_lead(lead=lead, patterns=patterns)
            if link is None:
                continue
            was = current.get(lead.pk)
            if was is None:
                counts["linked"] += 1
            elif was != link.account_id:
                counts["moved"] += 1
    counts["accounts_created"] = Account.objects.count() - before_accounts
    return counts


def _pin_unmatched(account: Account, patterns: frozenset[str]) -> None:
    """Contacts that matching would now send elsewhere stay here: they become manual."""
    for link in account.contacts.select_related("lead").exclude(matched_by=MatchedBy.MANUAL):
        match = _find(link.lead, patterns)
        if match.account is None or match.account.pk != account.pk:
            link.matched_by = MatchedBy.MANUAL
            link.save(update_fields=["matched_by"])
        elif match.matched_by != link.matched_by:
            link.matched_by = match.matched_by
            link.save(update_fields=["matched_by"])


def _ensure_may_edit_account(by: Actor, account: Account | None = None) -> None:
    if by is None or roles.has_role(by, roles.ADMIN, roles.SALES_MANAGER):
        return
    if roles.has_role(by, roles.SALES_REP) and account is not None and account.owner_id == by.pk:
        return
    raise PermissionDenied(_("You may not change this account."))


@transaction.atomic
def account_create(
    *,
    name: str,
    by: Actor,
    domains: Iterable[str] = (),
    owner: AbstractUser | None = None,
    is_target: bool = False,
    tier: str = "",
) -> Account:
    """Add an account by hand (or by the target-account import)."""
    _ensure_may_edit_account(by)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("An account needs a name.")})
    clean = [_clean_domain(d) for d in domains]
    account = Account(name=name, owner=owner, is_target=is_target, tier=tier)
    account.name_key = company_key(name)
    account.full_clean(exclude=["name_key"])
    return _create(name=name, domains=clean, by=by, owner=owner, is_target=is_target, tier=tier)


def _clean_domain(value: str) -> str:
    domain = registrable_domain(value)
    if not domain:
        raise ValidationError({"domains": _("%(value)s is not a domain.") % {"value": value}})
    if matches_free_mail(domain, free_mail_patterns()):
        raise ValidationError(
            {"domains": _("%(value)s is a free-mail domain.") % {"value": domain}}
        )
    return domain


@transaction.atomic
def account_update(
    *,
    account: Account,
    by: Actor,
    name: str | None = None,
    owner: AbstractUser | bool | None = False,
    is_target: bool | None = None,
    tier: str | None = None,
) -> Account:
    """Change an account's name, owner (managers), target flag or tier; unchanged writes nothing."""
    _ensure_may_edit_account(by, account)
    changed: list[str] = []
    if name is not None and name.strip() and name.strip() != account.name:
        account.name, account.name_key = name.strip(), company_key(name)
        changed += ["name", "name_key"]
    if owner is not False and owner != account.owner:
        ensure_may_manage(by)
        account.owner = owner  # type: ignore[assignment]
        changed.append("owner")
    if is_target is not None and is_target != account.is_target:
        account.is_target = is_target
        changed.append("is_target")
    if tier is not None and tier != account.tier:
        account.tier = tier
        changed.append("tier")
    if changed:
        account.full_clean(exclude=["name_key"])
        account.save(update_fields=[*changed, "updated_at"])
    return account


def _refresh_deals_of(lead_id: int, account_ids: Iterable[int | None]) -> None:
    """Queue the attribution refresh of the lead's deals and of the deals of the accounts it
    joined or left (an account-scoped run may count everyone in a deal's account)."""
    leads = {lead_id} | set(
        Deal.objects.filter(account_id__in=[a for a in account_ids if a is not None])
        .values_list("lead_id", flat=True)
        .distinct()[:200]
    )
    for deal_lead in sorted(leads):
        hooks.queue_attribution_refresh(lead_id=deal_lead)


@transaction.atomic
def account_assign_lead(*, lead: Lead, account: Account, by: Actor) -> AccountContact:
    """Sales puts a lead in an account by hand: matching never moves it afterwards."""
    ensure_may_change_lead(by, lead)
    link = AccountContact.objects.select_for_update().filter(lead=lead).first()
    old = link.account_id if link else None
    AccountUnplaced.objects.filter(lead=lead).delete()
    if link is None:
        link = AccountContact.objects.create(
            lead=lead, account=account, matched_by=MatchedBy.MANUAL
        )
    elif (link.account_id, link.matched_by) != (account.pk, MatchedBy.MANUAL):
        link.account, link.matched_by = account, MatchedBy.MANUAL
        link.save(update_fields=["account", "matched_by"])
    if old != account.pk:
        _deals_follow(lead.pk, old, account)
        _refresh_deals_of(lead.pk, [old, account.pk])
    return link


@transaction.atomic
def account_clear_lead(*, lead: Lead, by: Actor) -> None:
    """Sales take a lead out of its account by hand: its own deals in that account leave it
    too, and matching leaves the lead outside accounts until it is placed again."""
    ensure_may_change_lead(by, lead)
    link = AccountContact.objects.select_for_update().filter(lead=lead).first()
    AccountUnplaced.objects.get_or_create(lead=lead)
    if link is None:
        return
    old = link.account_id
    link.delete()
    Deal.objects.filter(lead_id=lead.pk, account_id=old).update(account=None)
    _refresh_deals_of(lead.pk, [old])


@transaction.atomic
def account_merge(*, target: Account, sources: Iterable[Account], by: Actor) -> Account:
    """Fold `sources` into `target`: their domains, contacts and deals move; they are deleted.

    The target keeps its name and owner (a source's owner when it has none), becomes a target
    account if any was one, and takes the highest tier among them.
    """
    ensure_may_manage(by)
    ids = sorted({s.pk for s in sources} - {target.pk})
    if not ids:
        raise ValidationError(_("Choose at least one other account to merge into this one."))
    # Lock in id order, so two merges touching the same accounts wait instead of deadlocking.
    locked = {
        a.pk: a
        for a in Account.objects.select_for_update().filter(pk__in=[*ids, target.pk]).order_by("pk")
    }
    target = locked[target.pk]
    merged = [locked[i] for i in ids if i in locked]
    AccountDomain.objects.filter(account_id__in=ids).update(account=target)
    AccountContact.objects.filter(account_id__in=ids).update(account=target)
    Deal.objects.filter(account_id__in=ids).update(account=target)
    tiers = sorted(t for t in [target.tier, *(a.tier for a in merged)] if t)
    target.tier = tiers[0] if tiers else ""
    target.is_target = target.is_target or any(a.is_target for a in merged)
    if target.owner_id is None:
        target.owner_id = next((a.owner_id for a in merged if a.owner_id), None)
    target.save(update_fields=["tier", "is_target", "owner", "updated_at"])
    Account.objects.filter(pk__in=ids).delete()
    _pin_unmatched(target, free_mail_patterns())
    return target


@transaction.atomic
def account_split(
    *,
    account: Account,
    name: str,
    lead_ids: Iterable[int],
    by: Actor,
    domains: Iterable[str] = (),
) -> Account:
    """Move some contacts (with the deals of which they are the lead) and domains of `account`
    to a new account named `name`, owned like the old one."""
    ensure_may_manage(by)
    account = Account.objects.select_for_update().get(pk=account.pk)
    lead_ids = sorted(set(lead_ids))
    domains = sorted({registrable_domain(d) or d for d in domains})
    theirs = set(account.contacts.filter(lead_id__in=lead_ids).values_list("lead_id", flat=True))
    if not lead_ids and not domains:
        raise ValidationError(_("Choose the contacts or domains that go to the new account."))
    if theirs != set(lead_ids):
        raise ValidationError({"lead_ids": _("Some of these people are not in this account.")})
    owned = set(account.domains.filter(domain__in=domains).values_list("domain", flat=True))
    if owned != set(domains):
        raise ValidationError({"domains": _("Some of these domains are not this account's.")})
    if not name.strip():
        raise ValidationError({"name": _("An account needs a name.")})
    new = _create(
        name=name.strip(),
        by=by,
        owner=account.owner,
        is_target=account.is_target,
        tier=account.tier,
    )
    AccountDomain.objects.filter(account=account, domain__in=domains).update(account=new)
    AccountContact.objects.filter(account=account, lead_id__in=lead_ids).update(account=new)
    Deal.objects.filter(account=account, lead_id__in=lead_ids).update(account=new)
    patterns = free_mail_patterns()
    _pin_unmatched(new, patterns)
    _pin_unmatched(account, patterns)
    return new


def _ensure_may_change_deal(by: Actor, deal: Deal) -> None:
    ensure_may_change_lead(by, deal.lead)


@transaction.atomic
def deal_contact_add(
    *, deal: Deal, lead: Lead, by: Actor, role: str = DealContact.Role.OTHER
) -> DealContact:
    """Add a person to the deal's buying group (or change their role); idempotent. A change
    queues the refresh of the deal's attribution (account scope credits its buying group)."""
    _ensure_may_change_deal(by, deal)
    if role not in DealContact.Role.values:
        raise ValidationError({"role": _("Choose a role from the list.")})
    contact, created = DealContact.objects.get_or_create(
        deal=deal, lead=lead, defaults={"role": role}
    )
    if not created and contact.role != role:
        contact.role = role
        contact.save(update_fields=["role"])
    elif not created:
        return contact  # the same person in the same role: nothing changed
    hooks.queue_attribution_refresh(lead_id=deal.lead_id)
    return contact


@transaction.atomic
def deal_contact_remove(*, contact: DealContact, by: Actor) -> None:
    """Take a person out of a buying group; the primary contact (the deal's lead) stays."""
    _ensure_may_change_deal(by, contact.deal)
    if contact.is_primary:
        raise ValidationError(_("The deal's lead is its primary contact and stays."))
    contact.delete()
    hooks.queue_attribution_refresh(lead_id=contact.deal.lead_id)


def deal_primary_contact(*, deal: Deal, role: str = DealContact.Role.OTHER) -> DealContact:
    """The deal's lead as its primary contact, and the deal in the lead's account (deal_create)."""
    link = AccountContact.objects.filter(lead_id=deal.lead_id).first()
    if link is not None and deal.account_id is None:
        deal.account_id = link.account_id
        Deal.objects.filter(pk=deal.pk).update(account_id=link.account_id)
    contact, _created = DealContact.objects.get_or_create(
        deal=deal, lead_id=deal.lead_id, defaults={"role": role, "is_primary": True}
    )
    return contact
