"""Follow-ups on the pages: "My day", a task from the lead page, done in one tap."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clm import roles
from crm import selectors, services
from crm.forms import TaskForm
from crm.models import Activity, Task
from crm.permissions import CHANGE
from leads.models import Lead


def task_context(request: HttpRequest, lead: Lead, form: TaskForm | None = None) -> dict[str, Any]:
    """What the lead page's follow-up card shows: the lead's tasks and the form, prefilled
    with what a just-logged outcome proposes (`?follow_up=<outcome>`)."""
    outcome = request.GET.get("follow_up", "")
    proposal = services.follow_up_proposal(
        lead=lead, outcome=outcome, meeting_at=_meeting_time(request.GET.get("at", ""))
    )
    if proposal:
        proposal["outcome_label"] = Activity.Outcome(outcome).label
    if form is None:
        # Empty form: due the next working day at 10:00, like a "call back later".
        default = services.follow_up_proposal(lead=lead, outcome=Activity.Outcome.CALL_BACK)
        initial: dict[str, Any] = {"kind": Task.Kind.CALL, "due_at": default["due_at"]}
        if proposal:
            initial = {k: proposal[k] for k in ("kind", "title", "due_at")}
        form = TaskForm(initial=initial)
        due_value = timezone.localtime(initial["due_at"]).strftime("%Y-%m-%dT%H:%M")
    else:
        due_value = str(form.data.get("due_at", ""))[:32]
    return {
        "tasks": selectors.lead_tasks(user=request.user, lead=lead),
        "task_form": form,
        "task_kinds": Task.Kind.choices,
        "task_now": timezone.now(),
        "task_due_value": due_value,
        "proposal": proposal,
    }


def _meeting_time(value: str) -> datetime | None:
    """The booked meeting's time from the URL (`at=YYYY-MM-DDTHH:MM`, local time); None when
    absent or not such a time (anyone can edit a URL)."""
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M")
    except ValueError:
        return None
    try:
        return timezone.make_aware(moment)
    except (ValueError, OverflowError):  # a time the clocks skip, or out of range
        return None


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _visible_task(request: HttpRequest, pk: int) -> Task:
    return get_object_or_404(selectors.tasks_visible_to(request.user).select_related("lead"), pk=pk)


@require_POST
@roles.role_required(*CHANGE)
def task_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a task done (one tap from "My day" or the lead page)."""
    task = _visible_task(request, pk)
    try:
        services.task_complete(task=task, by=request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Done: %(title)s.") % {"title": task.title})
    return redirect(_back(request, reverse("crm:my-day")))


@require_POST
@roles.role_required(*CHANGE)
def task_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo "done"."""
    task = _visible_task(request, pk)
    try:
        services.task_reopen(task=task, by=request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Reopened: %(title)s.") % {"title": task.title})
    return redirect(_back(request, reverse("crm:my-day")))


@roles.role_required(*CHANGE)
def my_day(request: HttpRequest) -> HttpResponse:
    """The user's follow-ups: overdue and today's first, then upcoming; a manager also sees the
    team's overdue ones."""
    day = selectors.my_day(user=request.user)
    return render(
        request, "crm/my_day.html", {"day": day, "now": timezone.now(), "next": request.path}
    )
