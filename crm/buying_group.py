"""What the lead page shows of the lead's account and its deals' buying groups, and what may
be picked to change them (crm.buying_group_views)."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.http import HttpRequest

from crm import account_selectors, selectors
from crm.models import AccountContact, Deal, DealContact
from leads.models import Lead

CHOICES_SHOWN = 50


def buying_group_context(request: HttpRequest, lead: Lead, deals: list[Deal]) -> dict[str, Any]:
    """The lead's account, the accounts to pick from (?account_q= searches them) and each
    deal's buying group with the account's people who may join it."""
    link = AccountContact.objects.filter(lead=lead).select_related("account").first()
    query = request.GET.get("account_q", "").strip()[:100]
    choices = account_selectors.accounts_search(
        account_selectors.accounts_visible_to(request.user), query
    ).order_by("name", "id")[:CHOICES_SHOWN]
    visible = selectors.leads_visible_to(request.user)
    groups: dict[int, dict[str, list[Any]]] = {}
    contacts = DealContact.objects.filter(deal__in=deals).select_related("lead") if deals else []
    for deal in deals:
        groups[deal.pk] = {"contacts": [], "candidates": []}
    for contact in contacts:
        groups[contact.deal_id]["contacts"].append(contact)
    accounts = {deal.account_id for deal in deals if deal.account_id is not None}
    people: dict[int, list[Lead]] = {}
    if accounts:  # one query for every deal's account
        found = (
            visible.filter(account_contact__account_id__in=accounts)
            .annotate(account_of=F("account_contact__account_id"))
            .order_by("last_name", "first_name", "email")
        )
        for person in found[:500]:
            people.setdefault(person.account_of, []).append(person)  # type: ignore[attr-defined]
    for deal in deals:
        taken = {c.lead_id for c in groups[deal.pk]["contacts"]}
        groups[deal.pk]["candidates"] = [
            p for p in people.get(deal.account_id, []) if p.pk not in taken
        ][:100]
    for deal in deals:
        deal.group = groups[deal.pk]  # type: ignore[attr-defined]
    return {
        "account_link": link,
        "account_q": query,
        "account_choices": list(choices),
        "deal_roles": DealContact.Role.choices,
    }
