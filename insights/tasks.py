"""Celery tasks of insights: thin, taking ids."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

log = logging.getLogger(__name__)
RETRY = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 5,
}


@shared_task(**RETRY)
def insights_score_lead(lead_id: int) -> int | None:
    """Score a lead just captured with the stored model."""
    from insights.scoring import lead_score_new

    score = lead_score_new(lead_id=lead_id)
    return None if score is None else score.score


@shared_task(acks_late=True)
def insights_train_scoring() -> int | None:
    """Retrain lead scoring from the outcomes so far and rescore the open leads."""
    from insights.engine import NotEnoughData
    from insights.scoring import scoring_train

    try:
        return scoring_train().pk
    except NotEnoughData as exc:
        log.info("lead scoring not retrained: %s", exc)
        return None


@shared_task(**RETRY)
def insights_after_run(run_id: int) -> dict:
    """Intervals, budget advice and rank-flip alerts of a finished attribution run."""
    from insights.budget import insights_for_run

    return insights_for_run(run_id=run_id)


@shared_task(acks_late=True)
def insights_check_alerts() -> int:
    """Contact-SLA and drift alerts (every few minutes by beat)."""
    from insights.alerts import alerts_check_all

    return alerts_check_all()
