"""What a fitted mix model says, every figure from the posterior draws with a 90% interval."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mix.engine import fit as fitting
from mix.engine.model import Design, LiftTest, Priors, channel_contributions, design

LOW, HIGH = 0.05, 0.95


@dataclass
class MixFit:
    """A fitted model: its design, posterior draws and the diagnostics of the sampler."""

    design: Design
    posterior: fitting.Posterior

    @property
    def channels(self) -> list[str]:
        return self.design.channels

    def params(self) -> dict[str, np.ndarray]:
        return self.design.split(self.posterior.draws)

    def curve_params(self) -> tuple[np.ndarray, np.ndarray]:
        """Per draw and channel: beta (most outcome per week) and k (spend scale), currency."""
        p = self.params()
        return p["beta"] * self.design.y_scale, p["k"] * self.design.x_scale[None, :]

    def contribution_draws(self) -> np.ndarray:
        """N x T x C contribution of each channel each week, in outcome units."""
        return channel_contributions(self.design, self.params()) * self.design.y_scale


def fit(
    spend: pd.DataFrame,
    outcome: pd.Series,
    *,
    controls: pd.DataFrame | None = None,
    attributed_roas: pd.Series | None = None,
    lift_tests: list[LiftTest] | None = None,
    priors: Priors | None = None,
    seed: int = 0,
    draws: int = 12000,
    tune: int = 4000,
    progress: Callable[[float], None] | None = None,
) -> MixFit:
    """Fit the model to weekly spend (weeks x channels) and outcome; same seed, same numbers."""
    d = design(
        spend,
        outcome,
        controls=controls,
        attributed_roas=attributed_roas,
        lift_tests=lift_tests,
        priors=priors,
    )
    posterior = fitting.sample(d, seed=seed, draws=draws, tune=tune, progress=progress)
    return MixFit(design=d, posterior=posterior)


def _interval(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, ...]:
    return (
        values.mean(axis=axis),
        np.quantile(values, LOW, axis=axis),
        np.quantile(values, HIGH, axis=axis),
    )


def roas_table(mix: MixFit) -> pd.DataFrame:
    """Per channel: spend, contribution and return per unit of spend (ROAS = contribution /
    spend over the fitted weeks), each with its 90% interval."""
    d = mix.design
    spent = d.x.sum(axis=0) * d.x_scale
    total = mix.contribution_draws().sum(axis=1)  # N x C
    roas = total / np.maximum(spent, 1e-12)
    c_mean, c_low, c_high = _interval(total)
    r_mean, r_low, r_high = _interval(roas)
    return pd.DataFrame(
        {
            "spend": spent,
            "contribution": c_mean,
            "contribution_low": c_low,
            "contribution_high": c_high,
            "roas": r_mean,
            "roas_median": np.median(roas, axis=0),
            "roas_low": r_low,
            "roas_high": r_high,
        },
        index=pd.Index(d.channels, name="channel"),
    )


def contributions(mix: MixFit) -> pd.DataFrame:
    """Weeks x (base, channels...): mean contribution per week in outcome units; `base` is
    baseline + trend + seasonality + controls, `actual` the observed outcome."""
    d = mix.design
    p = mix.params()
    base = (p["baseline"][:, None] + p["fixed"] @ d.fixed.T) * d.y_scale
    frame = pd.DataFrame(mix.contribution_draws().mean(axis=0), index=d.weeks, columns=d.channels)
    frame.insert(0, "base", base.mean(axis=0))
    frame["actual"] = d.y * d.y_scale
    return frame


def recent_spend(mix: MixFit, weeks: int = 4) -> pd.Series:
    """Each channel's mean weekly spend over the last `weeks` weeks (today's rate)."""
    d = mix.design
    x = d.x[-weeks:] * d.x_scale
    return pd.Series(x.mean(axis=0), index=d.channels)


def diminishing_point(beta: np.ndarray, k: np.ndarray, breakeven: float | None) -> np.ndarray:
    """Weekly spend past which the curve bends: where an extra unit of spend returns less than
    `breakeven` (beta/k * exp(-x/k) = breakeven, x = k ln(beta / (k breakeven))), or, with no
    breakeven (an outcome that is not money), where the return of an extra unit has halved
    from the first unit's (x = k ln 2)."""
    if breakeven is None:
        return k * np.log(2.0)
    return np.maximum(k * np.log(np.maximum(beta / (k * breakeven), 1e-12)), 0.0)


def marginal_returns(
    beta: np.ndarray, k: np.ndarray, current: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per channel: the steady-state outcome of one more unit of weekly spend at `current`
    (d/dx beta (1 - e^(-x/k)) = beta/k e^(-x/k)) over the draws (N x C): mean, and the 90%
    interval."""
    values = beta / k * np.exp(-np.asarray(current, dtype=float)[None, :] / k)
    return _interval(values)


def response_curves(
    mix: MixFit, *, points: int = 30, breakeven: float | None = 1.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Steady-state weekly outcome of each channel against its weekly spend (0 to twice the
    largest of its observed or current weekly spend) with a 90% band, and per channel its
    current weekly spend and point of diminishing returns (median and 90% interval)."""
    beta, k = mix.curve_params()
    d = mix.design
    current = recent_spend(mix)
    rows, marks = [], []
    for i, name in enumerate(d.channels):
        top = 2 * max(float(d.x[:, i].max() * d.x_scale[i]), float(current.iloc[i]), 1.0)
        grid = np.linspace(0, top, points)
        values = beta[:, i, None] * -np.expm1(-grid[None, :] / k[:, i, None])
        mean, low, high = _interval(values)
        for g, m, lo, hi in zip(grid, mean, low, high, strict=True):
            rows.append((name, g, m, lo, hi))
        point = diminishing_point(beta[:, i], k[:, i], breakeven)
        now = beta[:, i] * -np.expm1(-current.iloc[i] / k[:, i])
        marks.append(
            (
                name,
                float(current.iloc[i]),
                float(now.mean()),
                float(np.median(point)),
                float(np.quantile(point, LOW)),
                float(np.quantile(point, HIGH)),
            )
        )
    curves = pd.DataFrame(rows, columns=["channel", "spend", "outcome", "low", "high"])
    points_frame = pd.DataFrame(
        marks,
        columns=[
            "channel",
            "current",
            "current_outcome",
            "diminishing",
            "diminishing_low",
            "diminishing_high",
        ],
    ).set_index("channel")
    return curves, points_frame
