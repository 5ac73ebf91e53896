"""Follow-ups: create, complete, reopen, edit, delete; the reminder sweep of due tasks."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clm import roles
from clm.mail import mail_subject
from crm.models import Activity, Task
from crm.permissions import (
    Actor,
    ensure_may_change_lead,
    ensure_may_manage,
    may_manage,
)
from crm.services.lifecycle import validate_owner
from leads.models import Lead

logger = logging.getLogger(__name__)

# How far a due time may lie in the past (a follow-up logged a little late) or the future.
PAST_GRACE = timedelta(days=1)
FUTURE_LIMIT = timedelta(days=2 * 365)
TITLE_MAX = 200
# Outcomes that propose a follow-up: the task's kind, title and when it falls due by default.
PROPOSALS: dict[str, tuple[str, Any]] = {
    Activity.Outcome.CALL_BACK: (Task.Kind.CALL, gettext_lazy("Call back %(name)s")),
    Activity.Outcome.MEETING_BOOKED: (Task.Kind.MEETING, gettext_lazy("Meeting with %(name)s")),
    Activity.Outcome.LEFT_VOICEMAIL: (Task.Kind.CALL, gettext_lazy("Try %(name)s again")),
}


def _validate(*, title: str, kind: str, due_at: datetime | None, now: datetime) -> str:
    errors: dict[str, str] = {}
    title = " ".join(str(title or "").replace("\x00", " ").split())
    if not title:
        errors["title"] = _("Say what to do.")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("At most %(n)d characters.") % {"n": TITLE_MAX}
    if kind not in Task.Kind.values:
        errors["kind"] = _("Unknown kind “%(kind)s”.") % {"kind": kind}
    if due_at is None:
        errors["due_at"] = _("Say when it is due.")
    elif timezone.is_naive(due_at):
        errors["due_at"] = _("Give the due time with its time zone.")
    elif due_at < now - PAST_GRACE:
        errors["due_at"] = _("That is more than a day ago.")
    elif due_at > now + FUTURE_LIMIT:
        errors["due_at"] = _("That is more than two years ahead.")
    if errors:
        raise ValidationError(errors)
    return title


def _check_assignee(*, assignee: AbstractUser | None, by: Actor) -> None:
    validate_owner(owner=assignee)
    if assignee is not None and by is not None and assignee.pk != by.pk and not may_manage(by):
        raise ValidationError({"assignee": _("A rep gives follow-ups only to themselves.")})


def ensure_may_change_task(user: Actor, task: Task) -> None:
    """Raise PermissionDenied unless `user` may change the task: its assignee, or whoever may
    change its lead."""
    if user is None or (task.assignee_id == user.pk and roles.has_role(user, *roles.ANY_ROLE)):
        return
    ensure_may_change_lead(user, task.lead)


@transaction.atomic
def task_create(
    *,
    lead: Lead,
    title: str,
    due_at: datetime | None,
    by: Actor,
    kind: str = Task.Kind.CALL,
    assignee: AbstractUser | None = None,
) -> Task:
    """A follow-up on the lead, due at `due_at`, for `assignee` (default: the lead's owner,
    else whoever creates it)."""
    ensure_may_change_lead(by, lead)
    now = timezone.now()
    title = _validate(title=title, kind=kind, due_at=due_at, now=now)
    if assignee is None:
        assignee = lead.owner if lead.owner_id else by
    elif assignee != by:
        _check_assignee(assignee=assignee, by=by)
    return Task.objects.create(
        lead=lead, title=title, kind=kind, due_at=due_at, assignee=assignee, created_by=by
    )


@transaction.atomic
def task_complete(*, task: Task, by: Actor) -> Task:
    """Mark the task done; a task already done stays as it was (done once, at its first time)."""
    ensure_may_change_task(by, task)
    now = timezone.now()
    if Task.objects.filter(pk=task.pk, done_at__isnull=True).update(done_at=now):
        task.done_at = now
    else:
        task.refresh_from_db(fields=["done_at"])
    return task


@transaction.atomic
def task_reopen(*, task: Task, by: Actor) -> Task:
    """Undo "done": the task is open again (its reminder, if sent, is not sent again)."""
    ensure_may_change_task(by, task)
    Task.objects.filter(pk=task.pk).update(done_at=None)
    task.done_at = None
    return task


@transaction.atomic
def task_update(*, task: Task, by: Actor, data: dict[str, Any]) -> Task:
    """Change a task's title, kind, due time, assignee or done state (`done`: bool).

    A new due time in the future makes the reminder due again."""
    ensure_may_change_task(by, task)
    task = Task.objects.select_for_update().select_related("lead").get(pk=task.pk)
    now = timezone.now()
    title = data.get("title", task.title)
    kind = data.get("kind", task.kind)
    due_at = data.get("due_at", task.due_at)
    if {"title", "kind", "due_at"} & set(data):
        title = _validate(title=title, kind=kind, due_at=due_at, now=now)
    if "assignee" in data and data["assignee"] != task.assignee:
        _check_assignee(assignee=data["assignee"], by=by)
        task.assignee = data["assignee"]
    if due_at != task.due_at and due_at > now:
        task.reminder_sent_at = None
    task.title, task.kind, task.due_at = title, kind, due_at
    if "done" in data:
        task.done_at = (task.done_at or now) if data["done"] else None
    task.save()
    return task


def task_delete(*, task: Task, by: Actor) -> None:
    """Delete a task (managers and admins; a done task is better kept as a record)."""
    ensure_may_manage(by)
    task.delete()


def follow_up_proposal(
    *, lead: Lead, outcome: str, now: datetime | None = None, meeting_at: datetime | None = None
) -> dict[str, Any]:
    """The follow-up an outcome proposes (kind, title, due time), or {} when it proposes none.

    "Meeting booked" with the meeting's time: due then; otherwise (and for "Call back later"
    and a voicemail) the next working day at 10:00, for the rep to adjust."""
    if outcome not in PROPOSALS:
        return {}
    kind, title = PROPOSALS[outcome]
    local = timezone.localtime(now or timezone.now())
    day = local.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    due = timezone.make_aware(datetime.combine(day, time(10, 0)), local.tzinfo)
    if outcome == Activity.Outcome.MEETING_BOOKED and meeting_at is not None:
        due = meeting_at
    return {
        "kind": kind,
        "title": str(title) % {"name": lead.display_name},
        "due_at": due,
        "outcome": outcome,
    }


def _reminder_body(task: Task, base_url: str) -> str:
    link = base_url.rstrip("/") + reverse("crm:lead", args=[task.lead_id])
    due = timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M")
    return _(
        "%(title)s is due (%(due)s).\n\nLead: %(lead)s\n%(link)s\n\n"
        "Mark it done on your day: %(day)s\n"
    ) % {
        "title": task.title,
        "due": due,
        "lead": task.lead.display_name,
        "link": link,
        "day": base_url.rstrip("/") + reverse("crm:my-day"),
    }


def tasks_send_reminders(*, now: datetime | None = None) -> int:
    """Email each open task's assignee once it is due; returns how many reminders were sent.

    Each task is claimed by a conditional update (reminder_sent_at from empty to now) before its
    mail goes out, so a rerun, or a second beat, sends nothing new; a mail that fails releases
    its claim for the next sweep."""
    now = now or timezone.now()
    due = (
        Task.objects.filter(done_at__isnull=True, reminder_sent_at__isnull=True, due_at__lte=now)
        .exclude(assignee__isnull=True)
        .exclude(assignee__email="")
        .select_related("lead", "assignee")
        .order_by("due_at", "id")[:500]
    )
    sent = 0
    for task in due:
        if not Task.objects.filter(pk=task.pk, reminder_sent_at__isnull=True).update(
            reminder_sent_at=now
        ):
            continue  # another sweep took it
        try:
            send_mail(
                mail_subject(_("Follow-up due: %(title)s") % {"title": task.title}),
                _reminder_body(task, settings.CLM_PUBLIC_URL),
                None,
                [task.assignee.email],
            )
        except Exception:
            logger.exception("task reminder %s not sent", task.pk)
            Task.objects.filter(pk=task.pk).update(reminder_sent_at=None)
            continue
        sent += 1
    return sent
