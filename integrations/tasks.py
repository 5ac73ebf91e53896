"""Celery tasks of integrations: thin, taking ids."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def webhook_deliver(delivery_id: str, attempt: int = 1) -> None:
    """Make one attempt of a webhook delivery; the service schedules the next on failure."""
    from integrations.services import delivery_attempt

    delivery_attempt(delivery_id=delivery_id, attempt=attempt)


@shared_task(ignore_result=True)
def webhook_sweep() -> int:
    """Queue again pending deliveries whose task message was lost (e.g. the broker was down)."""
    from integrations.services import deliveries_sweep

    return deliveries_sweep()
