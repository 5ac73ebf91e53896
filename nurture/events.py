"""Events other systems subscribe to (webhooks). Every segment membership change goes out here.

They go out through `integrations.events.event_emit` (webhooks), a sibling in the same layer
(README, "Architecture"). This is the one place that connects them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from integrations.events import event_emit

log = logging.getLogger(__name__)

MEMBERSHIP_CHANGED = "segment.membership_changed"
IDS_PER_EVENT = 500


def _emit(*, name: str, payload: dict[str, Any]) -> None:
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
