"""Every write of the CRM side: assignment, lifecycle, activities, feedback, deals."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction

from clm import roles


def active_reps() -> list[Any]:
    """Active users in the Sales rep role, in a stable order."""
    User = get_user_model()
    return list(
        User.objects.filter(is_active=True, groups__name=roles.SALES_REP).order_by("id").distinct()
    )


@transaction.atomic
def lead_assign_new(*, lead: Any, form: Any = None) -> Any:
    """Give a new lead its owner by the form's rule: round-robin, the form's owner, or none."""
    from leads.models import CaptureForm

    rule = form.assignment if form is not None else CaptureForm.Assignment.ROUND_ROBIN
    owner = None
    if rule == CaptureForm.Assignment.FIXED_OWNER and form.owner_id:
        owner = form.owner
    elif rule == CaptureForm.Assignment.ROUND_ROBIN:
        reps = active_reps()
        if reps:
            # One shared counter (atomic incr in Redis or locmem) spreads leads evenly.
            cache.add("crm:round-robin", 0, None)
            try:
                turn = cache.incr("crm:round-robin")
            except ValueError:
                turn = 0
            owner = reps[turn % len(reps)]
    if owner is not None:
        type(lead).objects.filter(pk=lead.pk).update(owner=owner)
        lead.owner = owner
    return owner
