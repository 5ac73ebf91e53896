"""Segment and nurture pages. Marketers and admins edit; every role may open a segment and
sees only the members it may see (a rep: their own leads)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from clm import roles
from clm.condition_builder import builder_catalogue
from clm.csvexport import csv_response
from nurture import conditions, selectors, services
from nurture.forms import SegmentForm, SequenceForm, StepFormSet
from nurture.models import Segment, Sequence

EDITORS = (roles.ADMIN, roles.MARKETER)
PAGE_SIZE = 50


@roles.role_required(*roles.ANY_ROLE)
def segment_list(request: HttpRequest) -> HttpResponse:
    """Every segment with its member count at the last refresh."""
    return render(
        request,
        "nurture/segment_list.html",
        {
            "segments": selectors.segments_with_counts(),
            "can_edit": roles.has_role(request.user, *EDITORS),
        },
    )


@roles.role_required(*EDITORS)
def segment_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create or change a segment; the page counts matching leads while you type."""
    segment = get_object_or_404(Segment, pk=pk) if pk else None
    form = SegmentForm(request.POST or None, instance=segment)
    fields = conditions.describe()
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved = services.segment_save(
                    segment=segment,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    definition=form.cleaned_data["definition"],
                    by=request.user,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("Segment “%(name)s” saved.") % {"name": saved.name})
                return redirect("nurture:segment", saved.pk)
        status = 400
    return render(
        request,
        "nurture/segment_form.html",
        {
            "form": form,
            "segment": segment,
            "fields": fields,
            "catalogue": builder_catalogue(
                shape="group", fields=fields, check_url=reverse("nurture:segment-count")
            ),
        },
        status=status,
    )


@require_POST
@roles.role_required(*EDITORS)
def segment_count(request: HttpRequest) -> JsonResponse:
    """How many leads a definition (posted as JSON text) selects and a sample of those the
    viewer may see (name, stage, owner); 400 with the validator's errors."""
    raw = request.POST.get("definition", "")
    try:
        definition = json.loads(raw)
    except ValueError as exc:
        return JsonResponse({"errors": [_("Not valid JSON: %s") % exc]}, status=400)
    errors = conditions.validate(definition)
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    count = selectors.segment_count(definition=definition, viewer=request.user)
    sample = [
        {
            "name": lead.display_name,
            "url": reverse("crm:lead", args=[lead.pk]),
            "stage": lead.get_stage_display(),
            "owner": (lead.owner.get_full_name() or lead.owner.username) if lead.owner else "",
        }
        for lead in selectors.segment_sample(definition=definition, viewer=request.user)
    ]
    return JsonResponse({"count": count, "sample": sample})


@roles.role_required(*roles.ANY_ROLE)
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A segment's members (the ones the viewer may see), paginated, and its latest changes."""
    segment = get_object_or_404(Segment, pk=pk)
    members = selectors.segment_members(segment=segment, viewer=request.user)
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "nurture/segment_detail.html",
        {
            "segment": segment,
            "page": page,
            "leads": page.object_list,
            "changes": selectors.segment_recent_changes(segment=segment, viewer=request.user),
            "definition": json.dumps(segment.definition, indent=2),
            "can_edit": roles.has_role(request.user, *EDITORS),
            "sequences": segment.sequences.all(),
        },
    )


@require_POST
@roles.role_required(*EDITORS)
def segment_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    """Recompute the segment now (the periodic task does it every few minutes)."""
    segment = get_object_or_404(Segment, pk=pk)
    result = services.segment_refresh(segment=segment)
    messages.success(
        request,
        _("Refreshed: %(joined)d joined, %(left)d left.")
        % {"joined": len(result.joined), "left": len(result.left)},
    )
    return redirect("nurture:segment", segment.pk)


