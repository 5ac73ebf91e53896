"""Celery tasks of lead capture: thin, idempotent, taking ids."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError, SMTPException, ConnectionError),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=False,
    max_retries=8,  # about 4 minutes of retries, then a dead letter (admin can replay)
)
def submission_follow_up(submission_id: int) -> None:
    """Notify a new lead's owner and mark the submission followed up."""
    from leads.services import submission_follow_up as follow_up

    follow_up(submission_id=submission_id)


# The name is the one it had in campaigns, so jobs queued before the move still run.
@shared_task(
    name="campaigns.tasks.reclassify_touchpoints",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def reclassify_touchpoints(job_id: int) -> None:
    """Apply the current channel rules to every stored touchpoint."""
    from leads.reclassification import reclassify_run

    reclassify_run(job_id=job_id)


@shared_task(ignore_result=True)
def page_views_drain() -> int:
    """Store the page views waiting in the buffer, in batches (beat, every second)."""
    from django.conf import settings

    from leads.pageviews import page_views_drain as drain

    return drain() if settings.CLM_TRACK_BUFFER else 0


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=120,
    max_retries=8,
)
def page_views_store(item: dict) -> None:
    """Store one track request recorded in the outbox while the buffer was down (once)."""
    from leads.pageviews import page_views_store_item

    page_views_store_item(item=item)
