"""Seeded synthetic touches/conversions for tests and benchmarks (fully vectorised).

``python -m attribution.engine.synthetic`` runs a manual timing check (1M touches by default);
it is deliberately not a test, timings depend on the machine.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from attribution.engine.journeys import DIRECT

_BASE_CHANNELS = (
    DIRECT,
    "Organic Search",
    "Paid Search",
    "Email",
    "Social",
    "Display",
    "Referral",
    "Events",
    "Webinar",
    "Partner",
)
_NS_PER_DAY = 86_400 * 1_000_000_000
_EPOCH = pd.Timestamp("2024-01-01", tz="UTC")


def channel_names(n_channels: int) -> list[str]:
    """``n_channels`` distinct channel names, "Direct" first."""
    if n_channels < 1:
        raise ValueError("n_channels must be >= 1")
    extra = [f"Channel {i:02d}" for i in range(len(_BASE_CHANNELS) + 1, n_channels + 1)]
    return [*_BASE_CHANNELS, *extra][:n_channels]


def _utc_series(values: list[Any]) -> pd.Series:
    # Element-wise parsing: test rows mix "2024-01-01" and "2024-01-01 10:00" freely.
    parsed = [pd.NaT if v is None else pd.Timestamp(v) for v in values]
    stamps = [t if t is pd.NaT or t.tzinfo else t.tz_localize("UTC") for t in parsed]
    return pd.Series(pd.to_datetime(stamps, utc=True), dtype="datetime64[ns, UTC]")


def touches_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Touches from rows ``(touch_id, lead_id, ts, channel[, is_lead_creation[, campaign_id]])``."""
    padded = [(*row, *(False, None)[len(row) - 4 :]) for row in rows]
    return pd.DataFrame(
        {
            "touch_id": pd.Series([r[0] for r in padded], dtype=np.int64),
            "lead_id": pd.Series([r[1] for r in padded], dtype=np.int64),
            "ts": _utc_series([r[2] for r in padded]),
            "channel": pd.Series([r[3] for r in padded], dtype=str),
            "campaign_id": pd.array([r[5] for r in padded], dtype="Int64"),
            "is_lead_creation": pd.Series([bool(r[4]) for r in padded], dtype=bool),
        }
    )


