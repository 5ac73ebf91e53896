"""Beat jobs of the outbox: relay pending messages, prune old ones."""

from __future__ import annotations

from celery import shared_task

from clm.services import job_claim, job_claims_prune


@shared_task(ignore_result=True)
def outbox_relay() -> int:
    """Send due pending outbox messages (a second beat's duplicate run finds them locked)."""
    from outbox.services import outbox_redeliver
    from outbox.services import outbox_relay as relay

    outbox_redeliver()
    total = 0
    for _ in range(20):  # at most 20 batches per beat tick; the next tick takes the rest
        result = relay(limit=200)
        total += result.sent
        if result.failed or result.sent < 200:
            break
    return total


@shared_task(acks_late=True)
def outbox_prune() -> int:
    """Delete old sent messages and old beat claims, once a day."""
    from outbox.services import outbox_prune as prune

    if not job_claim(job="outbox-prune", period_seconds=24 * 3600):
        return 0
    job_claims_prune(older_than_days=30)
    return prune()
