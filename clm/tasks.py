"""Tasks of the project package itself."""

from celery import shared_task
from django.utils import timezone


@shared_task(name="clm.tasks.ping")
def ping() -> dict:
    """Prove the wiring: a worker that picked this up answers with its clock."""
    return {"pong": True, "at": timezone.now().isoformat()}