def conversions_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Conversions from ``(conversion_id, lead_id, ts, value_cents[, milestone[, opp_ts]])``."""
    padded = [(*row, *("deal", None)[len(row) - 4 :]) for row in rows]
    return pd.DataFrame(
        {
            "conversion_id": pd.Series([r[0] for r in padded], dtype=np.int64),
            "lead_id": pd.Series([r[1] for r in padded], dtype=np.int64),
            "ts": _utc_series([r[2] for r in padded]),
            "value_cents": pd.Series([r[3] for r in padded], dtype=np.int64),
            "milestone": pd.Series([r[4] for r in padded], dtype=str),
            "opportunity_ts": _utc_series([r[5] for r in padded]),
        }
    )


def generate(
    n_leads: int,
    touches_per_lead_mean: float,
    n_channels: int,
    seed: int,
    *,
    conversion_rate: float = 0.1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(touches, conversions)`` following the engine's input contract.

    Touches per lead are ``1 + Poisson(mean - 1)``; channels follow Dirichlet popularities; the
    top ``conversion_rate`` of leads by a channel-driven score convert once, at a random touch
    at/after lead creation (so some touches fall after the conversion).
    """
    if n_leads < 1 or touches_per_lead_mean < 1:
        raise ValueError("need n_leads >= 1 and touches_per_lead_mean >= 1")
    if not 0 <= conversion_rate <= 1:
        raise ValueError("conversion_rate must lie in [0, 1]")
    rng = np.random.default_rng(seed)
    names = np.asarray(channel_names(n_channels), dtype=object)

    per_lead = 1 + rng.poisson(touches_per_lead_mean - 1, n_leads)
    n_touches = int(per_lead.sum())
    lead_index = np.repeat(np.arange(n_leads), per_lead)
    offset = np.concatenate([[0], np.cumsum(per_lead)[:-1]])
    position = np.arange(n_touches) - offset[lead_index]

    gaps = rng.exponential(3 * _NS_PER_DAY, n_touches).astype(np.int64)
    gaps[position == 0] = 0
    elapsed = np.cumsum(gaps)
    elapsed -= elapsed[offset][lead_index]
    lead_start = rng.integers(0, 365 * _NS_PER_DAY, n_leads)
    ts_ns = _EPOCH.value + lead_start[lead_index] + elapsed

    popularity = rng.dirichlet(np.full(n_channels, 2.0))
    channel = rng.choice(n_channels, size=n_touches, p=popularity)
    campaign = pd.array(channel * 100 + rng.integers(1, 6, n_touches), dtype="Int64")
    campaign[(channel == 0) | (rng.random(n_touches) < 0.3)] = pd.NA

    creation_pos = np.minimum(per_lead - 1, rng.integers(0, 3, n_leads))
    is_creation = position == creation_pos[lead_index]

    touches = pd.DataFrame(
        {
            "touch_id": np.arange(1, n_touches + 1, dtype=np.int64),
            "lead_id": (lead_index + 1).astype(np.int64),
            "ts": pd.to_datetime(ts_ns, utc=True).astype("datetime64[ns, UTC]"),
            "channel": pd.Series(names[channel], dtype=str),
            "campaign_id": campaign,
            "is_lead_creation": is_creation,
        }
    )

    lift = rng.normal(0.0, 0.5, n_channels)
    score = np.bincount(lead_index, weights=lift[channel], minlength=n_leads)
    score += rng.gumbel(0.0, 1.0, n_leads)
    n_conversions = round(conversion_rate * n_leads)
    converting = np.sort(np.argsort(-score, kind="stable")[:n_conversions])

    span = per_lead[converting] - creation_pos[converting]
    at = creation_pos[converting] + np.floor(rng.random(converting.size) * span).astype(np.int64)
    at_touch = offset[converting] + at
    conv_ns = ts_ns[at_touch] + rng.integers(0, 2 * _NS_PER_DAY, converting.size)
    milestone = rng.choice(
        np.array(["lead", "opportunity", "deal"]), converting.size, p=[0.2, 0.3, 0.5]
    )
    value = np.round(rng.lognormal(np.log(1_500_000), 1.0, converting.size)).astype(np.int64)
    value[milestone == "lead"] = 0
    first_ns = ts_ns[offset[converting]]
    opportunity_ns = np.where(
        milestone == "deal",
        np.maximum(first_ns, conv_ns - rng.integers(0, 30 * _NS_PER_DAY, converting.size)),
        conv_ns,
    )
    opportunity = pd.Series(pd.to_datetime(opportunity_ns, utc=True)).astype("datetime64[ns, UTC]")
    opportunity[milestone == "lead"] = pd.NaT

    conversions = pd.DataFrame(
        {
            "conversion_id": np.arange(1, converting.size + 1, dtype=np.int64),
            "lead_id": (converting + 1).astype(np.int64),
            "ts": pd.to_datetime(conv_ns, utc=True).astype("datetime64[ns, UTC]"),
            "value_cents": value,
            "milestone": pd.Series(milestone, dtype=str),
            "opportunity_ts": opportunity,
        }
    )
    return touches, conversions


def time_models(touches: pd.DataFrame, conversions: pd.DataFrame) -> dict[str, float]:
    """Seconds per model for one ``attribute`` call each (inputs prepared inside every call)."""
    from attribution.engine.core import MODELS, attribute

    timings = {}
    for model in MODELS:
        started = time.perf_counter()
        attribute(touches, conversions, model)
        timings[model] = time.perf_counter() - started
    return timings


def main() -> None:
    """CLI: print data size and per-model timings."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--touches-per-lead", type=float, default=10.0)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    touches, conversions = generate(args.leads, args.touches_per_lead, args.channels, args.seed)
    print(
        f"generated {len(touches):,} touches, {touches['lead_id'].nunique():,} leads, "
        f"{len(conversions):,} conversions in {time.perf_counter() - started:.2f}s"
    )
    for model, seconds in time_models(touches, conversions).items():
        print(f"{model:>16}: {seconds:6.2f}s")


if __name__ == "__main__":
    main()
