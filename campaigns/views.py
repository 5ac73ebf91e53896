"""Campaign edit, spend import and tracked-link pages (the campaign list and detail pages compose
several apps: dashboards/campaigns.py)."""

from __future__ import annotations

from django.contrib import messages
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from campaigns import services
from campaigns.forms import (
    CampaignForm,
    SpendUploadForm,
)
from campaigns.models import Campaign
from campaigns.spend_import import SpendImportError, import_spend
from clm import roles

CAMPAIGN_EDITORS = (roles.ADMIN, roles.MARKETER)


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
