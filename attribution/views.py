"""Marketing / ROI pages: the dashboard, its drill-down, live status, CSV and recompute."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from attribution import charts, dashboards, engine, selectors, services
from attribution.models import AttributionRun
from attribution.self_reported import self_reported
from campaigns.models import Campaign, Channel
from clm import roles
from clm.csvexport import csv_response
from clm.filters import PRESETS, parse_filters
from crm import rollups
from crm.selectors import lead_quality_by_campaign, lead_quality_by_channel

VIEWERS = services.SHARE_VIEWERS["marketing"]
RUNNERS = (roles.ADMIN, roles.MARKETER)


@rollups.settled()  # one refresh of the daily rollups for the whole page
def dashboard_context(
    request: HttpRequest, query: Any = None, viewer: Any = None
) -> dict[str, Any]:
    f = parse_filters(request.GET if query is None else query, models=engine.MODELS)
    run = selectors.latest_run(model=f.model, scope=f.scope)
    currency = settings.CLM_CURRENCY
    # One channel filtered: the "by channel" figures break it down by its campaigns.
    by = dashboards.breakdown(f)
    # What reads only the run, spend and setup is cached apart from what reads leads.
    stored = dashboards.run_figures(run, f, by=by, currency=currency)
    user = viewer or request.user
    quality = lead_quality_by_channel(user=user, f=f)
    parts_quality = lead_quality_by_campaign(user=user, f=f) if by == "campaign" else quality
    colours = dashboards.channel_colors()
    choices = dashboards.filter_choices()
    channel_name = next((c["name"] for c in choices["channels"] if c["id"] == f.channel_id), "")
    return {
        "filters": f,
        "presets": PRESETS,
        "models": [(m, charts.MODEL_LABELS[m]) for m in engine.MODELS],
        "choices": choices,
        "run": run,
        "currency": currency,
        "tiles": stored["tiles"],
        "channel_rows": stored["channel_rows"],
        "campaign_rows": stored["campaign_rows"],
        "paths": dashboards.top_paths(run, f),
        "self_reported": self_reported(run, f),
        "quality_rows": quality,
        "breakdown": by,
        "breakdown_channel": channel_name,
        "can_run": roles.has_role(request.user, *RUNNERS),
        "scopes": _scope_links(f),
        "can_share": roles.has_role(request.user, roles.ADMIN),
        "figures": {
            "roi": stored["roi"],
            "spend_revenue": stored["spend_revenue"],
            "revenue_time": stored["revenue_time"],
            "funnel": charts.funnel_by_channel(
                dashboards.funnel_by_channel(run, f, by=by), colours, by=by
            ),
            "models": stored["models"],
            "quality": charts.lead_quality(parts_quality, key=by, colours=colours),
        },
    }


def _scope_links(f: Any) -> list[dict[str, Any]]:
    """The scope switch: Contacts | Accounts, each a link to the same view in that scope."""
    labels = dict(AttributionRun.Scope.choices)
    return [
        {"key": key, "label": labels[key], "query": f.query(scope=key), "on": key == f.scope}
        for key in AttributionRun.Scope.values
    ]


def _scope(raw: str | None) -> str:
    return raw if raw in AttributionRun.Scope.values else AttributionRun.Scope.CONTACT


@never_cache
@roles.role_required(*VIEWERS)
def status(request: HttpRequest) -> JsonResponse:
    """The newest finished run (of the scope asked, ?scope=) and any run in progress (its
    percent done): open dashboards poll this, and the Recompute button stays disabled while
    `running` is not null."""
    latest = selectors.latest_run(scope=_scope(request.GET.get("scope")))
    running = dashboards.running_run()
    return JsonResponse(
        {
            "latest_run": latest.pk if latest else None,
            "refreshed_at": cache.get("attribution:refreshed-at"),
            "running": _progress(running) if running else None,
        }
    )


def _progress(run: Any) -> dict[str, Any]:
    """The run's progress with the banner's text, so the page shows it before it reloads."""
    banner = _("Attribution run #%(pk)s is %(status)s") % {
        "pk": run.pk,
        "status": run.get_status_display().lower(),
    }
    return {**selectors.run_progress(run), "banner": banner}


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


@never_cache
@require_POST
@roles.role_required(*RUNNERS)
def start_run(request: HttpRequest) -> HttpResponse:
    """Recompute attribution (all models, in the scope chosen: contacts or accounts) from the
    dashboard: the run is queued for the worker and the request returns at once. One run per
    scope at a time (services.run_start): the dashboard's script gets 202 with the new run's
    progress, or 409 with the run in progress; a plain form post is redirected back with a
    message. An unknown scope is a 400."""
    scope = request.POST.get("scope") or AttributionRun.Scope.CONTACT
    if scope not in AttributionRun.Scope.values:
        text = _("Choose contacts or accounts.")
        if _wants_json(request):
            return JsonResponse({"code": "invalid", "errors": {"scope": [text]}}, status=400)
        return HttpResponse(text, status=400)
    try:
        run = services.run_start(created_by=request.user, scope=scope)
    except services.RunInProgress as exc:
        text = _("A run is in progress already.")
        if _wants_json(request):
            body = {"detail": text, "running": _progress(exc.run)}
            return JsonResponse(body, status=409)
        messages.info(request, text)
    else:
        text = _("Attribution run #%(pk)s started.") % {"pk": run.pk}
        if _wants_json(request):
            run.refresh_from_db()  # eager (no worker): it ran already
            return JsonResponse({"detail": text, "run": _progress(run)}, status=202)
        messages.success(request, text)
    back = request.POST.get("next", "")
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("attribution:marketing-dashboard")
    return redirect(back)


@roles.role_required(*VIEWERS)
def export_csv(request: HttpRequest, table: str) -> HttpResponse:
    """The channel or campaign ROI table as CSV, with formula cells neutralised."""
    if table not in ("channels", "campaigns"):
        return HttpResponse("Unknown table.", status=404)
    f = parse_filters(request.GET, models=engine.MODELS)
    run = selectors.latest_run(model=f.model, scope=f.scope)
    rows = dashboards.roi_rows(run, f, "channel" if table == "channels" else "campaign")
    header = [
        "name", "channel", "spend", "leads", "opportunities", "pipeline", "deals", "revenue",
        "roi", "roas", "cost_per_lead", "cost_per_opportunity", "cac",
    ]  # fmt: skip
    body = [[r.as_dict()[h] for h in header] for r in rows]
    scope = "" if f.scope == AttributionRun.Scope.CONTACT else f"-{f.scope}"
    name = f"clm-{table}-{f.model}{scope}-{f.start}-{f.end}.csv"
    return csv_response(name, header, body)


@roles.role_required(*VIEWERS)
def deals_drilldown(request: HttpRequest) -> HttpResponse:
    """The won deals behind a channel's or campaign's revenue, and the credit each gave it."""
    f = parse_filters(request.GET, models=engine.MODELS)
    run = selectors.latest_run(model=f.model, scope=f.scope)

    return render(
        request,
        "attribution/deals_drilldown.html",
        {
            "filters": f,
            "run": run,
            "channel": Channel.objects.filter(pk=f.channel_id).first(),
            "campaign": Campaign.objects.filter(pk=f.campaign_id).first(),
            "deals": dashboards.deals_behind(run, f, user=request.user),
            "campaign_rows": dashboards.roi_rows(run, f, "campaign") if f.channel_id else [],
            "currency": settings.CLM_CURRENCY,
        },
    )


@require_POST
@roles.role_required(roles.ADMIN)
def share_create(request: HttpRequest) -> HttpResponse:
    """Admins make a read-only link to the current view for people without an account."""
    try:
        days = int(request.POST.get("days", "14"))
        link, token = services.share_link_create(
            label=request.POST.get("label", ""),
            query=request.POST.get("query", ""),
            days=days,
            created_by=request.user,
        )
    except ValueError as exc:
        messages.error(request, _("No link made: %(error)s") % {"error": exc})
    else:
        url = request.build_absolute_uri(reverse("attribution:shared", args=[token]))
        messages.success(
            request,
            _(
                "Share link for “%(label)s” (valid until %(date)s; "
                "revoke it in Setup, Share links): %(url)s"
            )
            % {"label": link.label, "date": date_format(link.expires_at), "url": url},
            extra_tags="copy",
        )
    query = request.POST.get("query", "")
    return redirect(reverse("attribution:marketing-dashboard") + (f"?{query}" if query else ""))


@never_cache
def shared_dashboard(request: HttpRequest, token: str) -> HttpResponse:
    """The read-only view behind a share link: its filters fixed, no drill-down to people."""
    from django.http import QueryDict

    try:
        link = services.share_link_resolve(token)
    except services.ShareLinkGone:
        return render(request, "attribution/share_invalid.html", {"gone": True}, status=410)
    if link is None:
        return render(request, "attribution/share_invalid.html", status=404)
    context = dashboard_context(request, QueryDict(link.query), viewer=link.created_by)
    context.update(shared=True, share=link, can_run=False, can_share=False)
    return render(request, "attribution/shared_dashboard.html", context)
