"""Every credit explained: a won deal's revenue split over its journey's touches, per model.

Read from the stored credit ledger of each model's latest finished run, never recomputed, so
what a page shows is what the dashboards summed. Zero-credit touches have no ledger row; a
touch credited under any model is a row of the table and shows 0 under the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from attribution import engine
from attribution.charts import MODEL_LABELS
from attribution.models import AttributionRun, CreditLedger
from crm.models import Deal
from crm.selectors import deals_visible_to

# One short rule per model (the formulas are in attribution/engine/rules.py and core.py).
MODEL_RULES: dict[str, Any] = {
    "first_touch": _("The first touch of the journey gets all of the deal's revenue."),
    "last_touch": _("The last touch before the deal was won gets all of its revenue."),
    "last_non_direct": _(
        "The last touch that was not Direct gets all of the revenue; a journey of Direct "
        "touches only gives it to its last touch."
    ),
    "linear": _("Every touch of the journey gets an equal share."),
    "time_decay": _(
        "Every touch gets a weight that halves for each half-life (%(half_life_days)s days) it "
        "lies before the journey's last touch; the revenue is split in proportion to the weights."
    ),
    "position_based": _(
        "%(first_pct)s to the first touch, %(last_pct)s to the last, the rest shared evenly by "
        "the touches between (a journey of two touches splits in proportion %(first_pct)s : "
        "%(last_pct)s; of one, it gets everything)."
    ),
    "w_shaped": _(
        "%(first_pct)s to the first touch, %(lead_pct)s to the touch that created the lead, "
        "%(opportunity_pct)s to the last touch before the opportunity was opened, %(rest_pct)s "
        "shared by the other touches. One touch in several roles adds them up; a missing role's "
        "weight is spread over the roles present."
    ),
    "full_path": _(
        "%(first_pct)s each to the first touch, the lead-creating touch, the last touch before "
        "the opportunity and the last touch before the deal was won, %(rest_pct)s shared by the "
        "others. Roles on one touch add up; missing roles are spread over the roles present."
    ),
    "markov": _(
        "Each channel's removal effect is measured once over all journeys (converting or not): "
        "how much the chance to convert would drop if the channel were taken out of the "
        "transition graph. A deal's revenue is then split over the channels present in its "
        "journey in proportion to their global removal effects, and a channel's part evenly "
        "over its touches."
    ),
    "shapley": _(
        "Each channel's Shapley value is measured once over all journeys: its average marginal "
        "contribution to conversions over every coalition of channels. A deal's revenue is then "
        "split over the channels present in its journey in proportion to their global Shapley "
        "values, and a channel's part evenly over its touches."
    ),
}

OTHER_TOOLS: dict[str, Any] = {
    "markov": _(
        "Other tools differ. ChannelAttribution (R/Python) computes the same removal effects but "
        "splits the total conversions and value over channels once, globally, so no single "
        "deal's split is stored; its path-level output divides each path by removal effects "
        "without the per-touch step. GA4's data-driven model uses a proprietary counterfactual "
        "model trained on Google's own data and does not publish per-deal splits. CLM's channel "
        "totals therefore need not equal the global removal shares exactly, but every credit is "
        "tied to a real touch and every deal is conserved to the cent."
    ),
    "shapley": _(
        "Other tools differ. Many Shapley implementations (and GA4's former data-driven model, "
        "which was Shapley-based) share out the total conversions over channels globally, and "
        "some compute values per path from the path's own coalitions. CLM computes the values "
        "once over all journeys and uses them as weights inside each deal's journey, so channel "
        "totals need not equal the global values exactly, but every credit is tied to a real "
        "touch and every deal is conserved to the cent."
    ),
}


def model_label(model: str) -> str:
    """The human name of a model (never its code)."""
    return str(MODEL_LABELS.get(model, model))


def _pct(value: float) -> str:
    return f"{value * 100:g}%"


def model_rule(model: str, params: dict[str, Any] | None = None) -> str:
    """The model's rule in one paragraph, with the run's parameters filled in."""
    merged = engine.model_params(model, (params or {}).get(model))
    numbers = {k: v for k, v in merged.items() if isinstance(v, float)}
    values = {**merged, **{k: f"{v:g}" for k, v in numbers.items()}}
    values.update({f"{k}_pct": _pct(v) for k, v in numbers.items()})
    if model == "position_based":
        values["rest_pct"] = _pct(max(0.0, 1 - merged["first"] - merged["last"]))
    return str(MODEL_RULES[model]) % values


def latest_runs() -> dict[str, AttributionRun]:
    """The latest finished contact-scoped run of each model (one query): a deal's split over
    its lead's own touches, as the lead page explains it."""
    runs = AttributionRun.objects.filter(
        status=AttributionRun.Status.DONE, scope=AttributionRun.Scope.CONTACT
    ).order_by("-finished_at", "-id")[:20]
    found: dict[str, AttributionRun] = {}
    for run in runs:
        for model in run.model_names:
            if model in engine.MODELS:
                found.setdefault(model, run)
    return found


@dataclass
class SplitRow:
    """One touch of the journey and the cents each model credited it."""

    touch_at: datetime
    channel: str
    color: str
    campaign: str
    campaign_id: int | None
    touchpoint_id: int | None
    cents: dict[str, int] = field(default_factory=dict)

    def cells(self, models: Sequence[str]) -> list[tuple[str, Decimal]]:
        return [(m, Decimal(self.cents.get(m, 0)) / 100) for m in models]


