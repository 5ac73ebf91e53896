"""The public entry point of the transactional outbox (see outbox/services.py).

from clm.outbox import outbox_enqueue
outbox_enqueue(task="integrations.tasks.deliver", kwargs={"event_id": 7}, key="event:7")
"""

from outbox.services import outbox_enqueue

__all__ = ["outbox_enqueue"]
