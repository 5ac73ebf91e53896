"""Lead scoring: an L2-regularised logistic regression on what is known when a lead is captured.

Input frame, one row per lead: ``lead_id``, ``created_at`` (UTC), categorical ``channel``,
``campaign``, ``form`` (first-touch channel and campaign, capture form; "" when unknown),
counts ``journey_touches`` and ``pages_before`` (before capture), flags ``has_company``,
``free_mail``, ``has_phone``, ``consent``; for training also ``label`` (1 good outcome, 0 bad).

The fitted model is a plain dict (JSON-storable) so scoring a new lead needs no refit: its
columns, coefficients, intercept and the training means used to explain a score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

CATEGORICAL = {"channel": "First-touch channel", "campaign": "First-touch campaign", "form": "Form"}
COUNTS = {
    "journey_touches": "Visits and touches before capture",
    "pages_before": "Pages seen before capture",
}
FLAGS = {
    "has_company": ("Company given", "No company given"),
    "free_mail": ("Free-mail address", "Corporate email domain"),
    "has_phone": ("Phone given", "No phone given"),
    "consent": ("Opted in to marketing", "No marketing opt-in"),
}
FEATURE_COLUMNS = [*CATEGORICAL, *COUNTS, *FLAGS]


class NotEnoughData(ValueError):
    """Too few past leads with a known outcome (or only one kind of outcome) to learn from."""


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))


def design_spec(frame: pd.DataFrame, *, min_count: int = 5) -> dict[str, Any]:
    """The encoding learned from training rows: levels seen at least `min_count` times and the
    mean and spread of each log count."""
    levels = {}
    for name in CATEGORICAL:
        counts = frame[name].fillna("").astype(str).value_counts()
        levels[name] = sorted(str(v) for v, n in counts.items() if n >= min_count and v != "")
    scales = {}
    for name in COUNTS:
        values = np.log1p(frame[name].astype(float).clip(lower=0))
        scales[name] = [float(values.mean()), float(values.std(ddof=0)) or 1.0]
    columns = [f"{name}={level}" for name in CATEGORICAL for level in levels[name]]
    columns += list(COUNTS) + list(FLAGS)
    return {"levels": levels, "scales": scales, "columns": columns}


def design_matrix(frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
    """Rows encoded as the spec says: one-hot levels (unknown levels all zero), standardised
    log counts, 0/1 flags."""
    parts = []
    for name in CATEGORICAL:
        values = frame[name].fillna("").astype(str).to_numpy()
        for level in spec["levels"][name]:
            parts.append((values == level).astype(float))
    for name in COUNTS:
        mean, std = spec["scales"][name]
        parts.append((np.log1p(frame[name].astype(float).clip(lower=0)).to_numpy() - mean) / std)
    for name in FLAGS:
        parts.append(frame[name].astype(bool).to_numpy().astype(float))
    if not parts:
        return np.zeros((len(frame), 0))
    return np.column_stack(parts) if len(frame) else np.zeros((0, len(parts)))


def fit_logistic(
    x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, iterations: int = 50
) -> tuple[np.ndarray, float]:
    """Weights and intercept minimising log-loss + l2/2 * |w|^2 (intercept not penalised), by
    Newton's method."""
    n, k = x.shape
    design = np.column_stack([np.ones(n), x])
    penalty = np.full(k + 1, float(l2))
    penalty[0] = 0.0
    base = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    beta = np.zeros(k + 1)
    beta[0] = np.log(base / (1 - base))
    for _ in range(iterations):
        p = _sigmoid(design @ beta)
        gradient = design.T @ (p - y) + penalty * beta
        hessian = (
            (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(k + 1)
        )
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta[1:], float(beta[0])


def fit(frame: pd.DataFrame, *, l2: float = 1.0, min_count: int = 5) -> dict[str, Any]:
    """A scoring model (JSON-storable dict) fitted on rows with a `label`."""
    y = frame["label"].astype(float).to_numpy()
    if len(y) == 0 or y.min() == y.max():
        raise NotEnoughData("need past leads with both good and bad outcomes")
    spec = design_spec(frame, min_count=min_count)
    x = design_matrix(frame, spec)
    weights, intercept = fit_logistic(x, y, l2=l2)
    means = x.mean(axis=0) if len(x) else np.zeros(len(spec["columns"]))
    return {
        **spec,
        "coef": [float(w) for w in weights],
        "intercept": intercept,
        "means": [float(m) for m in means],
        "l2": l2,
    }


def predict(frame: pd.DataFrame, model: dict[str, Any]) -> np.ndarray:
    """P(good outcome) per row: sigmoid(intercept + x . coef)."""
    x = design_matrix(frame, model)
    return _sigmoid(model["intercept"] + x @ np.asarray(model["coef"], dtype=float))


def score_points(probability: np.ndarray) -> np.ndarray:
    """The 0-100 score shown to reps: the predicted probability in percent, rounded."""
    return np.clip(np.rint(100 * probability), 0, 100).astype(int)


def _groups(model: dict[str, Any]) -> list[tuple[str, list[int]]]:
    index = {c: i for i, c in enumerate(model["columns"])}
    groups = []
    for name in CATEGORICAL:
        groups.append((name, [index[f"{name}={lv}"] for lv in model["levels"][name]]))
    for name in [*COUNTS, *FLAGS]:
        groups.append((name, [index[name]]))
    return groups


def _value(name: str, row: dict[str, Any]) -> str | int | bool:
    """The row's raw value of a factor (pages label it in the reader's language)."""
    if name in CATEGORICAL:
        return str(row[name] or "")
    if name in COUNTS:
        return int(row[name])
    return bool(row[name])


def _describe(name: str, row: dict[str, Any]) -> str:
    if name in CATEGORICAL:
        value = str(row[name] or "") or "(none)"
        return f"{CATEGORICAL[name]}: {value}"
    if name in COUNTS:
        return f"{COUNTS[name]}: {int(row[name])}"
    yes, no = FLAGS[name]
    return yes if bool(row[name]) else no


def explain(frame: pd.DataFrame, model: dict[str, Any], *, top: int = 6) -> list[list[dict]]:
    """Per row, the factors that moved its log-odds away from the average lead's, largest first.

    logit(p) = intercept + coef . mean + sum over groups of coef_g . (x_g - mean_g): each group's
    term is its effect ("raises" when > 0); `odds` is exp(effect), the factor on the odds.
    """
    x = design_matrix(frame, model)
    centred = (x - np.asarray(model["means"], dtype=float)) * np.asarray(model["coef"], dtype=float)
    out = []
    groups = _groups(model)
    for i, row in enumerate(frame.to_dict("records")):
        factors = []
        for name, cols in groups:
            effect = float(centred[i, cols].sum()) if cols else 0.0
            if abs(effect) < 0.02:
                continue
            factors.append(
                {
                    "feature": name,
                    "value": _value(name, row),
                    "label": _describe(name, row),
                    "effect": round(effect, 4),
                    "odds": round(float(np.exp(effect)), 3),
                }
            )
        factors.sort(key=lambda f: -abs(f["effect"]))
        out.append(factors[:top])
    return out


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve: P(a random good lead scores above a random bad one), ties 1/2."""
    y = np.asarray(y, dtype=float)
    positives, negatives = y.sum(), len(y) - y.sum()
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = pd.Series(p).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def calibration_table(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> list[dict[str, Any]]:
    """Held-out leads in bins of predicted probability (equal counts): predicted vs observed."""
    frame = pd.DataFrame({"y": np.asarray(y, dtype=float), "p": np.asarray(p, dtype=float)})
    if frame.empty:
        return []
    bins = max(1, min(bins, len(frame) // 20 or 1))
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False)
    rows = []
    for _, group in frame.groupby("bin"):
        rows.append(
            {
                "low": round(float(group["p"].min()), 4),
                "high": round(float(group["p"].max()), 4),
                "n": len(group),
                "predicted": round(float(group["p"].mean()), 4),
                "observed": round(float(group["y"].mean()), 4),
            }
        )
    return rows


@dataclass
class Training:
    """A fitted model and how it did on the held-out, most recent leads."""

    model: dict[str, Any]
    metrics: dict[str, Any]
    calibration: list[dict[str, Any]]


def train_and_validate(
    frame: pd.DataFrame, *, test_share: float = 0.2, l2: float = 1.0, min_labelled: int = 40
) -> Training:
    """Time-based validation, then the final fit on every labelled lead.

    The oldest (1 - test_share) of the labelled leads train a model that scores the newest
    test_share (a lead is never judged by a model that saw the future); AUC, Brier score and a
    calibration table come from those. The stored model is refitted on all of them.
    """
    data = frame.dropna(subset=["label"]).sort_values(["created_at", "lead_id"])
    if len(data) < min_labelled:
        raise NotEnoughData(
            f"{len(data)} past leads with a known outcome; at least {min_labelled} are needed"
        )
    cut = round(len(data) * (1 - test_share))
    train, test = data.iloc[:cut], data.iloc[cut:]
    if train["label"].nunique() < 2 or test["label"].nunique() < 2:
        raise NotEnoughData("both the training and the held-out leads need good and bad outcomes")
    held_out_model = fit(train, l2=l2)
    p = predict(test, held_out_model)
    y = test["label"].astype(float).to_numpy()
    eps = 1e-12
    metrics = {
        "auc": round(auc(y, p), 4),
        "brier": round(float(np.mean((p - y) ** 2)), 4),
        "log_loss": round(float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))), 4),
        "base_rate": round(float(data["label"].mean()), 4),
        "n_train": len(train),
        "n_test": len(test),
        "split_at": pd.Timestamp(test["created_at"].iloc[0]).isoformat(),
    }
    return Training(model=fit(data, l2=l2), metrics=metrics, calibration=calibration_table(y, p))
