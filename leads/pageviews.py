"""The page-view buffer: track requests accepted into Redis, stored in batches by a drainer.

With `CLM_TRACK_BUFFER` on (the default when REDIS_URL is set) the track endpoint appends each
request's events to one Redis list (one RPUSH, no database) and answers 202; the worker's
drainer (`leads.tasks.page_views_drain`, beat every second) moves up to `CLM_TRACK_BATCH`
requests at a time into a batch list of its own (one Lua script, so a crash loses nothing),
stores them with `leads.touches.page_views_store` (one transaction, one insert, exactly what
storing each request on its own stores) and then drops the batch list. A batch whose drainer
died is put back after `STALE_SECONDS`.

When Redis does not answer (stopped, or frozen past CLM_REDIS_TIMEOUT) the request is recorded
in the outbox instead (a row in PostgreSQL, in the request), and the worker stores it when the
broker is back; with the database down too the endpoint answers 503 and track.js retries.

Every request carries a token; whoever stores it first claims `pageview:<token>` in the
outbox's unique keys in the same transaction (outbox.services.outbox_claim_keys). A push that
timed out on a frozen Redis may still be executed once Redis thaws, so the same request can
reach both paths: the second finds its token claimed and stores nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from redis import Redis
from redis.exceptions import RedisError

from leads.touches import page_views_store
from outbox.services import outbox_claim_keys, outbox_enqueue

log = logging.getLogger(__name__)

BUFFER_KEY = "clm:pageviews"
BATCHES_KEY = "clm:pageviews:batches"  # sorted set: batch list -> time it was taken
BATCH_PREFIX = "clm:pageviews:batch:"
CLAIM_TASK = "leads.tasks.page_views_store"
STALE_SECONDS = 300
# After a failed push this process writes to the outbox for a while without trying Redis, so
# a frozen Redis costs one request one timeout, not every request.
BREAKER_SECONDS = 5.0

# Move up to ARGV[1] items from the buffer to this batch's own list, atomically.
_TAKE = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  redis.call('LTRIM', KEYS[1], #items, -1)
  for i = 1, #items, 500 do
    redis.call('RPUSH', KEYS[2], unpack(items, i, math.min(i + 499, #items)))
  end
  redis.call('ZADD', KEYS[3], ARGV[2], KEYS[2])
end
return items
"""

_state: dict[str, Any] = {"client": None, "open_until": 0.0}
_lock = threading.Lock()


def buffer_client() -> Redis:
    """This process's connection to the buffer's Redis (short timeouts)."""
    with _lock:
        if _state["client"] is None:
            _state["client"] = Redis.from_url(
                settings.REDIS_URL,
                socket_timeout=settings.REDIS_TIMEOUT,
                socket_connect_timeout=settings.REDIS_TIMEOUT,
            )
        return _state["client"]


def _request_item(events: list[dict[str, Any]], received_at: datetime) -> dict[str, Any]:
    return {"token": uuid.uuid4().hex, "at": received_at.isoformat(), "events": events}


def page_views_accept(*, events: list[dict[str, Any]], received_at: datetime) -> int:
    """Take one track request's (valid) events: buffered, else recorded in the outbox, else
    (no buffer configured) stored at once. Returns how many were accepted.

    Raises DatabaseError only when neither Redis nor the database took them (a 503).
    """
    if not settings.CLM_TRACK_BUFFER:
        return page_views_store(requests=[(events, received_at)])
    item = _request_item(events, received_at)
    if time.monotonic() >= _state["open_until"]:
        try:
            buffer_client().rpush(BUFFER_KEY, json.dumps(item))
            return len(events)
        except (RedisError, OSError) as exc:
            _state["open_until"] = time.monotonic() + BREAKER_SECONDS
            log.warning("page-view buffer unavailable (%s); using the outbox", exc)
    with transaction.atomic():
        outbox_enqueue(task=CLAIM_TASK, kwargs={"item": item})
    return len(events)


def _store_items(items: list[dict[str, Any]]) -> int:
    """Store the requests whose tokens nobody claimed yet, in one transaction."""
    with transaction.atomic():
        fresh = outbox_claim_keys(
            keys=[f"pageview:{item['token']}" for item in items], task=CLAIM_TASK
        )
        requests = [
            (item["events"], datetime.fromisoformat(item["at"]))
            for item in items
            if f"pageview:{item['token']}" in fresh
        ]
        return page_views_store(requests=requests) if requests else 0


def page_views_store_item(*, item: dict[str, Any]) -> int:
    """Store one request recorded in the outbox while Redis was down (once, by its token)."""
    return _store_items([item])


def page_views_requeue_stale(*, older_than: float = STALE_SECONDS) -> int:
    """Put the batches of drainers that died back at the head of the buffer."""
    client = buffer_client()
    again = 0
    for name in client.zrangebyscore(BATCHES_KEY, 0, time.time() - older_than):
        items = client.lrange(name, 0, -1)
        pipe = client.pipeline(transaction=True)
        if items:
            pipe.lpush(BUFFER_KEY, *reversed(items))
        pipe.delete(name)
        pipe.zrem(BATCHES_KEY, name)
        pipe.execute()
        again += len(items)
    if again:
        log.warning("page-view buffer: %s requests of dead drainers put back", again)
    return again


def page_views_drain(*, batch_size: int | None = None, max_seconds: float = 50.0) -> int:
    """Store buffered page views in batches until the buffer is empty (or `max_seconds`
    passed); returns how many requests were taken. One drainer at a time is enough, but two
    are safe: each takes its own items."""
    client = buffer_client()
    size = batch_size or settings.CLM_TRACK_BATCH
    take = client.register_script(_TAKE)
    page_views_requeue_stale()
    started = time.monotonic()
    taken = 0
    while time.monotonic() - started < max_seconds:
        name = f"{BATCH_PREFIX}{uuid.uuid4().hex}"
        raw = take(keys=[BUFFER_KEY, name, BATCHES_KEY], args=[size, time.time()])
        if not raw:
            break
        _store_items([json.loads(r) for r in raw])
        pipe = client.pipeline(transaction=True)
        pipe.delete(name)
        pipe.zrem(BATCHES_KEY, name)
        pipe.execute()
        taken += len(raw)
        if len(raw) < size:
            break
    return taken


def page_views_buffered() -> int:
    """How many track requests wait in the buffer."""
    return int(buffer_client().llen(BUFFER_KEY))
