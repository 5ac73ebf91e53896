"""Insights pages: lead-scoring validation for admins, alerts and email subscriptions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from clm import roles
from insights import selectors
from insights.alerts import (
    SNOOZE_MAX_DAYS,
    alert_assign,
    alert_dismiss,
    alert_reopen,
    alert_snooze,
    alert_subscribe,
)
from insights.forms import AlertActionForm
from insights.models import Alert, AlertSubscription, ScoringModel
from insights.scoring import score_summary


@roles.role_required(roles.ADMIN)
def scoring(request: HttpRequest) -> HttpResponse:
    """The newest scoring model's held-out AUC and calibration, and every earlier version."""
    versions = list(ScoringModel.objects.order_by("-trained_at", "-id")[:20])
    current = versions[0] if versions else None
    return render(
        request,
        "insights/scoring.html",
        {
            "current": current,
            "versions": versions,
            "summary": score_summary(current) if current else None,
        },
    )


def _alerts_context(request: HttpRequest, view: str) -> dict[str, Any]:
    subscription = AlertSubscription.objects.filter(user=request.user).first()
    allowed = selectors.alert_kinds_for(request.user)
    alerts = selectors.alerts_page(viewer=request.user, view=view)
    assignees = {kind: selectors.alert_assignees(Alert(kind=kind)) for kind in allowed}
    for alert in alerts:
        alert.assignee_choices = assignees.get(alert.kind, [])
    today = timezone.localdate()
    return {
        "alerts": alerts,
        "view": view,
        "views": [
            ("open", _("Open")),
            ("mine", _("Assigned to me")),
            ("snoozed", _("Snoozed")),
            ("dismissed", _("Dismissed")),
        ],
        "kinds": [(k, label) for k, label in Alert.Kind.choices if k in allowed],
        "chosen": set(subscription.kinds) if subscription else set(),
        "errors": [],
        "has_email": bool(request.user.email),
        "tomorrow": today + timedelta(days=1),
        "next_week": today + timedelta(days=7),
        "snooze_max": today + timedelta(days=SNOOZE_MAX_DAYS),
    }


def _view_of(request: HttpRequest) -> str:
    view = request.GET.get("view") or request.POST.get("view") or "open"
    return view if view in selectors.ALERT_VIEWS else "open"


@require_http_methods(["GET", "POST"])
@roles.role_required(*roles.ANY_ROLE)
def alerts(request: HttpRequest) -> HttpResponse:
    """Alerts to act on (open, assigned to me, snoozed, dismissed) and the alert kinds the user
    gets by email."""
    errors, status = [], 200
    if request.method == "POST":
        try:
            alert_subscribe(user=request.user, kinds=request.POST.getlist("kinds"))
        except ValidationError as exc:
            errors, status = exc.messages, 400
        except PermissionDenied as exc:
            errors, status = [str(exc)], 403
        else:
            messages.success(request, _("Alert emails saved."))
            return redirect("insights:alerts")
    context = _alerts_context(request, _view_of(request))
    context["errors"] = errors
    return render(request, "insights/alerts.html", context, status=status)


ACTION_DONE = {
    "dismiss": gettext_lazy("Alert dismissed."),
    "snooze": gettext_lazy("Alert snoozed."),
    "assign": gettext_lazy("Alert assigned."),
    "reopen": gettext_lazy("Alert reopened."),
}


@require_POST
@roles.role_required(*roles.ANY_ROLE)
def alert_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Dismiss, snooze, assign or reopen one alert the user may see (else 404)."""
    alert = get_object_or_404(
        selectors.alerts_visible_to(request.user, Alert.objects.filter(resolved_at__isnull=True)),
        pk=pk,
    )
    form = AlertActionForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors)
        action, data = form.cleaned_data["action"], form.cleaned_data
        if action == "dismiss":
            alert_dismiss(alert=alert, by=request.user)
        elif action == "snooze":
            alert_snooze(alert=alert, by=request.user, until=data["until"])
        elif action == "assign":
            alert_assign(alert=alert, by=request.user, assignee=data["assignee"])
        else:
            alert_reopen(alert=alert, by=request.user)
    except ValidationError as exc:
        context = _alerts_context(request, _view_of(request))
        context["action_errors"] = {alert.pk: _messages(exc)}
        return render(request, "insights/alerts.html", context, status=400)
    messages.success(request, ACTION_DONE[action])
    view = _view_of(request)
    url = reverse("insights:alerts")
    return redirect(url if view == "open" else f"{url}?view={view}")


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [
            f"{AlertActionForm.LABELS.get(field, field)}: {message}"
            for field, errors in exc.message_dict.items()
            for message in errors
        ]
    return list(exc.messages)
