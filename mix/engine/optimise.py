"""Split a weekly budget across channels to maximise the expected outcome under the fitted
response curves, within per-channel bounds; the expected outcome of the current and proposed
splits comes with 90% intervals from the posterior draws."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from mix.engine.summary import HIGH, LOW, MixFit


@dataclass
class Proposal:
    current: pd.Series  # weekly spend per channel
    proposed: pd.Series
    lower: pd.Series
    upper: pd.Series
    current_outcome: tuple[float, float, float]  # mean, low, high (media outcome per week)
    proposed_outcome: tuple[float, float, float]
    gain: tuple[float, float, float]
    probability_better: float
    feasible: bool


def _outcomes(beta: np.ndarray, k: np.ndarray, spend: np.ndarray) -> np.ndarray:
    """Per draw: steady-state weekly media outcome of a weekly spend split."""
    return (beta * -np.expm1(-spend[None, :] / k)).sum(axis=1)


def _summary(values: np.ndarray) -> tuple[float, float, float]:
    return (
        float(values.mean()),
        float(np.quantile(values, LOW)),
        float(np.quantile(values, HIGH)),
    )


def optimise(
    mix: MixFit,
    *,
    total: float,
    current: pd.Series,
    lower: pd.Series | None = None,
    upper: pd.Series | None = None,
    draws: int = 500,
) -> Proposal:
    """The best split of `total` weekly spend under a fitted model (see `optimise_curves`)."""
    beta, k = mix.curve_params()
    step = max(len(beta) // draws, 1)
    return optimise_curves(
        beta[::step],
        k[::step],
        mix.channels,
        total=total,
        current=current,
        lower=lower,
        upper=upper,
    )


def optimise_curves(
    beta: np.ndarray,
    k: np.ndarray,
    names: list[str],
    *,
    total: float,
    current: pd.Series,
    lower: pd.Series | None = None,
    upper: pd.Series | None = None,
) -> Proposal:
    """The split of `total` weekly spend that maximises the posterior-mean weekly outcome
    (sum over channels of beta (1 - exp(-x / k)), beta and k given per draw and channel), with
    lower <= x <= upper (SLSQP from the current split scaled to the total). Not applied
    anywhere: a proposal to look at."""
    now = current.reindex(names).fillna(0.0).to_numpy(float)
    low = lower.reindex(names).fillna(0.0) if lower is not None else pd.Series(0.0, names)
    high = upper.reindex(names).fillna(np.inf) if upper is not None else pd.Series(np.inf, names)
    lo, hi = low.to_numpy(float), np.minimum(high.to_numpy(float), total)
    feasible = bool(lo.sum() <= total + 1e-6 and hi.sum() >= total - 1e-6 and (lo <= hi).all())
    scale = max(total, 1.0)

    def negative(u: np.ndarray) -> tuple[float, np.ndarray]:
        x = u * scale
        gain = np.exp(-x[None, :] / k)
        value = (beta * (1 - gain)).sum(axis=1).mean()
        grad = (beta / k * gain).mean(axis=0) * scale
        return -value / scale, -grad / scale

    if feasible:
        even = np.full(len(names), total / len(names))
        start = now * (total / now.sum()) if now.sum() > 0 else even
        start = np.clip(start, lo, hi) / scale
        result = optimize.minimize(
            negative,
            start,
            jac=True,
            method="SLSQP",
            bounds=list(zip(lo / scale, hi / scale, strict=True)),
            constraints=[
                {
                    "type": "eq",
                    "fun": lambda u: u.sum() - total / scale,
                    "jac": lambda u: np.ones_like(u),
                }
            ],
            options={"maxiter": 500, "ftol": 1e-12},
        )
        proposed = np.clip(result.x * scale, lo, hi)
    else:
        proposed = now.copy()
    before = _outcomes(beta, k, now)
    after = _outcomes(beta, k, proposed)
    return Proposal(
        current=pd.Series(now, index=names),
        proposed=pd.Series(proposed, index=names),
        lower=pd.Series(lo, index=names),
        upper=pd.Series(hi, index=names),
        current_outcome=_summary(before),
        proposed_outcome=_summary(after),
        gain=_summary(after - before),
        probability_better=float((after > before).mean()),
        feasible=feasible,
    )
