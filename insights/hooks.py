"""Follow-up work other apps queue for insights: scoring a captured lead, insights after an
attribution run. Both are recorded in the outbox in the caller's transaction, so a broker that
is down delays them but never loses them, and never turns the write into an error."""

from __future__ import annotations

from clm import events
from clm.events import LeadCaptured, RunFinished
from outbox.services import outbox_enqueue


def queue_lead_score(*, lead_id: int) -> None:
    """Score the lead (insights_score_lead) once the current transaction commits."""
    outbox_enqueue(task="insights.tasks.insights_score_lead", kwargs={"lead_id": lead_id})


def queue_insights_after_run(*, run_id: int) -> None:
    """Intervals, budget advice and rank-flip alerts of a finished run, after commit."""
    outbox_enqueue(task="insights.tasks.insights_after_run", kwargs={"run_id": run_id})


def insights_after_run(event: RunFinished) -> None:
    """A run that finished well queues its insights (in the run's transaction, via the outbox)."""
    if event.succeeded:
        queue_insights_after_run(run_id=event.run_id)


def score_captured_lead(event: LeadCaptured) -> None:
    """A new lead is scored after the capture commits (via the outbox), once a model exists
    (until then there is nothing to score with: no task is queued)."""
    from insights.selectors import scoring_trained

    if scoring_trained():
        queue_lead_score(lead_id=event.lead.pk)


def connect() -> None:
    """Subscribe insights to the events of the lower apps (InsightsConfig.ready)."""
    events.subscribe(LeadCaptured, score_captured_lead)
    events.subscribe(RunFinished, insights_after_run)