@dataclass
class DealSplit:
    """A won deal's revenue split over its touches under each model's latest run."""

    deal: Deal
    models: list[str]
    runs: dict[str, AttributionRun]
    rows: list[SplitRow]

    def total_cents(self, model: str) -> int:
        return sum(r.cents.get(model, 0) for r in self.rows)

    @property
    def amount_cents(self) -> int:
        return int((self.deal.amount * 100).to_integral_value())

    @property
    def columns(self) -> list[dict[str, Any]]:
        """Per model: its label, run, total and whether the total is the deal's amount."""
        return [
            {
                "model": m,
                "label": model_label(m),
                "run": self.runs[m],
                "total": Decimal(self.total_cents(m)) / 100,
                "credited": any(m in r.cents for r in self.rows),
                "matches": self.total_cents(m) == self.amount_cents,
            }
            for m in self.models
        ]

    @property
    def table(self) -> list[tuple[SplitRow, list[tuple[str, Decimal]]]]:
        return [(row, row.cells(self.models)) for row in self.rows]


def deal_splits(
    *, deals: Iterable[Deal], runs: dict[str, AttributionRun] | None = None
) -> list[DealSplit]:
    """Per won deal, its ledger rows under every model's latest run, as a touch x model table.

    Two queries whatever the number of deals: the runs and the ledger rows.
    """
    deals = list(deals)
    runs = latest_runs() if runs is None else runs
    models = [m for m in engine.MODELS if m in runs]
    if not deals or not models:
        return [DealSplit(deal=d, models=models, runs=runs, rows=[]) for d in deals]
    by_run: dict[int, list[str]] = {}
    for model in models:
        by_run.setdefault(runs[model].pk, []).append(model)
    which = Q()
    for run_id, names in by_run.items():
        which |= Q(run_id=run_id, model__in=names)
    ledger = (
        CreditLedger.objects.filter(which, deal_id__in=[d.pk for d in deals])
        .order_by("deal_id", "touch_at", "touchpoint_id", "position")
        .values_list(
            "deal_id", "model", "touchpoint_id", "touch_at", "channel__name", "channel__color",
            "campaign_id", "campaign__name", "value_cents",
        )
    )  # fmt: skip
    rows: dict[int, dict[tuple[Any, ...], SplitRow]] = {d.pk: {} for d in deals}
    for deal_id, model, touch_id, at, channel, color, campaign_id, campaign, cents in ledger:
        key = (touch_id, at) if touch_id is not None else (None, at, channel)
        row = rows[deal_id].get(key)
        if row is None:
            row = rows[deal_id][key] = SplitRow(
                touch_at=at, channel=channel, color=color or "#64748b", campaign=campaign or "",
                campaign_id=campaign_id, touchpoint_id=touch_id,
            )  # fmt: skip
        row.cents[model] = row.cents.get(model, 0) + cents
    return [
        DealSplit(
            deal=d,
            models=models,
            runs=runs,
            rows=sorted(rows[d.pk].values(), key=lambda r: (r.touch_at, r.touchpoint_id or 0)),
        )
        for d in deals
    ]


def visible_won_deal(*, deal_id: int, user: Any) -> Deal | None:
    """One won deal with its lead, if `user` may see it."""
    return (
        deals_visible_to(user).filter(pk=deal_id, stage__is_won=True).select_related("lead").first()
    )


def example_deal(*, model: str, run: AttributionRun, user: Any) -> Deal | None:
    """A real won deal to explain `model` with: a journey of 3 to 6 touches when there is one
    (long enough to show the rule, short enough to read), the most recently closed first."""
    ledger = CreditLedger.objects.filter(
        run=run, model=model, deal__in=deals_visible_to(user)
    ).order_by("-deal__closed_at", "-deal_id")
    deal_id = (
        ledger.filter(journey_length__gte=3, journey_length__lte=6)
        .values_list("deal_id", flat=True)
        .first()
    ) or ledger.values_list("deal_id", flat=True).first()
    if deal_id is None:
        return None
    return Deal.objects.select_related("lead").get(pk=deal_id)


@dataclass
class EffectRow:
    """A channel of the example journey: its global effect and the part of the deal it got."""

    channel: str
    color: str
    effect: float
    touches: int
    weight: float
    cents: int

    @property
    def credit(self) -> Decimal:
        return Decimal(self.cents) / 100


def effect_split(split: DealSplit, model: str) -> list[EffectRow]:
    """For Markov and Shapley: the journey's channels, their global effects (stored on the run)
    and their share of the deal: ``E(ch) / sum of E over the journey's channels``."""
    run = split.runs[model]
    effects = run.effects.get("deal", {}).get(model, {})
    channels: dict[str, EffectRow] = {}
    for row in split.rows:
        entry = channels.setdefault(row.channel, EffectRow(row.channel, row.color, 0.0, 0, 0.0, 0))
        entry.effect = max(0.0, float(effects.get(row.channel, 0.0)))
        entry.touches += 1
        entry.cents += row.cents.get(model, 0)
    total = sum(e.effect for e in channels.values())
    for entry in channels.values():
        entry.weight = entry.effect / total if total > 0 else 0.0
    return sorted(channels.values(), key=lambda e: -e.effect)


def global_effects(run: AttributionRun, model: str) -> list[tuple[str, float]]:
    """Every channel's global removal effect (Markov) or Shapley value, largest first."""
    effects = run.effects.get("deal", {}).get(model, {})
    return sorted(((k, float(v)) for k, v in effects.items()), key=lambda kv: -kv[1])
