"""The campaign pages: campaigns with their performance under a chosen attribution model and
the UTM campaigns seen on touches that none claims, and a campaign with its performance per
week (dashboards/campaign_performance.py), its tracked-link builder (checked against the
sources and mediums seen on traffic) and its links' visits, leads and won revenue. They compose
campaigns, leads' touches, crm's deals and attribution's credits, so they sit at the top
(README, "Architecture"); their URLs keep their names in the campaigns namespace
(dashboards/urls.py)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q, Sum
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from attribution import charts
from campaigns import services
from campaigns.links import check_link, placements_by_channel
from campaigns.models import Campaign
from campaigns.views import CAMPAIGN_EDITORS
from clm import roles
from clm.public_url import public_base_url
from crm.models import Deal
from dashboards import campaign_performance as performance
from leads import selectors as leads_selectors
from leads import untracked
from leads.models import Touchpoint


@dataclass
class LinkStats:
    """What one tracked link brought in: visits, leads, and won revenue of those leads."""

    link: Any
    visits: int = 0
    leads: int = 0
    won_deals: int = 0
    revenue: Any = 0


def tracked_link_stats(*, campaign: Campaign) -> list[LinkStats]:
    """The campaign's links with their visits, leads and won revenue, in three queries.

    A touchpoint belongs to a link when its utm_campaign/source/medium/content/term equal the
    link's (case-insensitive). Visits are page views that start a visit; leads are the distinct
    leads with any such touch; revenue is their won deals. A lead reached by two links counts
    in both, so the rows do not add up to the campaign total.
    """
    links = list(campaign.links.select_related("created_by"))
    if not links:
        return []
    by_key = {(lk.source, lk.medium, lk.content, lk.term): LinkStats(link=lk) for lk in links}
    rows = (
        Touchpoint.objects.filter(utm_campaign__iexact=campaign.utm_campaign)
        .annotate(
            s=Lower("utm_source"),
            m=Lower("utm_medium"),
            c=Lower("utm_content"),
            t=Lower("utm_term"),
        )
        .values("s", "m", "c", "t", "lead_id")
        .annotate(visits=Count("id", filter=Q(kind=Touchpoint.Kind.PAGE_VIEW, self_referral=False)))
    )
    leads_of: dict[tuple[str, str, str, str], set[int]] = {}
    for row in rows:
        stats = by_key.get((row["s"], row["m"], row["c"], row["t"]))
        if stats is None:
            continue
        stats.visits += row["visits"]
        if row["lead_id"]:
            leads_of.setdefault((row["s"], row["m"], row["c"], row["t"]), set()).add(row["lead_id"])
    all_leads = set().union(*leads_of.values()) if leads_of else set()
    revenue: dict[int, tuple[int, Decimal]] = {}
    if all_leads:
        won = (
            Deal.objects.filter(lead_id__in=sorted(all_leads), stage__is_won=True)
            .values("lead_id")
            .annotate(n=Count("id"), total=Sum("amount"))
        )
        revenue = {r["lead_id"]: (r["n"], r["total"] or Decimal(0)) for r in won}
    for key, lead_ids in leads_of.items():
        stats = by_key[key]
        stats.leads = len(lead_ids)
        stats.won_deals = sum(revenue.get(pk, (0, 0))[0] for pk in lead_ids)
        stats.revenue = sum((revenue.get(pk, (0, Decimal(0)))[1] for pk in lead_ids), Decimal(0))
    return [by_key[(lk.source, lk.medium, lk.content, lk.term)] for lk in links]


@roles.role_required(*CAMPAIGN_EDITORS)
def campaign_list(request: HttpRequest) -> HttpResponse:
    """Every campaign with dates, budget, spend to date and pacing, leads, qualified leads,
    won revenue and ROI under the chosen model; untracked UTM campaigns below."""
    model = performance.model_of(request)
    return render(
        request,
        "campaigns/campaign_list.html",
        {
            **performance.model_context(model),
            "rows": performance.campaign_rows(model=model, user=request.user),
            "untracked": untracked.untracked_campaigns(),
        },
    )


@require_POST
@roles.role_required(*CAMPAIGN_EDITORS)
def campaign_register(request: HttpRequest) -> HttpResponse:
    """Register an untracked utm_campaign as a campaign in one click."""
    value = request.POST.get("utm_campaign", "")[:255]
    try:
        campaign = untracked.campaign_register_untracked(utm_campaign=value, owner=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("Registered “%(name)s”; its touches are linked.") % {"name": campaign.name}
        )
    return redirect("campaigns:list")


def _landing_pages(request: HttpRequest) -> list[str]:
    base = public_base_url(request)
    return [f"{base}/l/{slug}/" for slug in leads_selectors.active_form_slugs()]


@roles.role_required(*CAMPAIGN_EDITORS)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A campaign's spend against budget and results per week (under the chosen model) above
    the tracked-link builder and its links' visits, leads and revenue."""
    campaign = get_object_or_404(Campaign.objects.select_related("channel", "owner"), pk=pk)
    values = {
        k: request.POST.get(k, "") for k in ("destination", "source", "medium", "content", "term")
    }
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            link, warnings = services.tracked_link_create(
                campaign=campaign, by=request.user, seen=leads_selectors.utm_values_seen, **values
            )
        except services.TrackedLinkRefused as exc:
            errors, status = exc.check.errors, 400
        else:
            messages.success(request, _("Tracked link ready: %s") % link.url, extra_tags="copy")
            for warning in warnings:
                messages.warning(request, warning)
            return redirect(f"{request.path}#link-{link.pk}")
    model = performance.model_of(request)
    context = performance.model_context(model)
    today = timezone.localdate()
    weeks, to_date = performance.campaign_weeks(
        campaign=campaign, run=context["run"], model=model, user=request.user, today=today
    )
    total = performance.Results()
    for w in weeks:
        total.spend += w.results.spend
        total.leads += w.results.leads
        total.qualified += w.results.qualified
        total.deals += w.results.deals
        total.revenue_cents += w.results.revenue_cents
    placements = (
        placements_by_channel(seen=leads_selectors.utm_values_seen).get(campaign.channel.name)
        if campaign.channel
        else None
    )
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            **context,
            "campaign": campaign,
            "weeks": weeks,
            "total": total,
            "pacing": performance.pacing(campaign, to_date, today),
            "spend_to_date": to_date,
            "figure": charts.campaign_weeks(weeks, settings.CLM_CURRENCY),
            "links": tracked_link_stats(campaign=campaign),
            "placements": placements,
            "values": values,
            "errors": errors,
            "landing_pages": _landing_pages(request),
            "public_base": public_base_url(request),
        },
        status=status,
    )


@roles.role_required(*CAMPAIGN_EDITORS)
def link_preview(request: HttpRequest, pk: int) -> JsonResponse:
    """The tagged URL, its channel (by the real rules), errors and warnings, while typing."""
    campaign = get_object_or_404(Campaign.objects.select_related("channel"), pk=pk)
    check, _values = check_link(
        campaign=campaign,
        seen=leads_selectors.utm_values_seen,
        **{
            k: request.GET.get(k, "")[:1000]
            for k in ("destination", "source", "medium", "content", "term")
        },
    )
    return JsonResponse(check.as_dict())


campaigns_urlpatterns = [
    path("", campaign_list, name="list"),
    path("<int:pk>/", campaign_detail, name="detail"),
    path("<int:pk>/links/preview/", link_preview, name="link-preview"),
    path("register/", campaign_register, name="register"),
]
