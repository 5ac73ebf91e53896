"""Insights pages: lead-scoring validation for admins, alerts and email subscriptions."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clm import roles
from insights import selectors
from insights.alerts import alert_subscribe
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


@require_http_methods(["GET", "POST"])
@roles.role_required(*roles.ANY_ROLE)
def alerts(request: HttpRequest) -> HttpResponse:
    """Open alerts and the alert kinds the user gets by email."""
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
    subscription = AlertSubscription.objects.filter(user=request.user).first()
    allowed = selectors.alert_kinds_for(request.user)
    return render(
        request,
        "insights/alerts.html",
        {
            "alerts": selectors.open_alerts(viewer=request.user, limit=200),
            "kinds": [(k, label) for k, label in Alert.Kind.choices if k in allowed],
            "chosen": set(subscription.kinds) if subscription else set(),
            "errors": errors,
            "has_email": bool(request.user.email),
        },
        status=status,
    )
