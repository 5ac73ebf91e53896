"""The marketing mix model: weekly outcome = baseline + trend + yearly seasonality + controls
+ the sum over channels of a saturating response to adstocked spend, with Gaussian noise.

All in scaled units: outcome / its mean, each channel's spend / that channel's mean spend.

* Adstock (carry-over): a_t = sum_{l<L} w_l x_{t-l}, w_l = d^l / sum_j d^j (geometric, weights
  sum to 1, so a steady weekly spend x has adstock x).
* Saturation: contribution_t = beta * (1 - exp(-a_t / k)); beta is the most a channel can bring
  in a week, k the (scaled) spend at which it gives 63% of that.
* Priors: beta ~ HalfNormal(1 / sqrt(channels)) (the media together about the outcome),
  decay ~ Beta(2, 2), k ~ LogNormal(log 1.5, 0.6), sigma ~ HalfNormal(0.5), baseline ~ N(1, 1),
  trend, seasonality and controls ~ N(0, 0.5).
* Optional evidence: an attributed ROAS per channel pulls log(model ROAS) with a weak
  N(log attributed, attribution_sd) term; a lift test (incremental outcome of one channel over
  some weeks, with a 90% interval) is a Gaussian likelihood term on the model's contribution of
  that channel over those weeks.

The parameter vector (unconstrained): baseline, trend, Fourier terms, controls, log beta per
channel, logit decay per channel, log k per channel, log sigma. Every function takes a batch
of parameter vectors (rows) so that finite differences and several chains cost one call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAX_LAG = 8
FOURIER_ORDER = 2
WEEKS_PER_YEAR = 52.1775


@dataclass(frozen=True)
class LiftTest:
    """A measured incremental outcome of one channel over weeks [start, end] (row positions or
    week labels of the data), with its 90% interval."""

    channel: str
    start: object
    end: object
    lift: float
    low: float
    high: float


@dataclass(frozen=True)
class Priors:
    media_sd: float = 1.0  # beta ~ HalfNormal(media_sd / sqrt(channels))
    decay_a: float = 2.0
    decay_b: float = 2.0
    k_mu: float = float(np.log(1.5))
    k_sd: float = 0.6
    sigma_sd: float = 0.5
    attribution_sd: float = 0.7


@dataclass
class Design:
    """The data of a fit in the model's units, and how to read its parameter vector."""

    weeks: pd.Index
    channels: list[str]
    y: np.ndarray  # T, scaled
    y_scale: float
    x: np.ndarray  # T x C, scaled
    x_scale: np.ndarray  # C
    lagged: np.ndarray  # L x T x C, x shifted by each lag (zeros before the start)
    fixed: np.ndarray  # T x F: trend, Fourier terms, controls
    fixed_names: list[str]
    priors: Priors
    attributed_roas: np.ndarray  # C, nan where none
    lifts: list[tuple[int, np.ndarray, float, float]] = field(default_factory=list)

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def n_params(self) -> int:
        return 1 + self.fixed.shape[1] + 3 * self.n_channels + 1

    def split(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Named, constrained parameters of a batch (B x P) of unconstrained vectors."""
        f, c = self.fixed.shape[1], self.n_channels
        i = 1 + f
        return {
            "baseline": theta[:, 0],
            "fixed": theta[:, 1:i],
            "beta": np.exp(theta[:, i : i + c]),
            "decay": 1.0 / (1.0 + np.exp(-theta[:, i + c : i + 2 * c])),
            "k": np.exp(theta[:, i + 2 * c : i + 3 * c]),
            "sigma": np.exp(theta[:, -1]),
        }


def design(
    spend: pd.DataFrame,
    outcome: pd.Series,
    *,
    controls: pd.DataFrame | None = None,
    attributed_roas: pd.Series | None = None,
    lift_tests: list[LiftTest] | None = None,
    priors: Priors | None = None,
) -> Design:
    """Build the design from weekly spend (rows weeks, columns channels) and the outcome."""
    spend = spend.astype(float).fillna(0.0)
    outcome = outcome.reindex(spend.index).astype(float).fillna(0.0)
    channels = [str(c) for c in spend.columns]
    x_raw = spend.to_numpy()
    x_scale = np.where(x_raw.mean(axis=0) > 0, x_raw.mean(axis=0), 1.0)
    y_scale = float(outcome.mean()) or 1.0
    x = x_raw / x_scale
    t = len(spend)
    lagged = np.zeros((MAX_LAG, t, len(channels)))
    for lag in range(MAX_LAG):
        lagged[lag, lag:] = x[: t - lag]
    steps = np.arange(t, dtype=float)
    columns = [(steps - steps.mean()) / max(t, 1)]
    names = ["trend"]
    for order in range(1, FOURIER_ORDER + 1):
        angle = 2 * np.pi * order * steps / WEEKS_PER_YEAR
        columns += [np.sin(angle), np.cos(angle)]
        names += [f"sin{order}", f"cos{order}"]
    if controls is not None and not controls.empty:
        for name in controls.columns:
            columns.append(controls[name].reindex(spend.index).fillna(0.0).to_numpy(float))
            names.append(str(name))
    roas = np.full(len(channels), np.nan)
    if attributed_roas is not None:
        for i, name in enumerate(channels):
            value = attributed_roas.get(name)
            if value is not None and np.isfinite(value) and value > 0:
                roas[i] = float(value)
    lifts = []
    positions = {w: i for i, w in enumerate(spend.index)}
    for test in lift_tests or []:
        if test.channel not in channels:
            continue
        start = positions.get(test.start, test.start)
        end = positions.get(test.end, test.end)
        mask = np.zeros(t, dtype=bool)
        mask[int(start) : int(end) + 1] = True
        se = max((test.high - test.low) / (2 * 1.645), 1e-9) / y_scale
        lifts.append((channels.index(test.channel), mask, test.lift / y_scale, se))
    return Design(
        weeks=spend.index,
        channels=channels,
        y=outcome.to_numpy() / y_scale,
        y_scale=y_scale,
        x=x,
        x_scale=x_scale,
        lagged=lagged,
        fixed=np.column_stack(columns),
        fixed_names=names,
        priors=priors or Priors(),
        attributed_roas=roas,
        lifts=lifts,
    )


def adstock(d: Design, decay: np.ndarray) -> np.ndarray:
    """B x T x C adstocked spend for a batch of decays (B x C)."""
    powers = decay[:, None, :] ** np.arange(MAX_LAG)[None, :, None]  # B x L x C
    weights = powers / powers.sum(axis=1, keepdims=True)
    return np.einsum("blc,ltc->btc", weights, d.lagged)


def channel_contributions(d: Design, p: dict[str, np.ndarray]) -> np.ndarray:
    """B x T x C contribution of each channel each week (scaled units)."""
    stock = adstock(d, p["decay"])
    return p["beta"][:, None, :] * -np.expm1(-stock / p["k"][:, None, :])


def log_posterior(d: Design, theta: np.ndarray) -> np.ndarray:
    """Unnormalised log posterior of a batch (B x P) of unconstrained vectors, Jacobians in."""
    theta = np.atleast_2d(theta)
    p = d.split(theta)
    pr = d.priors
    contrib = channel_contributions(d, p)
    mu = p["baseline"][:, None] + p["fixed"] @ d.fixed.T + contrib.sum(axis=2)
    sigma = p["sigma"]
    resid = d.y[None, :] - mu
    lp = -0.5 * (resid**2).sum(axis=1) / sigma**2 - len(d.y) * np.log(sigma)
    # priors (with the log-Jacobian of each transform)
    lp += -0.5 * (p["baseline"] - 1.0) ** 2 - 0.5 * (p["fixed"] ** 2).sum(axis=1) / 0.25
    log_beta = np.log(p["beta"])
    beta_sd = pr.media_sd / np.sqrt(d.n_channels)
    lp += (-0.5 * p["beta"] ** 2 / beta_sd**2 + log_beta).sum(axis=1)
    decay = p["decay"]
    lp += (pr.decay_a * np.log(decay) + pr.decay_b * np.log1p(-decay)).sum(axis=1)
    log_k = np.log(p["k"])
    lp += (-0.5 * (log_k - pr.k_mu) ** 2 / pr.k_sd**2).sum(axis=1)
    lp += -0.5 * sigma**2 / pr.sigma_sd**2 + np.log(sigma)
    known = np.isfinite(d.attributed_roas)
    if known.any():
        spent = d.x.sum(axis=0) * d.x_scale  # C, currency
        roas = contrib.sum(axis=1) * d.y_scale / np.maximum(spent, 1e-12)
        gap = np.log(np.maximum(roas[:, known], 1e-12)) - np.log(d.attributed_roas[known])
        lp += -0.5 * (gap**2).sum(axis=1) / pr.attribution_sd**2
    for channel, mask, lift, se in d.lifts:
        measured = contrib[:, mask, channel].sum(axis=1)
        lp += -0.5 * (measured - lift) ** 2 / se**2
    return np.where(np.isfinite(lp), lp, -np.inf)
