"""Tasks of the project package itself."""

from celery import shared_task
from django.utils import timezone


@shared_task(name="clm.tasks.ping")
def ping() -> dict:
    """Prove the wiring: a worker that picked this up answers with its clock."""
    return {"pong": True, "at": timezone.now().isoformat()}


@shared_task(name="clm.tasks.heartbeat", ignore_result=True)
def heartbeat() -> bool:
    """The beat's heartbeat, logged once per 15 minutes however many beats send it."""
    import logging

    from clm.services import job_claim

    if not job_claim(job="heartbeat", period_seconds=15 * 60):
        return False
    logging.getLogger(__name__).info("heartbeat %s", ping())
    return True
