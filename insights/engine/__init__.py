"""Pure maths of the insights app: no Django, DataFrames in and out.

scoring: lead scores from past outcomes; budget: response curves and reallocation;
uncertainty: bootstrap intervals on attributed revenue and ROI; alerts: rank flips, drifts.
"""

from insights.engine.alerts import drifts, rank_flips
from insights.engine.budget import Advice, Priors, advise, allocate, fit_curves, marginal_roas
from insights.engine.scoring import (
    FEATURE_COLUMNS,
    NotEnoughData,
    Training,
    auc,
    calibration_table,
    explain,
    fit,
    predict,
    score_points,
    train_and_validate,
)
from insights.engine.uncertainty import bootstrap_totals

__all__ = [
    "FEATURE_COLUMNS",
    "Advice",
    "NotEnoughData",
    "Priors",
    "Training",
    "advise",
    "allocate",
    "auc",
    "bootstrap_totals",
    "calibration_table",
    "drifts",
    "explain",
    "fit",
    "fit_curves",
    "marginal_roas",
    "predict",
    "rank_flips",
    "score_points",
    "train_and_validate",
]
