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


@shared_task(acks_late=True, ignore_result=True)
def conversion_deliver(conversion_id: int, attempt: int = 1) -> None:
    """Make one upload attempt of an ad-platform conversion (a claimed, logged attempt)."""
    from integrations.conversions import conversion_attempt

    conversion_attempt(conversion_id=conversion_id, attempt=attempt)


@shared_task(ignore_result=True)
def conversions_upload() -> int:
    """Queue the due pending conversions' uploads through the outbox (beat, every minute)."""
    from integrations.conversions import conversions_upload as upload

    return upload()
