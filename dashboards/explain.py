"""Every credit explained: a won deal's split over its touches under each model, and a page per
model with the rule and a worked example from the viewer's own data. Composes attribution's
ledger with crm's visibility, so it sits at the top; URLs are in the attribution namespace."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from attribution import engine, explain
from clm import roles


@roles.role_required(*roles.ANY_ROLE)
def deal_credits(request: HttpRequest, pk: int) -> HttpResponse:
    """One won deal: its revenue split over its journey's touches under every model."""
    deal = explain.visible_won_deal(deal_id=pk, user=request.user)
    if deal is None:
        raise Http404("No such won deal.")
    splits = explain.deal_splits(deals=[deal])
    return render(
        request,
        "attribution/deal_credits.html",
        {"deal": deal, "split": splits[0], "currency": settings.CLM_CURRENCY,
         "back": request.GET.get("back", "") if request.GET.get("back", "").startswith(
             "/dashboards/marketing/") else ""},
    )  # fmt: skip


@roles.role_required(*roles.ANY_ROLE)
def model_page(request: HttpRequest, model: str) -> HttpResponse:
    """How a model splits a deal: its rule, a worked example on a real won deal the viewer may
    see, and for Markov and Shapley the global effects and how other tools differ."""
    if model not in engine.MODELS:
        raise Http404("No such model.")
    runs = explain.latest_runs()
    run = runs.get(model)
    context = {
        "model": model,
        "label": explain.model_label(model),
        "rule": explain.model_rule(model, run.params if run else None),
        "other_tools": explain.OTHER_TOOLS.get(model, ""),
        "models": [(m, explain.model_label(m)) for m in engine.MODELS],
        "run": run,
        "currency": settings.CLM_CURRENCY,
        "data_driven": model in ("markov", "shapley"),
    }
    if run is not None:
        deal = explain.example_deal(model=model, run=run, user=request.user)
        if deal is not None:
            split = explain.deal_splits(deals=[deal], runs=runs)[0]
            context.update(deal=deal, split=split)
            if context["data_driven"]:
                context["effect_rows"] = explain.effect_split(split, model)
        if context["data_driven"]:
            context["global_effects"] = explain.global_effects(run, model)
    return render(request, "attribution/model_explained.html", context)


# Mounted under /dashboards/ in the attribution namespace (clm/urls.py).
attribution_urlpatterns = [
    path("deals/<int:pk>/credits/", deal_credits, name="deal-credits"),
    path("models/<str:model>/", model_page, name="model"),
]
