"""The one door for outgoing events: `event_emit(name=..., payload=...)`.

It writes one WebhookDelivery per subscribed endpoint inside the caller's transaction (so an
event is as durable as the write that caused it) and records their sending in the outbox, in
the same transaction (`deliveries_enqueue`). A broker outage never fails the caller: the outbox
relays the sends when the broker is back, and `integrations.tasks.webhook_sweep` (beat) sends
any delivery still pending after that.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from clm.localcache import versioned
from outbox.services import outbox_enqueue

log = logging.getLogger(__name__)

EVENTS = (
    "lead.created",
    "lead.stage_changed",
    "deal.won",
    "deal.lost",
    "attribution.run_finished",
    "segment.membership_changed",
    "alert.raised",
    "account.created",
)


ENDPOINTS_VERSION = "webhook-endpoints"


def endpoints_subscribed(name: str) -> list[int]:
    """The ids of the active endpoints subscribed to event `name`.

    The endpoints are kept per process until one is saved or deleted (integrations.apps bumps
    the version): every capture asks, and almost always there is none.
    """
    from integrations.models import WebhookEndpoint

    table = versioned(
        ENDPOINTS_VERSION,
        lambda: [
            (e.pk, tuple(e.events or []))
            for e in WebhookEndpoint.objects.filter(is_active=True).only("id", "events")
        ],
    )
    return [pk for pk, events in table if name in events]


def event_emit(*, name: str, payload: dict[str, Any]) -> int:
    """Record `name` with `payload` for every active endpoint subscribed to it; send after commit.

    Returns the number of deliveries created. The body is
    {"id": <event uuid>, "event": name, "created_at": <ISO time>, "data": payload}.
    """
    from integrations.models import WebhookDelivery

    if name not in EVENTS:
        raise ValueError(f"unknown event {name!r}")
    endpoint_ids = endpoints_subscribed(name)
    if not endpoint_ids:
        return 0
    now = timezone.now()
    body = json.dumps(
        {"id": str(uuid.uuid4()), "event": name, "created_at": now.isoformat(), "data": payload},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(endpoint_id=pk, event=name, body=body, next_attempt_at=now)
            for pk in endpoint_ids
        ]
    )
    ids = [str(d.pk) for d in deliveries]
    deliveries_enqueue(ids)
    return len(ids)


def deliveries_enqueue(delivery_ids: list[str]) -> None:
    """Record the first send of each delivery in the outbox (inside the caller's transaction)."""

    for delivery_id in delivery_ids:
        outbox_enqueue(
            task="integrations.tasks.webhook_deliver",
            kwargs={"delivery_id": delivery_id, "attempt": 1},
            key=f"webhook:{delivery_id}:1",
        )


def deliveries_queue(delivery_ids: list[str], *, attempt: int = 1, countdown: int = 0) -> None:
    """Hand deliveries to Celery. Never raises: a pending row is swept up again later."""
    from integrations.tasks import webhook_deliver

    for delivery_id in delivery_ids:
        try:
            webhook_deliver.apply_async(
                kwargs={"delivery_id": delivery_id, "attempt": attempt}, countdown=countdown
            )
        except Exception:  # noqa: BLE001 - broker down: the sweep re-queues pending rows
            log.warning("could not queue webhook delivery %s; the sweep will", delivery_id)
