"""Follow-up work other apps queue after their commit: scoring a captured lead, insights after
an attribution run. A broker that is down never turns the write into an error: the nightly
jobs catch up."""

from __future__ import annotations

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def _score(lead_id: int) -> None:
    from insights.tasks import insights_score_lead

    try:
        insights_score_lead.delay(lead_id=lead_id)
    except Exception:  # any broker failure; the lead is committed already
        log.exception("could not queue the score of lead %s", lead_id)


def queue_lead_score(*, lead_id: int) -> None:
    """Score the lead after the current transaction commits."""
    transaction.on_commit(lambda: _score(lead_id))


def _after_run(run_id: int) -> None:
    from insights.tasks import insights_after_run

    try:
        insights_after_run.delay(run_id=run_id)
    except Exception:  # insights are derived data; never fail the attribution run for them
        log.exception("could not queue the insights of attribution run %s", run_id)


def queue_insights_after_run(*, run_id: int) -> None:
    """Intervals, budget advice and rank-flip alerts of a finished run, after commit."""
    transaction.on_commit(lambda: _after_run(run_id))
