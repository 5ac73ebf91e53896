"""Campaign, spend and channel-rule pages for marketers and admins."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns import channeling, selectors, services
from campaigns.forms import (
    CampaignForm,
    ReclassifyConfirmForm,
    RuleTestForm,
    SpendUploadForm,
)
from campaigns.models import Campaign, Channel, ReclassifyJob
from campaigns.rules import _categories, classify, own_domains, stored_rules
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


def _candidate(request: HttpRequest) -> tuple[channeling.CompiledRules | None, list[str]]:
    """Stored rules with the bench's candidate rule inserted, compiled; or the errors."""
    channel_name = request.POST.get("candidate_channel", "")
    raw = request.POST.get("candidate_conditions", "").strip()
    if not raw:
        return None, []
    try:
        conditions = json.loads(raw)
        position = int(request.POST.get("candidate_position") or 0)
    except (ValueError, TypeError) as exc:
        return None, [f"candidate rule: {exc}"]
    if not Channel.objects.filter(name=channel_name).exists():
        return None, ["candidate rule: choose a channel"]
    from campaigns.models import ChannelRule
    from campaigns.rules import to_pure_rule

    rows = list(ChannelRule.objects.filter(is_active=True).select_related("channel"))
    draft = ChannelRule(position=position, conditions=conditions, name="candidate")
    try:
        candidate = to_pure_rule(draft, channel_name=channel_name)
        candidate = channeling.Rule("candidate", channel_name, candidate.conditions)
        ordered = sorted(rows, key=lambda r: (r.position, r.id))
        pure = [to_pure_rule(r) for r in ordered if r.position < position]
        pure.append(candidate)
        pure += [to_pure_rule(r) for r in ordered if r.position >= position]
        return channeling.compile_rules(pure, _categories()), []
    except channeling.RuleError as exc:
        return None, [str(exc)]


def _reclassify_preview(request: HttpRequest, context: dict[str, Any]) -> None:
    """The diff a reclassification would make, with the revenue credited to what moves."""
    # Pages for admins compose apps; touchpoints and credits live above campaigns.
    from attribution import engine
    from attribution.selectors import credited_revenue_of_touches
    from leads.reclassification import PREVIEW_LATEST, reclassify_preview

    model = request.GET.get("model") or request.POST.get("model") or "linear"
    if model not in engine.MODELS:
        model = "linear"
    preview = reclassify_preview(latest=PREVIEW_LATEST)
    ids = [touch_id for moved in preview.moved.values() for touch_id in moved]
    run, credited = credited_revenue_of_touches(touch_ids=ids, model=model)
    preview.credit_revenue(credited)
    targets, rows = preview.table()
    context.update(
        preview=preview, preview_targets=targets, preview_rows=rows, preview_run=run,
        preview_model=model, models=engine.MODELS,
    )  # fmt: skip


def _bench(request: HttpRequest, context: dict[str, Any] | None = None) -> dict[str, Any]:
    form = RuleTestForm(request.GET or None)
    context = {"form": form, "rules": stored_rules(), **(context or {})}
    context["channels"] = Channel.objects.all()
    if form.is_valid() and any(form.cleaned_data.values()):
        result = classify(**form.cleaned_data)
        context["result"] = result
        context["facts"] = result.facts
    context["job"] = ReclassifyJob.objects.first()
    context["own_domains"] = own_domains()
    context.setdefault("confirm_form", ReclassifyConfirmForm())
    return context


@roles.role_required(roles.ADMIN)
def rule_bench(request: HttpRequest) -> HttpResponse:
    """Type a URL and referrer, see the channel and the rule that matched; dry-run a rule;
    preview, confirm and undo a reclassification of the stored touchpoints."""
    from leads.reclassification import PREVIEW_LATEST, reclassify_preview

    context = _bench(request)
    if request.method == "POST" and request.POST.get("action") == "dry-run":
        candidate, errors = _candidate(request)
        context["candidate_errors"] = errors
        if not errors:
            # The same walk as reclassification: each touch classified in its visit.
            context["dry_run"] = reclassify_preview(compiled=candidate, latest=PREVIEW_LATEST)
            context["dry_run_candidate"] = candidate is not None
        context["posted"] = request.POST
    if request.GET.get("preview"):
        _reclassify_preview(request, context)
    return render(request, "campaigns/rule_bench.html", context)


@require_POST
@roles.role_required(roles.ADMIN)
def reclassify(request: HttpRequest) -> HttpResponse:
    """Apply the current rules to all stored touchpoints, in a Celery task, once the admin
    typed the confirmation word; else the bench again with the diff and the form's error."""
    from leads.reclassification import reclassify_start

    form = ReclassifyConfirmForm(request.POST)
    if not form.is_valid():
        context = _bench(request, {"confirm_form": form})
        _reclassify_preview(request, context)
        return render(request, "campaigns/rule_bench.html", context, status=400)
    job = reclassify_start(started_by=request.user, confirmation=form.cleaned_data["confirm"])
    messages.success(request, _("Reclassification #%(pk)s started.") % {"pk": job.pk})
    return redirect("campaigns:rule-bench")


@require_POST
@roles.role_required(roles.ADMIN)
def reclassify_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Put back what a reclassification changed."""
    from leads.reclassification import reclassify_undo as undo

    job = get_object_or_404(ReclassifyJob, pk=pk)
    if not job.can_undo:
        messages.error(request, _("Reclassification #%(pk)s cannot be undone.") % {"pk": job.pk})
        return redirect("campaigns:rule-bench")
    restored = undo(job=job, by=request.user)
    messages.success(
        request,
        _("Reclassification #%(pk)s undone: %(n)s touchpoints restored.")
        % {"pk": job.pk, "n": restored},
    )
    return redirect("campaigns:rule-bench")


@roles.role_required(roles.ADMIN)
def reclassify_status(request: HttpRequest, pk: int) -> JsonResponse:
    """Progress of a reclassification, for the bench's progress bar."""
    job = get_object_or_404(ReclassifyJob, pk=pk)
    return JsonResponse(
        {
            "id": job.pk,
            "status": job.status,
            "total": job.total,
            "processed": job.processed,
            "changed": job.changed,
            "percent": job.percent,
        }
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
            messages.success(request, _("Tracked link ready: %s") % link.url)
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
