"""The account pages: the list (search, owner, tier, target) and one account's page."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from clm import roles
from crm import account_selectors
from crm.models import Account, AccountContact, DealContact
from crm.permissions import sees_all

ACCOUNT_PAGE_SIZE = 50


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


@roles.role_required(*roles.ANY_ROLE)
def account_list(request: HttpRequest) -> HttpResponse:
    """The accounts the viewer may see, filtered."""
    get = request.GET
    target = {"yes": True, "no": False}.get(get.get("target", ""))
    tier = get.get("tier", "") if get.get("tier", "") in Account.Tier.values else ""
    filters = {
        "q": get.get("q", "").strip()[:100],
        "owner": _int_or_none(get.get("owner")),
        "tier": tier,
        "target": get.get("target", "") if target is not None else "",
    }
    accounts = account_selectors.account_list(
        user=request.user, q=filters["q"], owner_id=filters["owner"], tier=tier, target=target
    )
    page = Paginator(accounts, ACCOUNT_PAGE_SIZE).get_page(get.get("page"))
    kept = {k: v for k, v in filters.items() if v not in ("", None)}
    return render(
        request,
        "crm/account_list.html",
        {
            "page": page,
            "accounts": page.object_list,
            "filters": filters,
            "filtered": bool(kept),
            "query": urlencode(kept),
            "tiers": Account.Tier.choices,
            "owners": roles.lead_owners().order_by("username") if sees_all(request.user) else [],
        },
    )


@roles.role_required(*roles.ANY_ROLE)
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One account: its people, their combined journey, its deals and buying groups."""
    page = account_selectors.account_page(user=request.user, account_id=pk)
    if page is None:
        raise Http404
    return render(
        request,
        "crm/account_detail.html",
        {
            "p": page,
            "account": page.account,
            "roles": dict(DealContact.Role.choices),
            "matched_by": dict(AccountContact.MatchedBy.choices),
        },
    )
