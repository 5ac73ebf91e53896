"""Public entry points: ``attribute`` / ``attribute_all`` turning journeys into credit rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd

from attribution.engine import rules
from attribution.engine import shapley as shapley_model
from attribution.engine.journeys import (
    DIRECT,
    Journeys,
    Paths,
    build_journeys,
    build_paths,
    prepare_conversions,
    prepare_members,
    prepare_touches,
)
from attribution.engine.markov import markov_removal_effects, transition_counts_from_paths
from attribution.engine.money import allocate_cents

MODELS: tuple[str, ...] = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "position_based",
    "w_shaped",
    "full_path",
    "markov",
    "shapley",
)

CREDIT_COLUMNS: tuple[str, ...] = (
    "conversion_id",
    "touch_id",
    "lead_id",
    "channel",
    "campaign_id",
    "ts",
    "milestone",
    "model",
    "share",
    "value_cents",
    "touch_lead_id",
)

_RULES: dict[str, Callable[..., np.ndarray]] = {
    "first_touch": rules.first_touch_weights,
    "last_touch": rules.last_touch_weights,
    "last_non_direct": rules.last_non_direct_weights,
    "linear": rules.linear_weights,
    "time_decay": rules.time_decay_weights,
    "position_based": rules.position_based_weights,
    "w_shaped": rules.w_shaped_weights,
    "full_path": rules.full_path_weights,
}

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "first_touch": {},
    "last_touch": {},
    "last_non_direct": {"direct_channel": DIRECT},
    "linear": {},
    "time_decay": {"half_life_days": 7.0},
    "position_based": {"first": 0.4, "last": 0.4},
    "w_shaped": {"first": 0.3, "lead": 0.3, "opportunity": 0.3, "rest": 0.1},
    "full_path": {"first": 0.225, "lead": 0.225, "opportunity": 0.225, "last": 0.225, "rest": 0.1},
    "markov": {"order": 1},
    "shapley": {"metric": "conversions", "max_channels": shapley_model.MAX_CHANNELS},
}


def model_params(model: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The model's defaults overridden by ``params``; unknown models or keys raise ValueError."""
    if model not in DEFAULT_PARAMS:
        raise ValueError(f"unknown attribution model {model!r}; expected one of {MODELS}")
    merged = dict(DEFAULT_PARAMS[model])
    unknown = set(params or {}) - set(merged)
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)} for model {model!r}")
    merged.update(params or {})
    return merged


def effect_weights(journeys: Journeys, effects: pd.Series | Mapping[str, float]) -> np.ndarray:
    """Per-journey split by global effects: ``w_i = E(ch_i) / #touches of ch_i in the journey``.

    Summed over a channel's touches this gives the channel ``E(ch)``, so after normalising each
    journey is shared among its channels in proportion to their effects. Unknown channels and
    negative effects count as 0; a journey whose effects are all 0 falls back to linear.
    """
    table = pd.Series(effects, dtype=np.float64)
    channel = journeys.rows["channel"]
    effect = channel.map(table).fillna(0.0).to_numpy(dtype=np.float64)
    effect = np.clip(np.nan_to_num(effect, nan=0.0), 0.0, None)
    codes, _ = pd.factorize(channel)
    jid = journeys.column("jid")
    _, inverse, per_key = np.unique(
        jid * (int(codes.max()) + 1 if codes.size else 1) + codes,
        return_inverse=True,
        return_counts=True,
    )
    return effect / per_key[inverse]


def _credits(journeys: Journeys, share: np.ndarray, model: str) -> pd.DataFrame:
    keep = share > 0
    rows = journeys.rows.loc[keep]
    jid = rows["jid"].to_numpy()
    cents = allocate_cents(jid, share[keep], journeys.conversions["value_cents"].to_numpy())
    credits = pd.DataFrame(
        {
            "conversion_id": rows["conversion_id"].to_numpy(np.int64),
            "touch_id": rows["touch_id"].to_numpy(np.int64),
            "lead_id": rows["lead_id"].to_numpy(np.int64),
            "channel": rows["channel"].to_numpy(),
            "campaign_id": rows["campaign_id"].array,
            "ts": rows["ts"].array,
            "milestone": rows["milestone"].to_numpy(),
            "model": np.full(len(rows), model, dtype=object),
            "share": share[keep].astype(np.float64),
            "value_cents": cents.astype(np.int64),
            "touch_lead_id": rows["touch_lead_id"].to_numpy(np.int64),
        }
    )
    for column in ("channel", "milestone", "model"):
        credits[column] = credits[column].astype(str)
    return credits


