"""Events other systems subscribe to (webhooks). Every segment membership change goes out here.

The integrations app (webhooks) provides `integrations.events.event_emit(*, name, payload)`;
until it is installed the events are only logged. This is the one place to connect them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

MEMBERSHIP_CHANGED = "segment.membership_changed"
IDS_PER_EVENT = 500


def _emit(*, name: str, payload: dict[str, Any]) -> None:
    try:
        from integrations.events import event_emit  # type: ignore[import-not-found]
    except ImportError:
        log.info(
            "event %s (no webhook sender installed): %s",
            name,
            {k: len(v) if isinstance(v, list) else v for k, v in payload.items()},
        )
        return
    event_emit(name=name, payload=payload)


def membership_changed(
    *, segment_id: int, segment_name: str, joined: list[int], left: list[int], at: datetime
) -> int:
    """Emit the leads that joined and left a segment, at most IDS_PER_EVENT ids per event.

    Returns the number of events emitted.
    """
    events = 0
    joined, left = sorted(joined), sorted(left)
    for start in range(0, max(len(joined), len(left)), IDS_PER_EVENT):
        _emit(
            name=MEMBERSHIP_CHANGED,
            payload={
                "segment_id": segment_id,
                "segment": segment_name,
                "joined": joined[start : start + IDS_PER_EVENT],
                "left": left[start : start + IDS_PER_EVENT],
                "at": at.isoformat(),
            },
        )
        events += 1
    return events
