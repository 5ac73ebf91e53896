"""The lead page's account and buying-group controls: place the lead in an account (a pick
list with search) or take it out, and add, re-role or remove the people of a deal's buying
group. Reps on their own leads and deals, managers and admins on all; every change goes
through crm.services (which queue the attribution refresh)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clm import roles
from crm import account_selectors, selectors, services
from crm import views as lead_views
from crm.models import Deal, DealContact
from crm.permissions import CHANGE


def _back(lead_id: int, anchor: str) -> HttpResponse:
    return redirect(reverse("crm:lead", args=[lead_id]) + f"#{anchor}")


def _refused(request: HttpRequest, lead_id: int, text: str) -> HttpResponse:
    """The lead page again with the reason, answered 400."""
    messages.error(request, _("Not saved: %(error)s") % {"error": text})
    return lead_views.render_lead(request, lead_id, status=400)


def _text(error: ValidationError) -> str:
    return "; ".join(error.messages)


@require_POST
@roles.role_required(*CHANGE)
def lead_set_account(request: HttpRequest, pk: int) -> HttpResponse:
    """Place the lead in the account picked, or (clear) take it out of its account."""
    lead = get_object_or_404(selectors.leads_visible_to(request.user), pk=pk)
    if request.POST.get("clear"):
        services.account_clear_lead(lead=lead, by=request.user)
        messages.success(request, _("Taken out of the account."))
        return _back(pk, "account")
    raw = request.POST.get("account", "")
    accounts = account_selectors.accounts_visible_to(request.user)
    account = accounts.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 12 else None
    if account is None:
        return _refused(request, pk, _("choose an account from the list."))
    services.account_assign_lead(lead=lead, account=account, by=request.user)
    messages.success(request, _("Placed in %(account)s.") % {"account": account.name})
    return _back(pk, "account")


def _visible_deal(request: HttpRequest, pk: int) -> Deal:
    deals = selectors.deals_visible_to(request.user).select_related("lead")
    return get_object_or_404(deals, pk=pk)


@require_POST
@roles.role_required(*CHANGE)
def deal_contact_save(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a person of the deal's account to its buying group, or change their role."""
    deal = _visible_deal(request, pk)
    raw = request.POST.get("lead", "")
    people = selectors.leads_visible_to(request.user).filter(
        account_contact__account_id=deal.account_id
    )
    ok = raw.isdigit() and len(raw) < 12 and deal.account_id
    person = people.filter(pk=int(raw)).first() if ok else None
    if person is None:
        return _refused(request, deal.lead_id, _("choose a person of the deal's account."))
    try:
        services.deal_contact_add(
            deal=deal, lead=person, by=request.user, role=request.POST.get("role", "")
        )
    except ValidationError as exc:
        return _refused(request, deal.lead_id, _text(exc))
    messages.success(request, _("Buying group saved."))
    return _back(deal.lead_id, f"deal-{deal.pk}")


@require_POST
@roles.role_required(*CHANGE)
def deal_contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a person out of the deal's buying group (the deal's lead stays)."""
    contact = get_object_or_404(
        DealContact.objects.filter(
            deal__in=selectors.deals_visible_to(request.user)
        ).select_related("deal"),
        pk=pk,
    )
    try:
        services.deal_contact_remove(contact=contact, by=request.user)
    except ValidationError as exc:
        return _refused(request, contact.deal.lead_id, _text(exc))
    messages.success(request, _("Taken out of the buying group."))
    return _back(contact.deal.lead_id, f"deal-{contact.deal_id}")
