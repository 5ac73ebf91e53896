"""The mix model page: contributions, ROI beside attribution, response curves, the optimiser;
starting a fit and its progress."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from attribution import selectors as attribution_selectors
from attribution.charts import MODEL_LABELS
from campaigns.selectors import channel_colours
from clm import roles
from mix import charts, selectors, services
from mix.forms import ControlForm, FitForm, LiftTestForm, OptimiseForm
from mix.models import Control, LiftTest, MixModelRun, Outcome

VIEWERS = (roles.ADMIN, roles.MARKETER, roles.SALES_MANAGER)
RUNNERS = (roles.ADMIN, roles.MARKETER)


def _value_label(outcome: str) -> str:
    if outcome == Outcome.REVENUE:
        return _("ROI (%)")
    return _("Outcome per 1,000 of spend")


def _value(outcome: str, roas: float) -> float:
    """How a return per unit of spend reads: ROI % for revenue, per 1,000 spend otherwise."""
    return round((roas - 1) * 100, 1) if outcome == Outcome.REVENUE else round(roas * 1000, 2)


def _roi_rows(run: MixModelRun) -> tuple[list[dict[str, Any]], list[str]]:
    """The model's return per channel with its interval beside each attribution model's over
    the same weeks (from the newest attribution run)."""
    results = run.results
    evidence = results["evidence"]
    start = date.fromisoformat(evidence["first_week"])
    end = date.fromisoformat(evidence["last_week"])
    attribution_run = attribution_selectors.latest_run()
    models = list(attribution_run.model_names) if attribution_run else []
    attributed: dict[str, dict[str, float]] = {}
    if run.outcome != Outcome.QUALIFIED:
        for model in models:
            for row in attribution_selectors.roi_rows(
                run=attribution_run, model=model, start=start, end=end
            ):
                if not row.spend or not row.channel:
                    continue
                got = float(row.revenue) if run.outcome == Outcome.REVENUE else row.leads
                per = got / float(row.spend)
                attributed.setdefault(row.channel, {})[model] = _value(run.outcome, per)
    rows = [
        {
            "channel": r["channel"],
            "spend": r["spend"],
            "contribution": r["contribution"],
            "value": _value(run.outcome, r["roas"]),
            "low": _value(run.outcome, r["roas_low"]),
            "high": _value(run.outcome, r["roas_high"]),
            "attributed": attributed.get(r["channel"], {}),
        }
        for r in results["roas"]
    ]
    return rows, models if attributed else []


def _proposal_context(
    request: HttpRequest, run: MixModelRun
) -> tuple[OptimiseForm, Any, list[dict[str, Any]]]:
    names = run.results["channels"]
    current = {n: run.results["points"][n]["current"] for n in names}
    defaults = selectors.channel_bounds()
    if "total" in request.GET:
        form = OptimiseForm(request.GET, channels=names, defaults=defaults)
    else:
        initial = {"total": round(sum(current.values()), 2)}
        form = OptimiseForm(initial=initial, channels=names, defaults=defaults)
    if not form.is_bound or not form.is_valid():
        return form, None, []
    proposal = services.proposal_for(
        run=run, total=float(form.cleaned_data["total"]), bounds=form.bounds()
    )
    rows = [
        {
            "channel": n,
            "current": round(float(proposal.current[n]), 2),
            "proposed": round(float(proposal.proposed[n]), 2),
            "change": round(float(proposal.proposed[n] - proposal.current[n]), 2),
        }
        for n in names
    ]
    return form, proposal, rows


@never_cache
@roles.role_required(*VIEWERS)
def page(request: HttpRequest) -> HttpResponse:
    """The newest finished fit; a bad optimiser form answers 400 with its field messages."""
    outcome = request.GET.get("outcome") or Outcome.REVENUE
    if outcome not in Outcome.values:
        outcome = Outcome.REVENUE
    run = selectors.latest_run(outcome=outcome)
    context: dict[str, Any] = {
        "run": run,
        "outcome": outcome,
        "outcomes": Outcome.choices,
        "running": selectors.run_in_progress(),
        "can_run": roles.has_role(request.user, *RUNNERS),
        "fit_form": FitForm(initial={"outcome": outcome}),
        "currency": settings.CLM_CURRENCY,
        "value_label": _value_label(outcome),
    }
    status = 200
    if run is not None:
        colours = channel_colours()
        outcome_label = str(Outcome(outcome).label)
        rows, models = _roi_rows(run)
        form, proposal, proposal_rows = _proposal_context(request, run)
        if form.is_bound and not form.is_valid():
            status = 400
        evidence = run.results["evidence"]
        context.update(
            {
                "results": run.results,
                "evidence": evidence,
                "diagnostics": run.results["diagnostics"],
                "roi_rows": rows,
                "attribution_models": [str(MODEL_LABELS.get(m, m)) for m in models],
                "prior_model": str(MODEL_LABELS.get(run.attribution_model, ""))
                if evidence["attributed"]
                else "",
                "lift_tests": list(
                    LiftTest.objects.filter(pk__in=evidence["lift_tests"]).select_related("channel")
                ),
                "form": form,
                "proposal": proposal,
                "proposal_rows": proposal_rows,
                "figures": {
                    "contributions": charts.contributions(run.results, outcome_label, colours),
                    "roi": charts.roi_comparison(rows, models, _value_label(outcome), MODEL_LABELS),
                    "curves": charts.response_curves(
                        run.results, settings.CLM_CURRENCY, outcome_label, colours
                    ),
                },
            }
        )
    return render(request, "mix/page.html", context, status=status)


@never_cache
@roles.role_required(*VIEWERS)
def status(request: HttpRequest) -> JsonResponse:
    """The fit in progress (its percent done) and the newest finished one: the page polls
    this and keeps its Fit button disabled while `running` is not null."""
    running = selectors.run_in_progress()
    latest = selectors.latest_run()
    return JsonResponse(
        {
            "latest_run": latest.pk if latest else None,
            "running": selectors.run_progress(running) if running else None,
        }
    )


@never_cache
@require_POST
@roles.role_required(*RUNNERS)
def start(request: HttpRequest) -> HttpResponse:
    """Queue a fit for the worker; one at a time."""
    form = FitForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"code": "invalid", "errors": form.errors}, status=400)
    outcome = form.cleaned_data["outcome"]
    try:
        run = services.run_start(outcome=outcome, created_by=request.user)
    except services.RunInProgress:
        messages.info(request, _("A fit is in progress already."))
    else:
        messages.success(request, _("Mix model fit #%(pk)s started.") % {"pk": run.pk})
    return redirect(f"{reverse('mix:page')}?outcome={outcome}")


@never_cache
@require_http_methods(["GET", "POST"])
@roles.role_required(*VIEWERS)
def evidence(request: HttpRequest) -> HttpResponse:
    """Lift tests and controls the next fit takes in; marketers and admins add them here (a bad
    entry answers 400 with its field messages and stores nothing)."""
    can_edit = roles.has_role(request.user, *RUNNERS)
    lift_form, control_form = LiftTestForm(prefix="lift"), ControlForm(prefix="control")
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(_("Your role may not open this page."))
        if "lift-channel" in request.POST:
            lift_form = LiftTestForm(request.POST, prefix="lift")
            form: Any = lift_form
        else:
            control_form = ControlForm(request.POST, prefix="control")
            form = control_form
        if form.is_valid():
            try:
                if form is lift_form:
                    services.lift_test_save(test=form.save(commit=False))
                else:
                    services.control_save(control=form.save(commit=False))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Saved: the next fit takes it in."))
                return redirect("mix:evidence")
        status = 400
    return render(
        request,
        "mix/evidence.html",
        {
            "lift_tests": LiftTest.objects.select_related("channel"),
            "controls": Control.objects.all(),
            "lift_form": lift_form,
            "control_form": control_form,
            "can_edit": can_edit,
        },
        status=status,
    )
