"""Celery tasks of attribution: thin, idempotent, taking ids.

A full run is a chord of partition tasks per stage; partitions are redone, not lost, when a
worker dies (acks_late + reject_on_worker_lost in clm.celery).
"""

from __future__ import annotations

from celery import chord, shared_task
from django.db import OperationalError

from clm.services import job_claim

RETRY = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 5,
}


@shared_task(bind=True, max_retries=None)
def attribution_run(self, run_id: int) -> None:
    """Start a full run once no other full run holds the lock."""
    from attribution import services
    from attribution.models import AttributionRun

    run = AttributionRun.objects.get(pk=run_id)
    if run.status in (AttributionRun.Status.DONE, AttributionRun.Status.FAILED):
        return
    if not services.run_acquire_lock(run):
        raise self.retry(countdown=30)
    services.run_mark_running(run=run)
    batches = services.run_batches(run=run)
    if services.TWO_STAGE & set(run.model_names):
        header = [attribution_batch_count.si(partition_ids=b) for b in batches]
        chord(header)(attribution_reduce.si(run_id=run_id))
    else:
        header = [attribution_batch_credit.si(partition_ids=b) for b in batches]
        chord(header)(attribution_finish.si(run_id=run_id))


@shared_task(**RETRY)
def attribution_partition_count(partition_id: int) -> None:
    """Stage 1 of a partition: additive Markov / Shapley counts."""
    from attribution.services import partition_count

    partition_count(partition_id=partition_id)


@shared_task(**RETRY)
def attribution_batch_count(partition_ids: list[int]) -> None:
    """Stage 1 of adjacent partitions read and counted in one pass."""
    from attribution.services import batch_count

    batch_count(partition_ids=partition_ids)


@shared_task(**RETRY)
def attribution_reduce(run_id: int) -> None:
    """Stage 2: global effects, then every batch's credits."""
    from attribution.models import AttributionRun
    from attribution.services import run_batches, run_reduce_effects

    run_reduce_effects(run_id=run_id)
    batches = run_batches(run=AttributionRun.objects.get(pk=run_id))
    header = [attribution_batch_credit.si(partition_ids=b) for b in batches]
    chord(header)(attribution_finish.si(run_id=run_id))


@shared_task(**RETRY)
def attribution_partition_credit(partition_id: int) -> None:
    """Stage 3 of a partition: credits written, replacing the partition's rows."""
    from attribution.services import partition_credit

    partition_credit(partition_id=partition_id)


@shared_task(**RETRY)
def attribution_batch_credit(partition_ids: list[int]) -> None:
    """Stage 3 of adjacent partitions: credited in one pass, their rows replaced in one write."""
    from attribution.services import batch_credit

    batch_credit(partition_ids=partition_ids)


@shared_task(**RETRY)
def attribution_finish(run_id: int) -> None:
    """Mark the run done."""
    from attribution.services import run_finish

    run_finish(run_id=run_id)
    attribution_warm_figures.delay()


@shared_task(acks_late=True)
def attribution_warm_figures() -> None:
    """Count the newest contact run's cached figures for the dashboard's default view (top
    paths, the credited self-reported matrix) after a run or a refresh changed them, so the
    first view reads them (dashboards.warm_figures). On the default queue: a refresh on the
    interactive queue never waits for it."""
    from attribution.dashboards import warm_figures

    warm_figures()


@shared_task(**RETRY)
def attribution_refresh_lead(lead_id: int) -> None:
    """Re-credit one lead's conversions after its deal changed (services.refresh_lead)."""
    from attribution.services import refresh_lead

    if refresh_lead(lead_id=lead_id) is not None:
        attribution_warm_figures.delay()


@shared_task(acks_late=True)
def attribution_nightly() -> int | None:
    """The nightly full runs of every model, contact scope then account scope (one after the
    other: the full-run lock), once a day however many beats send it. Returns the contact
    run's id."""
    from attribution.models import AttributionRun
    from attribution.services import RunInProgress, run_start

    if not job_claim(job="attribution-nightly", period_seconds=24 * 3600):
        return None
    started: dict[str, int | None] = {}
    for scope in AttributionRun.Scope.values:
        try:
            started[scope] = run_start(scope=scope).pk
        except RunInProgress:  # the run in progress is as fresh as tonight's would be
            started[scope] = None
    return started[AttributionRun.Scope.CONTACT]
