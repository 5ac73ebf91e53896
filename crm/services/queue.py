"""The work queue as a work list: saved views of its filters, and bulk stage changes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.models import SavedView
from crm.permissions import Actor, may_manage
from crm.services.lifecycle import lead_change_stage
from leads.models import Lead

# The queue's filter parameters a saved view may hold (crm.views reads the same names).
VIEW_KEYS = ("q", "stage", "owner", "channel", "campaign", "age", "order")
NAME_MAX = 80
VIEWS_PER_USER = 50


def view_query(raw: str) -> str:
    """Keep only the queue's filter parameters of a query string, each once, values cut short."""
    kept: dict[str, str] = {}
    for key, value in parse_qsl(str(raw or "").lstrip("?")[:2000], keep_blank_values=False):
        if key in VIEW_KEYS and key not in kept:
            kept[key] = value.replace("\x00", "")[:100]
    return urlencode([(k, kept[k]) for k in VIEW_KEYS if k in kept])


@transaction.atomic
def saved_view_save(*, owner: AbstractUser, name: str, query: str, shared: bool) -> SavedView:
    """Save the queue's filters under a name (the same name replaces the owner's view).

    Only managers and admins share a view with everyone."""
    name = " ".join(str(name or "").replace("\x00", " ").split())
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": _("At most %(n)d characters.") % {"n": NAME_MAX}})
    if shared and not may_manage(owner):
        raise ValidationError({"shared": _("Only a sales manager may share a view.")})
    existing = SavedView.objects.filter(owner=owner, name=name).first()
    if existing is None and SavedView.objects.filter(owner=owner).count() >= VIEWS_PER_USER:
        raise ValidationError({"name": _("You have %(n)d views: delete one first.") % {
            "n": VIEWS_PER_USER}})  # fmt: skip
    view = existing or SavedView(owner=owner, name=name)
    view.query, view.shared = view_query(query), bool(shared)
    view.save()
    return view


def saved_view_delete(*, view: SavedView, by: AbstractUser) -> None:
    """Delete a saved view: its owner, or a manager for a shared one."""
    if view.owner_id != by.pk and not (view.shared and may_manage(by)):
        raise PermissionDenied(_("This view belongs to someone else."))
    view.delete()


@dataclass
class BulkResult:
    """What a bulk action changed: leads changed, already so, and refused (with why)."""

    changed: int = 0
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)


def leads_bulk_change_stage(*, leads: Iterable[Lead], stage: str, by: Actor) -> BulkResult:
    """Move each lead to `stage` where the user may; count what changed, was already there,
    or was refused (one lead's refusal does not undo the others)."""
    if stage not in Lead.Stage.values or stage == Lead.Stage.DISQUALIFIED:
        raise ValidationError({"stage": _("Choose a stage (disqualify leads one at a time).")})
    result = BulkResult()
    for lead in leads:
        if lead.stage == stage:
            result.unchanged += 1
            continue
        try:
            with transaction.atomic():
                lead_change_stage(lead=lead, stage=stage, by=by)
        except (ValidationError, PermissionDenied) as exc:
            message = " ".join(getattr(exc, "messages", None) or [str(exc)])
            result.refused.append(f"{lead.display_name}: {message}")
        else:
            result.changed += 1
    return result