class _Context:
    """Prepared inputs shared by several models; paths are built lazily, once."""

    def __init__(
        self,
        touches: pd.DataFrame,
        conversions: pd.DataFrame,
        lookback_days: float | None,
        timings: dict[str, float] | None = None,
        journeys: bool = True,
        members: pd.DataFrame | None = None,
    ) -> None:
        self.timings = {} if timings is None else timings
        started = perf_counter()
        self.touches = prepare_touches(touches)
        self.conversions = prepare_conversions(conversions)
        self.members = None if members is None else prepare_members(members)
        self.lookback_days = lookback_days
        self._journeys = (
            build_journeys(self.touches, self.conversions, lookback_days, self.members)
            if journeys
            else None
        )
        self._paths: Paths | None = None
        self._tick("journeys", started)

    def _tick(self, name: str, started: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + perf_counter() - started

    @property
    def journeys(self) -> Journeys:
        """Journeys of the prepared data, built once."""
        if self._journeys is None:
            self._journeys = build_journeys(
                self.touches, self.conversions, self.lookback_days, self.members
            )
        return self._journeys

    @property
    def paths(self) -> Paths:
        """Markov/Shapley paths of the prepared data."""
        if self._paths is None:
            started = perf_counter()
            self._paths = build_paths(
                self.touches, self.conversions, self.lookback_days, self.members
            )
            self._tick("paths", started)
        return self._paths

    def counts(self, *, markov_order: int | None, shapley: bool) -> dict[str, pd.DataFrame]:
        """Additive Markov transition and Shapley coalition counts, from paths built once."""
        out: dict[str, pd.DataFrame] = {}
        if markov_order is not None:
            paths, started = self.paths, perf_counter()
            out["markov"] = transition_counts_from_paths(paths, markov_order)
            self._tick("markov", started)
        if shapley:
            paths, started = self.paths, perf_counter()
            out["shapley"] = shapley_model.coalition_counts_from_paths(paths)
            self._tick("shapley", started)
        return out

    def run(
        self,
        model: str,
        params: Mapping[str, Any] | None,
        markov_effects: pd.Series | Mapping[str, float] | None,
        shapley_values: pd.Series | Mapping[str, float] | None,
    ) -> pd.DataFrame:
        """Credit rows of one model on the prepared journeys."""
        started = perf_counter()
        options = model_params(model, params)
        journeys = self.journeys
        if model in _RULES:
            weights = _RULES[model](journeys, **options)
        elif model == "markov":
            if markov_effects is None:
                counts = transition_counts_from_paths(self.paths, options["order"])
                markov_effects = markov_removal_effects(counts)
            weights = effect_weights(journeys, markov_effects)
        else:
            if shapley_values is None:
                counts = shapley_model.coalition_counts_from_paths(self.paths)
                shapley_values = shapley_model.shapley_values(
                    counts, metric=options["metric"], max_channels=options["max_channels"]
                )
            weights = effect_weights(journeys, shapley_values)
        share = rules.normalise(journeys.column("jid"), journeys.n_journeys, weights)
        credits = _credits(journeys, share, model)
        self._tick(model, started)
        return credits


def attribute(
    touches: pd.DataFrame,
    conversions: pd.DataFrame,
    model: str,
    *,
    lookback_days: float | None = 90,
    params: Mapping[str, Any] | None = None,
    markov_effects: pd.Series | Mapping[str, float] | None = None,
    shapley_values: pd.Series | Mapping[str, float] | None = None,
    members: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Credit rows (``CREDIT_COLUMNS``) of one model; shares sum to 1 and cents exactly per conv.

    For ``markov``/``shapley`` pass the global ``markov_effects``/``shapley_values`` (computed
    from counts summed over all partitions); without them they are computed from this data.
    ``members`` (``conversion_id``, ``lead_id``) makes account journeys (see ``journeys``).
    """
    model_params(model, params)
    return _Context(touches, conversions, lookback_days, members=members).run(
        model, params, markov_effects, shapley_values
    )


def attribute_all(
    touches: pd.DataFrame,
    conversions: pd.DataFrame,
    models: Iterable[str] = MODELS,
    *,
    lookback_days: float | None = 90,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    markov_effects: pd.Series | Mapping[str, float] | None = None,
    shapley_values: pd.Series | Mapping[str, float] | None = None,
    timings: dict[str, float] | None = None,
    members: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Credit rows of several models stacked (journeys built once); ``params`` keyed by model.

    ``timings``, when given, gains the seconds spent building journeys and in each model;
    ``members`` makes account journeys (see ``journeys``).
    """
    models = tuple(models)
    params = params or {}
    unknown = set(params) - set(models)
    if unknown:
        raise ValueError(f"params given for model(s) not requested: {sorted(unknown)}")
    for model in models:
        model_params(model, params.get(model))
    context = _Context(touches, conversions, lookback_days, timings, members=members)
    frames = [
        context.run(model, params.get(model), markov_effects, shapley_values) for model in models
    ]
    if not frames:
        return context.run("linear", None, None, None).iloc[0:0]
    return pd.concat(frames, ignore_index=True)


def path_counts(
    touches: pd.DataFrame,
    conversions: pd.DataFrame,
    *,
    lookback_days: float | None = 90,
    markov_order: int | None = 1,
    shapley: bool = True,
    timings: dict[str, float] | None = None,
    members: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The additive partial results of a partition: ``{"markov": transition counts, "shapley":
    coalition counts}`` (each only when asked), from one set of paths built once; ``members``
    makes them over account journeys."""
    context = _Context(
        touches, conversions, lookback_days, timings, journeys=False, members=members
    )
    return context.counts(markov_order=markov_order, shapley=shapley)
