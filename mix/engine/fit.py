"""Posterior of the mix model: the mode (L-BFGS-B with batched finite-difference gradients),
a Laplace approximation there (finite-difference Hessian), then a seeded random-walk
Metropolis run of several vectorised chains whose proposal is the Laplace covariance, so the
draws follow the real (skewed) posterior and not only its Gaussian sketch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from mix.engine.model import Design, log_posterior

STEP = 1e-4


@dataclass
class Posterior:
    design: Design
    draws: np.ndarray  # N x P unconstrained
    mode: np.ndarray  # P
    acceptance: float
    chains: int
    rhat_max: float


def _gradient(d: Design, theta: np.ndarray) -> np.ndarray:
    eye = np.eye(len(theta)) * STEP
    points = np.vstack([theta + eye, theta - eye])
    values = log_posterior(d, points)
    n = len(theta)
    return (values[:n] - values[n:]) / (2 * STEP)


def _start(d: Design) -> np.ndarray:
    theta = np.zeros(d.n_params)
    f, c = d.fixed.shape[1], d.n_channels
    i = 1 + f
    theta[0] = 0.7
    theta[i : i + c] = np.log(0.3 / max(c, 1) ** 0.5)
    theta[i + 2 * c : i + 3 * c] = d.priors.k_mu
    theta[-1] = np.log(0.2)
    return theta


def find_mode(d: Design) -> np.ndarray:
    """The posterior mode (unconstrained), from a neutral start."""

    def negative(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value = float(log_posterior(d, theta[None, :])[0])
        if not np.isfinite(value):
            return 1e12, np.zeros_like(theta)
        return -value, -_gradient(d, theta)

    bounds = [(-12.0, 12.0)] * d.n_params
    result = optimize.minimize(
        negative,
        _start(d),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 3000, "maxfun": 6000},
    )
    return result.x


def laplace_covariance(d: Design, mode: np.ndarray) -> np.ndarray:
    """Inverse of the negative Hessian at the mode (eigenvalues floored to stay positive)."""
    n = len(mode)
    h = 1e-3
    hessian = np.empty((n, n))
    for i in range(n):
        step = np.zeros(n)
        step[i] = h
        hessian[i] = (_gradient(d, mode + step) - _gradient(d, mode - step)) / (2 * h)
    precision = -(hessian + hessian.T) / 2
    values, vectors = np.linalg.eigh(precision)
    values = np.maximum(values, 1e-2)
    return (vectors / values) @ vectors.T


def sample(
    d: Design,
    *,
    seed: int = 0,
    chains: int = 4,
    tune: int = 4000,
    draws: int = 12000,
    thin: int = 12,
    progress: object = None,
) -> Posterior:
    """Draws from the posterior: `chains` random-walk Metropolis chains started around the
    mode, proposal N(0, s^2 Sigma) with Sigma the Laplace covariance (re-estimated from the
    chains after the first half of tuning) and s tuned towards 25% acceptance."""
    rng = np.random.default_rng(seed)
    mode = find_mode(d)
    cov = laplace_covariance(d, mode)
    n = len(mode)
    chol = np.linalg.cholesky(cov)
    state = mode + (rng.standard_normal((chains, n)) @ chol.T) * 0.5
    current = log_posterior(d, state)
    scale = 2.38 / np.sqrt(n)
    kept = []
    accepted = 0
    history: list[float] = []
    warm: list[np.ndarray] = []
    total = tune + draws
    for step in range(total):
        proposal = state + scale * (rng.standard_normal((chains, n)) @ chol.T)
        values = log_posterior(d, proposal)
        accept = np.log(rng.random(chains)) < values - current
        state[accept] = proposal[accept]
        current[accept] = values[accept]
        if step < tune:
            history.append(accept.mean())
            if step % 100 == 99:
                rate = float(np.mean(history[-100:]))
                scale *= np.exp(2 * (rate - 0.25))
            if step >= tune // 4:
                warm.append(state.copy())
            if step == tune // 2:
                # the chains have found the posterior's shape: use it for the proposal
                seen = np.concatenate(warm)
                blended = 0.8 * np.cov(seen, rowvar=False) + 0.2 * cov
                chol = np.linalg.cholesky(blended + 1e-9 * np.eye(n))
                scale = 2.38 / np.sqrt(n)
        else:
            accepted += int(accept.sum())
            if (step - tune) % thin == 0:
                kept.append(state.copy())
        if progress is not None and step % 500 == 0:
            progress(step / total)
    chain_draws = np.stack(kept, axis=1)  # chains x N x P
    return Posterior(
        design=d,
        draws=chain_draws.reshape(-1, n),
        mode=mode,
        acceptance=accepted / (draws * chains),
        chains=chains,
        rhat_max=_rhat(chain_draws),
    )


def _rhat(chains: np.ndarray) -> float:
    """Largest split-free Gelman-Rubin R-hat over the parameters."""
    m, n, _ = chains.shape
    if m < 2 or n < 2:
        return float("nan")
    means = chains.mean(axis=1)
    within = chains.var(axis=1, ddof=1).mean(axis=0)
    between = n * means.var(axis=0, ddof=1)
    var = (n - 1) / n * within + between / n
    return float(np.sqrt(var / np.maximum(within, 1e-300)).max())
