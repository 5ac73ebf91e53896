"""The channel-rule bench and reclassification pages: campaigns' rules tried on a URL, a dry
run and a preview over leads' stored touchpoints, with the revenue attribution credited to what
would move. A page that composes several apps sits at the top (README, "Architecture"); its
URLs keep their names in the campaigns namespace (dashboards/urls.py)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from attribution import engine
from attribution.selectors import credited_revenue_of_touches
from campaigns import channeling
from campaigns.forms import ReclassifyConfirmForm, RuleTestForm
from campaigns.models import Channel, ChannelRule, ReclassifyJob
from campaigns.rules import (
    _categories,
    classify,
    condition_catalogue,
    conditions_errors,
    own_domains,
    stored_rules,
    to_pure_rule,
)
from clm import roles
from clm.condition_builder import builder_catalogue
from leads.reclassification import (
    PREVIEW_LATEST,
    ReclassifyInProgress,
    reclassify_in_progress,
    reclassify_preview,
    reclassify_start,
)
from leads.reclassification import reclassify_undo as undo


def _candidate(request: HttpRequest) -> tuple[channeling.CompiledRules | None, list[str]]:
    """Stored rules with the bench's candidate rule inserted, compiled; or the errors."""
    channel_name = request.POST.get("candidate_channel", "")
    raw = request.POST.get("candidate_conditions", "").strip()
    if not raw:
        return None, []
    try:
        conditions = json.loads(raw)
        position = int(request.POST.get("candidate_position") or 0)
    except (ValueError, TypeError, RecursionError) as exc:
        return None, [f"candidate rule: {exc}"]
    if not Channel.objects.filter(name=channel_name).exists():
        return None, ["candidate rule: choose a channel"]
    errors = conditions_errors(conditions)
    if errors:
        return None, errors
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


@require_POST
@roles.role_required(roles.ADMIN)
def rule_conditions_check(request: HttpRequest) -> JsonResponse:
    """The rule compiler's verdict on candidate conditions posted as JSON text (the builder's
    way back from its JSON view): {"errors": []}, or 400 with the errors."""
    try:
        conditions = json.loads(request.POST.get("candidate_conditions", ""))
    except (ValueError, RecursionError) as exc:
        return JsonResponse({"errors": [f"candidate rule: {exc}"]}, status=400)
    errors = conditions_errors(conditions)
    return JsonResponse({"errors": errors}, status=400 if errors else 200)


def _reclassify_preview(request: HttpRequest, context: dict[str, Any]) -> None:
    """The diff a reclassification would make, with the revenue credited to what moves."""
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
    context["rule_catalogue"] = builder_catalogue(
        shape="list",
        fields=condition_catalogue(),
        check_url=reverse("campaigns:rule-conditions-check"),
    )
    if form.is_valid() and any(form.cleaned_data.values()):
        result = classify(**form.cleaned_data)
        context["result"] = result
        context["facts"] = result.facts
    context["job"] = ReclassifyJob.objects.first()
    context["job_active"] = reclassify_in_progress() is not None
    context["own_domains"] = own_domains()
    context.setdefault("confirm_form", ReclassifyConfirmForm())
    return context


@roles.role_required(roles.ADMIN)
def rule_bench(request: HttpRequest) -> HttpResponse:
    """Type a URL and referrer, see the channel and the rule that matched; dry-run a rule;
    preview, confirm and undo a reclassification of the stored touchpoints."""
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
    form = ReclassifyConfirmForm(request.POST)
    if not form.is_valid():
        context = _bench(request, {"confirm_form": form})
        _reclassify_preview(request, context)
        return render(request, "campaigns/rule_bench.html", context, status=400)
    try:
        job = reclassify_start(started_by=request.user, confirmation=form.cleaned_data["confirm"])
    except ReclassifyInProgress as exc:
        messages.info(
            request,
            _("Reclassification #%(pk)s is in progress already: its progress is shown below.")
            % {"pk": exc.job.pk},
        )
    else:
        messages.success(request, _("Reclassification #%(pk)s started.") % {"pk": job.pk})
    return redirect("campaigns:rule-bench")


@require_POST
@roles.role_required(roles.ADMIN)
def reclassify_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Put back what a reclassification changed."""
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


@never_cache
@roles.role_required(roles.ADMIN)
def reclassify_status(request: HttpRequest, pk: int) -> JsonResponse:
    """Progress of a reclassification, for the bench's progress bar."""
    job = get_object_or_404(ReclassifyJob, pk=pk)
    return JsonResponse(
        {
            "id": job.pk,
            "status": job.status,
            "status_display": job.get_status_display(),
            "total": job.total,
            "processed": job.processed,
            "changed": job.changed,
            "percent": job.percent,
        }
    )


# Mounted under /campaigns/ in the campaigns namespace, as before the pages moved here.
campaigns_urlpatterns = [
    path("rules/bench/", rule_bench, name="rule-bench"),
    path("rules/conditions/check/", rule_conditions_check, name="rule-conditions-check"),
    path("rules/reclassify/", reclassify, name="reclassify"),
    path("rules/reclassify/<int:pk>/", reclassify_status, name="reclassify-status"),
    path("rules/reclassify/<int:pk>/undo/", reclassify_undo, name="reclassify-undo"),
]
