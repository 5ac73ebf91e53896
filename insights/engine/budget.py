"""Budget advice: diminishing-returns response curves per channel (or campaign) and the split of
next period's budget that maximises expected attributed revenue within bounds.

Weekly frame in: ``key`` (channel or campaign name), ``week``, ``spend``, ``revenue`` (revenue
attributed to touches of that week) and ``deals`` (credited won deals). Money is in currency
units, per week.

Response curve: revenue = a * spend^b with 0 < b < 1 (each extra unit returns less).
* b: least squares over a grid, penalised towards a prior b0 (Gaussian prior, sd b_sd); when a
  channel's weekly spend hardly varies the data cannot tell b and the prior decides.
* a: the fitted revenue at the channel's mean spend is shrunk towards the pooled ROAS times its
  spend, with weight deals / (deals + k): a channel with few credited deals is not trusted to
  be far from the average.
Marginal ROAS = d revenue / d spend = a * b * spend^(b - 1); marginal ROI = that - 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

B_GRID = np.linspace(0.1, 0.95, 35)


@dataclass(frozen=True)
class Priors:
    """What a thin channel is pulled towards."""

    b0: float = 0.6
    b_sd: float = 0.15
    deals_k: float = 10.0


def _fit_one(
    spend: np.ndarray, revenue: np.ndarray, pooled_roas: float, deals: float, priors: Priors
) -> tuple[float, float]:
    mask = spend > 0
    s, y = spend[mask], revenue[mask]
    if len(s) == 0:
        return 0.0, priors.b0
    powers = s[None, :] ** B_GRID[:, None]  # grid x weeks
    a_grid = (powers * y).sum(axis=1) / np.maximum((powers**2).sum(axis=1), 1e-12)
    sse = ((y[None, :] - a_grid[:, None] * powers) ** 2).sum(axis=1)
    sigma2 = max(float(sse.min()) / max(len(s) - 1, 1), 1e-9 * max(float((y**2).mean()), 1.0))
    objective = sse / (2 * sigma2) + (B_GRID - priors.b0) ** 2 / (2 * priors.b_sd**2)
    i = int(np.argmin(objective))
    b = float(B_GRID[i])
    mean_spend = float(s.mean())
    fitted = float(a_grid[i]) * mean_spend**b
    weight = deals / (deals + priors.deals_k) if deals > 0 else 0.0
    level = weight * fitted + (1 - weight) * pooled_roas * mean_spend
    return max(level, 0.0) / mean_spend**b, b


def _arrays(weekly: pd.DataFrame, keys: list[Any]) -> list[tuple[np.ndarray, ...]]:
    groups = dict(list(weekly.groupby("key", sort=True)))
    empty = np.zeros(0)
    return [
        (
            groups[k]["spend"].to_numpy(float),
            groups[k]["revenue"].to_numpy(float),
            groups[k]["deals"].to_numpy(float),
        )
        if k in groups
        else (empty, empty, empty)
        for k in keys
    ]


def _fit_arrays(series: list[tuple[np.ndarray, ...]], priors: Priors) -> np.ndarray:
    """(a, b) per key from its weekly (spend, revenue, deals) arrays; pooled ROAS over all."""
    spend = sum(float(s[s > 0].sum()) for s, _, _ in series)
    revenue = sum(float(y[s > 0].sum()) for s, y, _ in series)
    pooled = revenue / spend if spend else 0.0
    return np.array([_fit_one(s, y, pooled, float(d.sum()), priors) for s, y, d in series])


def fit_curves(weekly: pd.DataFrame, *, priors: Priors | None = None) -> pd.DataFrame:
    """Per key: a, b, weeks, deals and mean weekly spend and revenue of the fitted weeks."""
    priors = priors or Priors()
    keys = sorted(weekly["key"].unique()) if len(weekly) else []
    series = _arrays(weekly, keys)
    fitted = _fit_arrays(series, priors) if keys else np.zeros((0, 2))
    return pd.DataFrame(
        {
            "a": fitted[:, 0],
            "b": fitted[:, 1],
            "weeks": [int((s > 0).sum()) for s, _, _ in series],
            "deals": [float(d.sum()) for _, _, d in series],
            "mean_spend": [float(s.mean()) if len(s) else 0.0 for s, _, _ in series],
            "mean_revenue": [float(y.mean()) if len(y) else 0.0 for _, y, _ in series],
        },
        index=pd.Index(keys, name="key"),
    )


def response(a: Any, b: Any, spend: Any) -> Any:
    """Expected weekly revenue a * spend^b."""
    return a * np.power(np.maximum(spend, 0.0), b)


def marginal_roas(a: Any, b: Any, spend: Any) -> Any:
    """Revenue from one more unit of spend: a * b * spend^(b - 1) (infinite at zero spend)."""
    with np.errstate(divide="ignore"):
        return a * b * np.power(np.maximum(spend, 1e-9), b - 1)


def allocate(
    curves: pd.DataFrame, *, total: float, lower: pd.Series, upper: pd.Series
) -> pd.Series:
    """Weekly spend per key maximising sum a*x^b with sum x = total and lower <= x <= upper.

    The optimum equalises marginal ROAS (lambda) among keys not at a bound:
    x(lambda) = clip((a*b/lambda)^(1/(1-b)), lower, upper); lambda is found by bisection.
    A total outside [sum lower, sum upper] is moved to the nearest feasible one.
    """
    keys = curves.index
    a, b = curves["a"].to_numpy(float), curves["b"].to_numpy(float)
    lo = lower.reindex(keys).fillna(0).to_numpy(float)
    hi = np.maximum(upper.reindex(keys).fillna(0).to_numpy(float), lo)
    total = float(np.clip(total, lo.sum(), hi.sum()))

    def spend_at(lam: float) -> np.ndarray:
        with np.errstate(divide="ignore", over="ignore"):
            x = np.power(np.maximum(a * b, 1e-300) / lam, 1 / (1 - b))
        return np.clip(np.nan_to_num(x, posinf=1e300), lo, hi)

    low, high = 1e-12, 1e12
    for _ in range(200):
        mid = np.sqrt(low * high)
        if spend_at(mid).sum() > total:
            low = mid
        else:
            high = mid
    x = spend_at(np.sqrt(low * high))
    # Close the last rounding gap on the keys that are not at a bound.
    gap = total - x.sum()
    free = (x > lo + 1e-9) & (x < hi - 1e-9)
    if free.any() and abs(gap) > 0:
        x[free] += gap * x[free] / x[free].sum()
    return pd.Series(np.clip(x, lo, hi), index=keys)


@dataclass
class Advice:
    """Recommended weekly spend per key and the expected weekly revenue change with its
    bootstrap interval."""

    rows: pd.DataFrame
    expected_change: float
    change_low: float
    change_high: float
    probability_better: float
    total: float
    notes: list[str] = field(default_factory=list)


def advise(
    weekly: pd.DataFrame,
    *,
    current: pd.Series,
    lower: pd.Series,
    upper: pd.Series,
    total: float | None = None,
    priors: Priors | None = None,
    samples: int = 200,
    level: float = 0.9,
    seed: int = 0,
) -> Advice:
    """Fit curves, allocate `total` (default: the current total) and bootstrap the gain.

    The interval resamples each key's weeks with replacement, refits its curve and values the
    same recommended split against the current one.
    """
    keys = current.index
    fitted = fit_curves(weekly[weekly["key"].isin(keys)], priors=priors).reindex(keys)
    fitted["a"] = fitted["a"].fillna(0.0)
    fitted["b"] = fitted["b"].fillna((priors or Priors()).b0)
    notes = []
    total = float(current.sum()) if total is None else float(total)
    if total < lower.reindex(keys).fillna(0).sum() or total > upper.reindex(keys).fillna(0).sum():
        notes.append("The total budget does not fit the channel bounds; the nearest one is used.")
    recommended = allocate(fitted, total=total, lower=lower, upper=upper)
    cur = current.to_numpy(float)
    rec = recommended.to_numpy(float)

    def gain(a: np.ndarray, b: np.ndarray) -> float:
        return float((response(a, b, rec) - response(a, b, cur)).sum())

    rng = np.random.default_rng(seed)
    series = _arrays(weekly, list(keys))
    draws = []
    if any(len(sp) for sp, _, _ in series):
        for _ in range(samples):
            resampled = []
            for sp, y, d in series:
                pick = rng.integers(0, len(sp), len(sp)) if len(sp) else np.zeros(0, dtype=int)
                resampled.append((sp[pick], y[pick], d[pick]))
            ab = _fit_arrays(resampled, priors or Priors())
            draws.append(gain(ab[:, 0], ab[:, 1]))
    expected = gain(fitted["a"].to_numpy(float), fitted["b"].to_numpy(float))
    tail = (1 - level) / 2
    low, high = (
        (float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail)))
        if draws
        else (expected, expected)
    )
    a, b = fitted["a"].to_numpy(float), fitted["b"].to_numpy(float)
    rows = pd.DataFrame(
        {
            "current": cur,
            "recommended": rec,
            "change": rec - cur,
            "lower": lower.reindex(keys).fillna(0).to_numpy(float),
            "upper": upper.reindex(keys).fillna(0).to_numpy(float),
            "a": a,
            "b": b,
            "weeks": fitted["weeks"].fillna(0).to_numpy(int),
            "deals": fitted["deals"].fillna(0).to_numpy(float),
            "revenue_current": response(a, b, cur),
            "revenue_recommended": response(a, b, rec),
            "marginal_roi_current": marginal_roas(a, b, cur) - 1,
            "marginal_roi_recommended": marginal_roas(a, b, rec) - 1,
        },
        index=keys,
    )
    return Advice(
        rows=rows,
        expected_change=expected,
        change_low=low,
        change_high=high,
        probability_better=float(np.mean(np.asarray(draws) > 0)) if draws else 0.5,
        total=float(recommended.sum()),
        notes=notes,
    )
