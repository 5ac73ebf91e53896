"""The sales dashboard: crm's figures, drawn with attribution's charts and filters, with
insights' alerts. A page that composes several apps sits at the top (README, "Architecture");
its URLs keep their names in the crm namespace (dashboards/urls.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.cache import never_cache

from attribution import charts
from attribution import dashboards as attribution_dashboards
from attribution import selectors as attribution_selectors
from clm import roles
from clm.csvexport import csv_response
from clm.dashcache import cached_data
from clm.filters import PRESETS, parse_filters
from crm import contact_times, dashboards, rollups
from insights.dashboards import sales_section
from leads.privacy import export_excluded_lead_ids

DASHBOARD_VIEWERS = (roles.ADMIN, roles.MARKETER, roles.SALES_MANAGER)


@rollups.settled()  # one refresh of the daily rollups for the whole page
def _dashboard_context(request: HttpRequest) -> dict[str, Any]:
    f = parse_filters(request.GET)
    user, currency = request.user, settings.CLM_CURRENCY
    pipeline = dashboards.pipeline_by_owner(user=user, f=f)
    medians = contact_times.contact_medians(user=user, f=f)  # one pass for tiles and leaderboard
    reps = dashboards.rep_leaderboard(user=user, f=f, medians=medians)
    sources = dashboards.sources(user=user, f=f)
    # One channel filtered: the "by channel" charts break it down by its campaigns.
    by = attribution_dashboards.breakdown(f)
    parts = dashboards.sources(user=user, f=f, by="campaign") if by == "campaign" else sources
    return {
        "filters": f,
        "presets": PRESETS,
        "models": [],  # attribution models do not apply to sales figures: no model select
        "choices": attribution_dashboards.filter_choices(),
        "run": attribution_selectors.latest_run(),
        "currency": currency,
        "now": timezone.now(),
        "tiles": dashboards.kpi_tiles(user=user, f=f, medians=medians),
        "pipeline": pipeline,
        "rep_rows": reps,
        "source_rows": sources,
        "breakdown": by,
        "waiting_rows": dashboards.waiting_rows(user=user, f=f),
        "waiting_limit": dashboards.WAITING_LIMIT,
        "figures": {
            "pipeline": charts.pipeline_by_owner(pipeline, currency),
            "first_contact": charts.first_contact_by_rep(reps),
            "win_rate": charts.win_rate_by_channel(parts, by=by),
            "deal_size": charts.deal_size_by_channel(parts, currency, by=by),
        },
    }


@never_cache
@roles.role_required(*DASHBOARD_VIEWERS)
def sales_dashboard(request: HttpRequest) -> HttpResponse:
    """Pipeline, wins, rep activity, speed to lead and which sources bring deals that close."""
    template = (
        "crm/_sales_body.html"
        if request.headers.get("X-CLM-Partial")
        else "crm/sales_dashboard.html"
    )

    context = cached_data(
        "sales",
        request.user,
        request.GET.urlencode(),
        lambda: _dashboard_context(request),
    )
    # Stored alerts, read on every view.
    context = {
        **context,
        "running": attribution_dashboards.running_run(),
        **sales_section(viewer=request.user),
    }
    return render(request, template, context)


@roles.role_required(*DASHBOARD_VIEWERS)
def sales_dashboard_export(request: HttpRequest, table: str) -> HttpResponse:
    """A sales dashboard table (leaderboard, sources, waiting) as CSV, formula cells neutralised."""
    if table not in dashboards.EXPORT_COLUMNS:
        raise Http404("Unknown table.")
    f = parse_filters(request.GET)
    rows = dashboards.export_table(table=table, user=request.user, f=f)
    if "lead_id" in dashboards.EXPORT_COLUMNS[table]:
        # People who withdrew consent (or were erased) are in no export.
        at = dashboards.EXPORT_COLUMNS[table].index("lead_id")
        excluded = export_excluded_lead_ids([row[at] for row in rows])
        rows = [row for row in rows if row[at] not in excluded]
    return csv_response(
        f"clm-sales-{table}-{f.start}-{f.end}.csv", dashboards.EXPORT_COLUMNS[table], rows
    )


# Mounted under /crm/ in the crm namespace, as before the page moved here.
crm_urlpatterns = [
    path("dashboard/", sales_dashboard, name="sales-dashboard"),
    path(
        "dashboard/export/<str:table>.csv",
        sales_dashboard_export,
        name="sales-dashboard-export",
    ),
]
