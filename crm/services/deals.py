"""Deals: creating one makes the lead an opportunity, winning one makes it a customer.

Whatever changes a deal's revenue (closing, reopening, a new amount, deleting a closed deal)
queues attribution work for its lead after commit, through crm.hooks.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clm import events
from clm.events import DealClosed
from crm import hooks
from crm.models import Deal, PipelineStage
from crm.permissions import Actor, ensure_may_change_lead, ensure_may_manage
from crm.services.accounts import deal_primary_contact
from crm.services.lifecycle import (
    lead_advance_stage,
    lead_step_back_from_customer,
    validate_owner,
)
from leads.models import Lead


def _first_open_stage() -> PipelineStage:
    stage = (
        PipelineStage.objects.filter(is_active=True, is_won=False, is_lost=False)
        .order_by("order", "id")
        .first()
    )
    if stage is None:
        raise ValidationError({"stage": _("The pipeline has no open stage; add one in the admin.")})
    return stage


def _closing_stage(*, won: bool) -> PipelineStage:
    flag = {"is_won": True} if won else {"is_lost": True}
    stage = PipelineStage.objects.filter(is_active=True, **flag).order_by("order", "id").first()
    if stage is None:
        kind = "won" if won else "lost"
        raise ValidationError(
            {
                "stage": _("The pipeline has no %(kind)s stage; add one in the admin.")
                % {"kind": kind}
            }
        )
    return stage


def _queue_attribution(deal: Deal) -> None:
    hooks.queue_attribution_refresh(lead_id=deal.lead_id)


@transaction.atomic
def deal_create(
    *,
    lead: Lead,
    name: str,
    by: Actor,
    amount: Decimal = Decimal("0"),
    expected_close_date: date | None = None,
    stage: PipelineStage | None = None,
    owner: AbstractUser | None = None,
) -> Deal:
    """Open a deal on a lead, which becomes an opportunity if it was earlier in the lifecycle."""
    ensure_may_change_lead(by, lead)
    stage = stage or _first_open_stage()
    if stage.is_closed or not stage.is_active:
        raise ValidationError({"stage": _("A new deal starts in an open stage; close it after.")})
    default_owner = lead.owner or by
    if owner is not None and owner != default_owner:
        ensure_may_manage(by)
        validate_owner(owner=owner)
    now = timezone.now()
    deal = Deal(
        lead=lead,
        name=name.strip(),
        amount=amount,
        expected_close_date=expected_close_date,
        stage=stage,
        owner=owner or default_owner,
        opportunity_created_at=now,
    )
    deal.full_clean()
    deal.save()
    deal_primary_contact(deal=deal)
    lead_advance_stage(lead=lead, stage=Lead.Stage.OPPORTUNITY, by=by, requalify=True)
    return deal


@transaction.atomic
def deal_update(*, deal: Deal, by: Actor, data: dict[str, Any]) -> Deal:
    """Change a deal's name, amount, expected close date or (managers) owner."""
    ensure_may_change_lead(by, deal.lead)
    allowed = {"name", "amount", "expected_close_date", "owner"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, _("This field cannot be changed here.")))
    if "owner" in data and data["owner"] != deal.owner:
        ensure_may_manage(by)
        validate_owner(owner=data["owner"])
    amount_changed = "amount" in data and data["amount"] != deal.amount
    for name, value in data.items():
        setattr(deal, name, value.strip() if name == "name" else value)
    deal.full_clean()
    if data:
        deal.save(update_fields=[*data, "updated_at"])
    if amount_changed:
        _queue_attribution(deal)
    return deal


@transaction.atomic
def deal_close(
    *, deal: Deal, won: bool, by: Actor, reason: str = "", amount: Decimal | None = None
) -> Deal:
    """Mark a deal won (the lead becomes a customer) or lost (a reason is required)."""
    ensure_may_change_lead(by, deal.lead)
    reason = reason.strip()
    if not won and not reason:
        raise ValidationError({"reason": _("Say why the deal was lost.")})
    stage = _closing_stage(won=won)
    was_won = deal.stage.is_won
    if deal.stage_id == stage.pk and amount in (None, deal.amount) and reason == deal.close_reason:
        return deal
    deal.stage = stage
    deal.close_reason = reason[:300]
    deal.closed_at = timezone.now()
    if amount is not None:
        deal.amount = amount
    deal.full_clean()
    deal.save(update_fields=["stage", "close_reason", "closed_at", "amount", "updated_at"])
    if won:
        lead_advance_stage(lead=deal.lead, stage=Lead.Stage.CUSTOMER, by=by, requalify=True)
    elif was_won:
        lead_step_back_from_customer(lead=deal.lead, by=by)
    _queue_attribution(deal)
    events.announce(
        DealClosed(
            deal_id=deal.pk,
            lead_id=deal.lead_id,
            won=won,
            name=deal.name,
            amount=deal.amount,
            close_reason=deal.close_reason,
            closed_at=deal.closed_at,
            owner_id=deal.owner_id,
            by_id=by.pk if by is not None else None,
        )
    )
    return deal


@transaction.atomic
def deal_reopen(*, deal: Deal, by: Actor, stage: PipelineStage | None = None) -> Deal:
    """Reopen a won or lost deal, in `stage` or the last open stage; a win is undone."""
    ensure_may_change_lead(by, deal.lead)
    if deal.closed_at is None and not deal.stage.is_closed:
        raise ValidationError({"stage": _("This deal is open already.")})
    if stage is None:
        stage = (
            PipelineStage.objects.filter(is_active=True, is_won=False, is_lost=False)
            .order_by("-order", "-id")
            .first()
        ) or _first_open_stage()
    if stage.is_closed:
        raise ValidationError({"stage": _("Reopen the deal into an open stage.")})
    was_won = deal.stage.is_won
    deal.stage, deal.closed_at, deal.close_reason = stage, None, ""
    deal.save(update_fields=["stage", "closed_at", "close_reason", "updated_at"])
    if was_won:
        lead_step_back_from_customer(lead=deal.lead, by=by)
    _queue_attribution(deal)
    return deal


@transaction.atomic
def deal_move_stage(*, deal: Deal, stage: PipelineStage, by: Actor, reason: str = "") -> Deal:
    """Put a deal in any pipeline stage; a won/lost stage closes it, an open one reopens it."""
    if stage.is_won or stage.is_lost:
        ensure_may_change_lead(by, deal.lead)
        if not stage.is_active:
            raise ValidationError({"stage": _("This stage is no longer in use.")})
        return deal_close(deal=deal, won=stage.is_won, by=by, reason=reason)
    if deal.stage.is_closed:
        return deal_reopen(deal=deal, by=by, stage=stage)
    ensure_may_change_lead(by, deal.lead)
    if not stage.is_active:
        raise ValidationError({"stage": _("This stage is no longer in use.")})
    if stage.pk != deal.stage_id:
        deal.stage = stage
        deal.save(update_fields=["stage", "updated_at"])
    return deal


@transaction.atomic
def deal_delete(*, deal: Deal, by: Actor) -> None:
    """Delete a deal (managers); a closed one's revenue leaves attribution after commit."""
    ensure_may_manage(by)
    was_closed, was_won = deal.closed_at is not None, deal.stage.is_won
    lead = deal.lead
    deal.delete()
    if was_won:
        lead_step_back_from_customer(lead=lead, by=by)
    if was_closed:
        hooks.queue_attribution_refresh(lead_id=lead.pk)
