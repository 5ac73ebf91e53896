"""A lead's lifecycle stage and owner: every change is written here and kept in LeadHistory."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clm import events, roles
from clm.events import LeadStageChanged
from clm.localcache import versioned
from crm import rollup_marks
from crm.models import Deal, DisqualifyReason, LeadHistory, Task
from crm.permissions import OWNER_ROLES, Actor, ensure_may_change_lead, ensure_may_manage
from leads.models import CaptureForm, Lead

Stage = Lead.Stage
# The forward path of a lead; disqualified sits beside it.
LIFECYCLE: tuple[str, ...] = (
    Stage.NEW,
    Stage.CONTACTED,
    Stage.QUALIFIED,
    Stage.OPPORTUNITY,
    Stage.CUSTOMER,
)


def _history_row(
    *,
    lead: Lead,
    field: str,
    old: str | int | None,
    new: str | int | None,
    by: Actor,
    at: datetime | None = None,
    reason: DisqualifyReason | None = None,
) -> LeadHistory:
    return LeadHistory(
        lead=lead,
        field=field,
        old="" if old is None else str(old),
        new="" if new is None else str(new),
        by=by,
        at=at or timezone.now(),
        disqualify_reason=reason,
    )


SALES_REPS_VERSION = "sales-reps"


def active_reps() -> list[AbstractUser]:
    """Active users in the Sales rep role, in a stable order.

    Kept per process until a user, a group or a membership changes (crm.apps bumps the
    version): round-robin assignment reads it on every capture.
    """
    User = get_user_model()
    return versioned(
        SALES_REPS_VERSION,
        lambda: list(
            User.objects.filter(is_active=True, groups__name=roles.SALES_REP)
            .order_by("id")
            .distinct()
        ),
    )


def validate_owner(*, owner: AbstractUser | None) -> None:
    """Raise ValidationError unless `owner` (or None) may own leads: an active rep or manager."""
    if owner is None:
        return
    if not owner.is_active or not roles.has_role(owner, *OWNER_ROLES):
        raise ValidationError({"owner": _("Leads go to active sales reps or sales managers.")})


def _move_open_tasks(
    *, lead_ids: list[int], old_owner_ids: set[int | None], owner: AbstractUser | None
) -> None:
    """Open follow-ups of the old owner go with the lead to the new one (none: they stay)."""
    old = [pk for pk in old_owner_ids if pk is not None]
    if owner is not None and old:
        Task.objects.filter(lead_id__in=lead_ids, done_at__isnull=True, assignee_id__in=old).update(
            assignee=owner
        )


def _set_owner(
    *, lead: Lead, owner: AbstractUser | None, by: Actor, move_deals: bool = True
) -> None:
    """Write the owner, move the lead's open deals with it and record the change.

    move_deals=False is for a lead just captured: no deals, nothing counted but its capture
    day, which its creation marked for the rollups already.
    """
    old = lead.owner_id
    new = owner.pk if owner is not None else None
    Lead.objects.filter(pk=lead.pk).update(owner=owner)
    if move_deals:
        rollup_marks.mark_leads([lead.pk])
        Deal.objects.filter(lead_id=lead.pk, closed_at__isnull=True).update(owner=owner)
        _move_open_tasks(lead_ids=[lead.pk], old_owner_ids={old}, owner=owner)
    lead.owner = owner
    _history_row(lead=lead, field=LeadHistory.Field.OWNER, old=old, new=new, by=by).save()


@transaction.atomic(savepoint=False)  # inside a capture: no savepoint round trips
def lead_assign_new(*, lead: Lead, form: CaptureForm | None = None) -> AbstractUser | None:
    """Give a new lead its owner by the form's rule: round-robin, the form's owner, or none."""
    rule = form.assignment if form is not None else CaptureForm.Assignment.ROUND_ROBIN
    owner = None
    if rule == CaptureForm.Assignment.FIXED_OWNER and form.owner_id:
        owner = form.owner
    elif rule == CaptureForm.Assignment.ROUND_ROBIN:
        reps = active_reps()
        if reps:
            # One shared counter (atomic incr in Redis or locmem) spreads leads evenly; with
            # the cache down, lead ids spread them nearly as well.
            cache.add("crm:round-robin", 0, None)
            try:
                turn = cache.incr("crm:round-robin")
            except ValueError:
                turn = lead.pk or 0
            owner = reps[turn % len(reps)]
    if owner is not None and owner.pk != lead.owner_id:
        # A lead just captured has no deals to move along.
        _set_owner(lead=lead, owner=owner, by=None, move_deals=False)
    return owner


@transaction.atomic
def lead_assign(*, lead: Lead, owner: AbstractUser | None, by: Actor) -> Lead:
    """Give a lead to another owner (None: unassign); managers and admins only."""
    ensure_may_manage(by)
    validate_owner(owner=owner)
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    lead.owner_id = locked.owner_id
    if locked.owner_id != (owner.pk if owner is not None else None):
        _set_owner(lead=lead, owner=owner, by=by)
    return lead


@transaction.atomic
def lead_bulk_assign(*, leads: Iterable[Lead], owner: AbstractUser | None, by: Actor) -> int:
    """Give many leads to one owner in one transaction; returns how many changed hands."""
    ensure_may_manage(by)
    validate_owner(owner=owner)
    new = owner.pk if owner is not None else None
    ids = [lead.pk for lead in leads]
    locked = list(
        Lead.objects.select_for_update().filter(pk__in=ids).exclude(owner_id=new)
        if new is not None
        else Lead.objects.select_for_update().filter(pk__in=ids, owner__isnull=False)
    )
    if not locked:
        return 0
    now = timezone.now()
    changed = [lead.pk for lead in locked]
    Lead.objects.filter(pk__in=changed).update(owner=owner)
    rollup_marks.mark_leads(changed)
    Deal.objects.filter(lead_id__in=changed, closed_at__isnull=True).update(owner=owner)
    _move_open_tasks(
        lead_ids=changed, old_owner_ids={lead.owner_id for lead in locked}, owner=owner
    )
    LeadHistory.objects.bulk_create(
        _history_row(
            lead=lead, field=LeadHistory.Field.OWNER, old=lead.owner_id, new=new, by=by, at=now
        )
        for lead in locked
    )
    return len(changed)


def _write_stage(
    *, lead: Lead, stage: str, by: Actor, reason: DisqualifyReason | None = None
) -> Lead:
    """Write a new stage on a locked lead and record it; no permission check."""
    locked = Lead.objects.select_for_update().only("stage").get(pk=lead.pk)
    if locked.stage == stage:
        lead.stage = stage
        return lead
    Lead.objects.filter(pk=lead.pk).update(stage=stage)
    _history_row(
        lead=lead, field=LeadHistory.Field.STAGE, old=locked.stage, new=stage, by=by, reason=reason
    ).save()
    lead.stage = stage
    events.announce(
        LeadStageChanged(
            lead_id=lead.pk,
            email=lead.email,
            old_stage=locked.stage,
            new_stage=stage,
            disqualify_reason=reason.name if reason else None,
            by_id=by.pk if by is not None else None,
        )
    )
    return lead


@transaction.atomic
def lead_change_stage(
    *, lead: Lead, stage: str, by: Actor, reason: DisqualifyReason | None = None
) -> Lead:
    """Move a lead to any lifecycle stage; disqualifying needs a DisqualifyReason."""
    ensure_may_change_lead(by, lead)
    if stage not in Stage.values:
        raise ValidationError({"stage": _("Unknown stage “%(stage)s”.") % {"stage": stage}})
    if stage == Stage.DISQUALIFIED:
        if reason is None:
            raise ValidationError({"reason": _("Choose why the lead is disqualified.")})
        if not reason.is_active:
            raise ValidationError({"reason": _("This reason is no longer in use.")})
    else:
        reason = None
    return _write_stage(lead=lead, stage=stage, by=by, reason=reason)


def lead_advance_stage(*, lead: Lead, stage: str, by: Actor, requalify: bool = False) -> Lead:
    """Move a lead forward to `stage` if it is earlier (or disqualified, when `requalify`)."""
    current = Lead.objects.select_for_update().values_list("stage", flat=True).get(pk=lead.pk)
    lead.stage = current
    if current == Stage.DISQUALIFIED:
        return _write_stage(lead=lead, stage=stage, by=by) if requalify else lead
    if LIFECYCLE.index(current) < LIFECYCLE.index(stage):
        return _write_stage(lead=lead, stage=stage, by=by)
    return lead


def lead_step_back_from_customer(*, lead: Lead, by: Actor) -> Lead:
    """A customer with no won deal left goes back to opportunity (a win was undone)."""
    lead.stage = Lead.objects.select_for_update().values_list("stage", flat=True).get(pk=lead.pk)
    if lead.stage != Stage.CUSTOMER:
        return lead
    if Deal.objects.filter(lead_id=lead.pk, stage__is_won=True).exists():
        return lead
    return _write_stage(lead=lead, stage=Stage.OPPORTUNITY, by=by)