@roles.role_required(*roles.ANY_ROLE)
def segment_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The members the viewer may see, as CSV (cells safe from spreadsheet formulas)."""
    segment = get_object_or_404(Segment, pk=pk)
    members = selectors.segment_members(segment=segment, viewer=request.user)
    header = ["lead_id", "email", "first_name", "last_name", "company", "stage", "owner",
              "first_channel", "latest_channel", "consent", "created_at", "joined_at"]  # fmt: skip
    rows = (
        [
            lead.pk,
            lead.email,
            lead.first_name,
            lead.last_name,
            lead.company,
            lead.stage,
            lead.owner.username if lead.owner else "",
            lead.first_touch.channel.name if lead.first_touch else "",
            lead.latest_touch.channel.name if lead.latest_touch else "",
            "yes" if lead.consent_given else "no",
            lead.created_at.isoformat(),
            lead.joined_at.isoformat() if lead.joined_at else "",
        ]
        for lead in members.iterator(chunk_size=2000)
    )
    return csv_response(f"segment-{segment.pk}.csv", header, rows)


@roles.role_required(*EDITORS)
def sequence_list(request: HttpRequest) -> HttpResponse:
    """Every nurture sequence with its segment and status."""
    sequences = Sequence.objects.select_related("segment").order_by("name")
    return render(request, "nurture/sequence_list.html", {"sequences": sequences})


@roles.role_required(*EDITORS)
def sequence_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create or change a sequence and its steps."""
    sequence = get_object_or_404(Sequence, pk=pk) if pk else Sequence(created_by=request.user)
    form = SequenceForm(request.POST or None, instance=sequence)
    steps = StepFormSet(request.POST or None, instance=sequence, prefix="steps")
    status = 200
    if request.method == "POST":
        if form.is_valid() and steps.is_valid():
            with transaction.atomic():
                saved = form.save()
                steps.instance = saved
                steps.save()
                services.sequence_register_campaign(sequence=saved)
            messages.success(request, _("Sequence “%(name)s” saved.") % {"name": saved.name})
            return redirect("nurture:sequence", saved.pk)
        status = 400
    return render(
        request,
        "nurture/sequence_form.html",
        {"form": form, "steps": steps, "sequence": sequence if pk else None},
        status=status,
    )


@roles.role_required(*EDITORS)
def sequence_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A sequence's steps with sends, opens, clicks and unsubscribes per step."""
    sequence = get_object_or_404(Sequence.objects.select_related("segment"), pk=pk)
    return render(
        request,
        "nurture/sequence_detail.html",
        {
            "sequence": sequence,
            "steps": selectors.step_stats(sequence_id=sequence.pk),
            "enrollments": selectors.enrollment_counts(sequence_id=sequence.pk),
            "sends": selectors.recent_sends(sequence_id=sequence.pk, viewer=request.user),
        },
    )


@require_POST
@roles.role_required(*EDITORS)
def sequence_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Activate, pause or return a sequence to draft."""
    sequence = get_object_or_404(Sequence, pk=pk)
    try:
        services.sequence_set_status(sequence=sequence, status=request.POST.get("status", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Sequence is now %s.") % sequence.get_status_display())
    return redirect("nurture:sequence", sequence.pk)


@require_POST
@roles.role_required(roles.ADMIN)
def sequence_dispatch(request: HttpRequest) -> HttpResponse:
    """Send what is due now instead of waiting for the next beat (admins)."""
    from nurture.tasks import nurture_dispatch

    result: Any = nurture_dispatch.delay()
    if result.ready():
        messages.success(request, _("%d email(s) sent.") % result.get())
    else:
        messages.success(request, _("Sending in the background."))
    return redirect("nurture:sequences")


@require_POST
@roles.role_required(roles.ADMIN, roles.SALES_MANAGER)
def leads_enrol(request: HttpRequest) -> HttpResponse:
    """Enrol the leads ticked in the work queue (those the user may see) in a sequence."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("crm:queue")
    sequence = selectors.enrollable_sequences().filter(pk=_id(request.POST.get("sequence"))).first()
    raw = [_id(v) for v in request.POST.getlist("leads")]
    lead_ids = list(
        selectors.leads_visible_to(request.user)
        .filter(pk__in=[pk for pk in raw if pk is not None])
        .values_list("pk", flat=True)
    )
    if sequence is None or not lead_ids:
        messages.error(request, _("Tick the leads and choose a sequence."))
        return redirect(target)
    try:
        result = services.sequence_enroll_leads(sequence=sequence, lead_ids=lead_ids)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(target)
    parts = [
        ngettext(
            "%(n)d lead enrolled in %(name)s.", "%(n)d leads enrolled in %(name)s.", result.enrolled
        )
        % {"n": result.enrolled, "name": sequence.name}
    ]
    if result.already:
        parts.append(_("%(n)d already in it.") % {"n": result.already})
    if result.no_consent:
        parts.append(_("%(n)d skipped: no marketing consent.") % {"n": result.no_consent})
    messages.success(request, " ".join(parts))
    return redirect(target)


def _id(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) <= 18 else None
