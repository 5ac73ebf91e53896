from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def reclassify_touchpoints(job_id: int) -> None:
    """Apply the current channel rules to every stored touchpoint."""
    from leads.reclassification import reclassify_run  # leads own touchpoints

    reclassify_run(job_id=job_id)
