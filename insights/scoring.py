"""Lead scoring services: train a model version from past outcomes, score leads with it."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from insights import engine, selectors
from insights.models import LeadScore, ScoringModel

log = logging.getLogger(__name__)


@transaction.atomic
def scoring_train(*, test_share: float = 0.2, l2: float = 1.0) -> ScoringModel:
    """Learn a new model version from every lead with a known outcome, validate it on the
    newest of them (time-based split), store it and rescore the open leads.

    Raises engine.NotEnoughData when there is too little history to learn from.
    """
    features = selectors.lead_features()
    labels = selectors.lead_outcomes()
    labelled = features.join(labels, on="lead_id", how="inner")
    training = engine.train_and_validate(labelled, test_share=test_share, l2=l2)
    version = ScoringModel.objects.create(
        spec=training.model,
        metrics=training.metrics,
        calibration=training.calibration,
        trained_at=timezone.now(),
        labelled_leads=len(labelled),
    )
    version.scored_leads = leads_score(model=version)
    version.save(update_fields=["scored_leads"])
    return version


def _score_frame(frame: pd.DataFrame, model: ScoringModel) -> list[LeadScore]:
    probability = engine.predict(frame, model.spec)
    points = engine.score_points(probability)
    factors = engine.explain(frame, model.spec)
    now = timezone.now()
    return [
        LeadScore(
            lead_id=int(lead_id),
            score=int(s),
            probability=round(float(p), 5),
            factors=f,
            model=model,
            scored_at=now,
        )
        for lead_id, s, p, f in zip(frame["lead_id"], points, probability, factors, strict=True)
    ]


def leads_score(*, model: ScoringModel | None = None, lead_ids: Iterable[int] | None = None) -> int:
    """Score leads with a stored model (default: the newest): the given ones, else every open
    lead. Cheap: applies stored coefficients. Returns how many were scored."""
    model = model or selectors.active_scoring_model()
    if model is None:
        return 0
    frame = selectors.lead_features(lead_ids=lead_ids, open_only=lead_ids is None)
    written = 0
    for start in range(0, len(frame), 5000):
        rows = _score_frame(frame.iloc[start : start + 5000], model)
        LeadScore.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["lead"],
            update_fields=["score", "probability", "factors", "model", "scored_at"],
        )
        written += len(rows)
    return written


def lead_score_new(*, lead_id: int) -> LeadScore | None:
    """Score one lead just captured (None while no model has been trained)."""
    if leads_score(lead_ids=[lead_id]) == 0:
        return None
    return LeadScore.objects.filter(lead_id=lead_id).first()


def score_summary(model: ScoringModel) -> dict:
    """The strongest coefficients of a model version, for the admin page."""
    spec = model.spec
    pairs = sorted(zip(spec["columns"], spec["coef"], strict=True), key=lambda item: -abs(item[1]))
    return {
        "top": [
            {"feature": name, "coef": round(c, 3), "odds": round(float(np.exp(c)), 2)}
            for name, c in pairs[:15]
        ]
    }
