"""The work queue as a work list: CSV export, saved views, bulk stage changes.

Everything starts from what the viewer may see (crm.selectors.leads_visible_to): an export, a
saved view (even one a manager shared) and a bulk action never reach another rep's leads.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from clm import roles
from clm.csvexport import csv_response
from crm import selectors, services
from crm.forms import BulkStageForm, SavedViewForm
from crm.models import SavedView
from crm.permissions import CHANGE
from leads.models import Lead

EXPORT_LIMIT = 50_000
EXPORT_HEADER = (
    "id", "first_name", "last_name", "email", "company", "phone", "stage", "owner",
    "first_channel", "first_campaign", "score", "fit", "captured", "last_contact",
)  # fmt: skip


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("crm:queue")


@roles.role_required(*roles.ANY_ROLE)
def queue_export(request: HttpRequest, filters: selectors.QueueFilters) -> HttpResponse:
    """The queue as CSV: the leads the viewer may see that match the filters (formula-safe)."""
    rows = selectors.queue_export_rows(user=request.user, filters=filters, limit=EXPORT_LIMIT)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(f"leads-{stamp}.csv", EXPORT_HEADER, rows)


@require_POST
@roles.role_required(*roles.ANY_ROLE)
def view_save(request: HttpRequest) -> HttpResponse:
    """Save the queue's filters under a name (shared with the team: managers only)."""
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect(_back(request))
    data = form.cleaned_data
    try:
        view = services.saved_view_save(
            owner=request.user, name=data["name"], query=data["query"], shared=data["shared"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_back(request))
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(f"{reverse('crm:queue')}?{view.query}&view={view.pk}")


@require_POST
@roles.role_required(*roles.ANY_ROLE)
def view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete one of the user's views (a manager also a shared one)."""
    view = get_object_or_404(selectors.saved_views_for(request.user), pk=pk)
    try:
        services.saved_view_delete(view=view, by=request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect("crm:queue")


@require_POST
@roles.role_required(*CHANGE)
def bulk_stage(request: HttpRequest) -> HttpResponse:
    """Move the leads ticked in the queue to one stage; the message says what changed."""
    form = BulkStageForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect(_back(request))
    stage = form.cleaned_data["stage"]
    try:
        result = services.leads_bulk_change_stage(
            leads=form.cleaned_data["leads"], stage=stage, by=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_back(request))
    label = Lead.Stage(stage).label
    parts = [
        ngettext(
            "%(n)d lead moved to %(stage)s.", "%(n)d leads moved to %(stage)s.", result.changed
        )
        % {"n": result.changed, "stage": label}
    ]
    if result.unchanged:
        parts.append(
            ngettext("%(n)d was already there.", "%(n)d were already there.", result.unchanged)
            % {"n": result.unchanged}
        )
    if result.refused:
        parts.append(_("Not moved: %(list)s") % {"list": "; ".join(result.refused[:5])})
    (messages.warning if result.refused else messages.success)(request, " ".join(parts))
    return redirect(_back(request))


def saved_view_of(request: HttpRequest) -> SavedView | None:
    """The saved view named by `?view=<id>` if the user may open it."""
    raw = request.GET.get("view", "")
    if not (raw.isdigit() and len(raw) <= 18):
        return None
    return selectors.saved_views_for(request.user).filter(pk=int(raw)).first()
