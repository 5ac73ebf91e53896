"""Campaign, spend and channel-rule pages for marketers and admins."""

from __future__ import annotations

from django.contrib import messages
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns import selectors, services
from campaigns.forms import (
    CampaignForm,
    SpendUploadForm,
)
from campaigns.models import Campaign
from campaigns.spend_import import SpendImportError, import_spend
from clm import roles
from clm.public_url import public_base_url

CAMPAIGN_EDITORS = (roles.ADMIN, roles.MARKETER)


@roles.role_required(*CAMPAIGN_EDITORS)
def campaign_list(request: HttpRequest) -> HttpResponse:
    """Every campaign with channel, dates, budget and spend; untracked UTM campaigns below."""
    return render(
        request,
        "campaigns/campaign_list.html",
        {
            "campaigns": selectors.campaigns_with_spend(),
            "untracked": selectors.untracked_campaigns(),
        },
    )


@roles.role_required(*CAMPAIGN_EDITORS)
def campaign_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create or edit a campaign."""
    campaign = get_object_or_404(Campaign, pk=pk) if pk else None
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.campaign_save(campaign=form.save(commit=False))
        except IntegrityError:
            form.add_error("utm_campaign", _("A campaign with these UTM values exists already."))
        else:
            messages.success(request, _("Campaign “%(name)s” saved.") % {"name": saved.name})
            return redirect("campaigns:list")
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})


@require_POST
@roles.role_required(*CAMPAIGN_EDITORS)
def campaign_register(request: HttpRequest) -> HttpResponse:
    """Register an untracked utm_campaign as a campaign in one click."""
    value = request.POST.get("utm_campaign", "")[:255]
    try:
        campaign = services.campaign_register_untracked(utm_campaign=value, owner=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("Registered “%(name)s”; its touches are linked.") % {"name": campaign.name}
        )
    return redirect("campaigns:list")


@roles.role_required(*CAMPAIGN_EDITORS)
def spend_upload(request: HttpRequest) -> HttpResponse:
    """Upload a spend CSV; shows the import report, or the rows that made it fail."""
    form = SpendUploadForm(request.POST or None, request.FILES or None)
    report, status = None, 200
    if request.method == "POST" and form.is_valid():
        try:
            report = import_spend(
                form.cleaned_data["file"].read(),
                source=form.cleaned_data["source"] or None,
                create_campaigns=form.cleaned_data["create_campaigns"],
            )
        except SpendImportError as exc:
            report, status = exc.report, 400
        else:
            messages.success(request, report.summary())
    elif request.method == "POST":
        status = 400
    return render(
        request, "campaigns/spend_upload.html", {"form": form, "report": report}, status=status
    )


def _landing_pages(request: HttpRequest) -> list[str]:
    from leads.models import CaptureForm

    slugs = CaptureForm.objects.filter(is_active=True, slug__isnull=False).values_list(
        "slug", flat=True
    )
    base = public_base_url(request)
    return [f"{base}/l/{slug}/" for slug in slugs]


@roles.role_required(*CAMPAIGN_EDITORS)
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A campaign with the tracked-link builder and its links' visits, leads and revenue."""
    from campaigns.links import placements_by_channel

    campaign = get_object_or_404(Campaign.objects.select_related("channel", "owner"), pk=pk)
    values = {
        k: request.POST.get(k, "") for k in ("destination", "source", "medium", "content", "term")
    }
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            link, warnings = services.tracked_link_create(
                campaign=campaign, by=request.user, **values
            )
        except services.TrackedLinkRefused as exc:
            errors, status = exc.check.errors, 400
        else:
            messages.success(request, _("Tracked link ready: %s") % link.url, extra_tags="copy")
            for warning in warnings:
                messages.warning(request, warning)
            return redirect(f"{request.path}#link-{link.pk}")
    placements = placements_by_channel().get(campaign.channel.name) if campaign.channel else None
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "links": selectors.tracked_link_stats(campaign=campaign),
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
    from campaigns.links import check_link

    campaign = get_object_or_404(Campaign.objects.select_related("channel"), pk=pk)
    check, _values = check_link(
        campaign=campaign,
        **{
            k: request.GET.get(k, "")[:1000]
            for k in ("destination", "source", "medium", "content", "term")
        },
    )
    return JsonResponse(check.as_dict())


@roles.role_required(*CAMPAIGN_EDITORS)
def link_qr(request: HttpRequest, pk: int) -> HttpResponse:
    """The link's tagged URL as a QR code (SVG, drawn on the server)."""
    import io

    import segno

    from campaigns.models import TrackedLink

    link = get_object_or_404(TrackedLink.objects.select_related("campaign"), pk=pk)
    out = io.BytesIO()
    segno.make(link.url, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False)
    response = HttpResponse(out.getvalue(), content_type="image/svg+xml")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="link-{link.pk}-qr.svg"'
    return response


def short_link(request: HttpRequest, code: str) -> HttpResponse:
    """/go/<code>/: the public short form of a tracked link, redirecting to its tagged URL."""
    from django.http import HttpResponseRedirect

    from campaigns.models import TrackedLink

    link = get_object_or_404(TrackedLink.objects.select_related("campaign"), short_code=code)
    return HttpResponseRedirect(link.url)
