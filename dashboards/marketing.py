"""The marketing dashboard: attribution's figures with crm's lead quality and insights' advice
and alerts. A page that composes several apps sits at the top (README, "Architecture"); its
URL keeps its name in the attribution namespace (dashboards/urls.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache

from attribution import dashboards
from attribution import views as attribution_views
from clm import roles
from clm.dashcache import cached_data
from insights.dashboards import marketing_section
from mix import selectors as mix_selectors


@never_cache
@roles.role_required(*attribution_views.VIEWERS)
def marketing_dashboard(request: HttpRequest) -> HttpResponse:
    """Which channels and campaigns pay: ROI per channel and campaign from the latest run."""
    context = cached_data(
        "marketing",
        request.user,
        request.GET.urlencode(),
        lambda: attribution_views.dashboard_context(request),
    )
    # Stored rows, read on every view.
    mix_run = mix_selectors.latest_run(outcome="revenue")
    # The budget advice comes from the latest mix model fit on revenue; the power-law curves
    # on attributed revenue (insights) are the labelled fallback while there is none.
    context = {**context, "running": dashboards.running_run(), "mix_run": mix_run,
               "mix_advice": mix_selectors.budget_advice(mix_run) if mix_run else None}  # fmt: skip
    if context["filters"].scope == "contact":  # advice and alerts follow contact runs only
        context.update(marketing_section(run=context["run"], model=context["filters"].model,
                                         viewer=request.user))  # fmt: skip
    template = (
        "attribution/_marketing_body.html"
        if request.headers.get("X-CLM-Partial")
        else "attribution/marketing_dashboard.html"
    )
    return render(request, template, context)


# Mounted under /dashboards/ in the attribution namespace, as before the page moved here.
attribution_urlpatterns = [
    path("marketing/", marketing_dashboard, name="marketing-dashboard"),
]
