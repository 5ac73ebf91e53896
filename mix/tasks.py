"""Celery tasks of the mix model: thin, taking ids."""

from __future__ import annotations

from celery import shared_task

from clm.services import job_claim


@shared_task(acks_late=True)
def mix_fit(run_id: int) -> str | None:
    """Fit one queued mix model run."""
    from mix.services import run_execute

    run = run_execute(run_id=run_id)
    return None if run is None else run.status


@shared_task(acks_late=True)
def mix_nightly() -> int | None:
    """The nightly refit on won revenue, once a day however many beats send it."""
    from mix.services import RunInProgress, run_start

    if not job_claim(job="mix-nightly", period_seconds=24 * 3600):
        return None
    try:
        return run_start().pk
    except RunInProgress:
        return None
