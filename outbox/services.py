"""The transactional outbox: follow-up work recorded with the write, relayed to Celery after.

Public entry point: `outbox_enqueue(task=..., kwargs=..., key=...)` (also importable as
`clm.outbox.outbox_enqueue`). Call it inside the transaction of the change that needs the work:

    with transaction.atomic():
        deal.save()
        outbox_enqueue(task="attribution.tasks.attribution_refresh_lead",
                       kwargs={"lead_id": deal.lead_id})

The row commits or rolls back with the change. After the commit one quick attempt sends it to
the broker (short timeouts, errors logged, never raised); whatever is not sent then is sent by
the relay (`manage.py outbox_relay`, and the `outbox-relay` beat job every few seconds). A row
is marked sent only after the broker accepted it, and done when the task succeeded; one sent
but not done within CLM_OUTBOX_REDELIVER_AFTER seconds is sent again (a broker can drop a
message it accepted, e.g. Redis when a worker is killed while taking it). So delivery is at
least once: tasks must be idempotent. Two relays never send the same row (SELECT ... FOR
UPDATE SKIP LOCKED on PostgreSQL; on SQLite every write transaction is exclusive).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from clm.celery import app as celery_app
from outbox.models import DeadLetter, OutboxMessage

log = logging.getLogger(__name__)

# After a failed send the request path leaves the broker alone this long (per process), so a
# hung broker costs one request one timeout, not every request.
BREAKER_SECONDS = 5.0
_breaker = {"open_until": 0.0}
_breaker_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class RelayResult:
    """What one relay pass did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0


def _celery_app() -> Any:
    return celery_app


def _task(name: str) -> Any:
    """The registered Celery task `name` (its module imported on first use), or None."""
    app = _celery_app()
    if name not in app.tasks:
        # Outside a worker, tasks modules are imported lazily: import just this one.
        try:
            importlib.import_module(name.rpartition(".")[0])
        except ImportError:
            return None
    return app.tasks.get(name)


def outbox_enqueue(
    *, task: str, kwargs: dict[str, Any] | None = None, key: str | None = None
) -> OutboxMessage:
    """Record Celery task `task(**kwargs)` to run after the current transaction commits.

    `kwargs` must be JSON (ids, not objects). With a `key`, enqueueing the same key again
    returns the first message and adds nothing (e.g. "webhook:lead.created:42"). Raises
    ValueError for a task no installed app defines, or kwargs that are not JSON.
    """
    kwargs = dict(kwargs or {})
    if _task(task) is None:
        raise ValueError(f"unknown Celery task {task!r}")
    try:
        json.dumps(kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"kwargs of {task} must be JSON: {exc}") from None
    if key is not None:
        key = key[:200]
        existing = OutboxMessage.objects.filter(key=key).first()
        if existing is not None:
            return existing
    if key is None:
        # Nothing can collide: no savepoint (two round trips less inside a capture).
        message = OutboxMessage.objects.create(task=task, kwargs=kwargs)
    else:
        try:
            with transaction.atomic():
                message = OutboxMessage.objects.create(task=task, kwargs=kwargs, key=key)
        except IntegrityError:
            # The same key was enqueued concurrently and committed first.
            existing = OutboxMessage.objects.filter(key=key).first()
            if existing is None:
                raise
            return existing
    _relay_after_commit(message.pk)
    return message


def outbox_claim_keys(*, keys: list[str], task: str) -> set[str]:
    """Record these keys as done work of `task`; the keys that were not recorded before.

    One statement, inside the caller's transaction: work that may arrive twice by two paths
    (a page view buffered in Redis and also stored by the outbox fallback) claims its key with
    the write, so only the first write of it commits and the other finds the key taken.
    """
    if not keys:
        return set()
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(keys))
    params: list[Any] = []
    for key in keys:
        params += [uuid.uuid4().hex, task, "{}", key[:200], OutboxMessage.Status.DONE, 0, now, "",
                   now, now]  # fmt: skip
    # The model's table name; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (uuid, task, kwargs, key, status, attempts, "  # noqa: S608  # nosec B608
        f"next_attempt_at, last_error, created_at, done_at) VALUES {rows} "
        "ON CONFLICT (key) DO NOTHING RETURNING key"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


_batch = threading.local()


@contextlib.contextmanager
def outbox_batched() -> Iterator[None]:
    """Within it (inside a transaction), the messages enqueued are sent after the commit in
    one quick relay pass (one transaction), not one pass each: a capture's follow-up, score
    and webhooks."""
    ids: list[int] = []
    outer = getattr(_batch, "ids", None)
    _batch.ids = ids
    try:
        yield
    finally:
        _batch.ids = outer
    if ids:
        if outer is not None:
            outer.extend(ids)
        else:
            transaction.on_commit(lambda: outbox_relay_now(ids=ids))


def _relay_after_commit(pk: int) -> None:
    """One quick send after the commit: with the batch of `outbox_batched`, else alone."""
    ids = getattr(_batch, "ids", None)
    if ids is not None:
        ids.append(pk)
        return
    transaction.on_commit(lambda: outbox_relay_now(ids=[pk]))


def outbox_relay_now(*, ids: list[int]) -> None:
    """One quick attempt to send these messages, right after their commit. Never raises:
    anything not sent stays pending for the relay. Skipped where a relay process runs
    (CLM_OUTBOX_RELAY_AFTER_COMMIT off): the request then spends no broker call and no
    second transaction on it."""
    if not settings.CLM_OUTBOX_RELAY_AFTER_COMMIT:
        return
    if time.monotonic() < _breaker["open_until"]:
        return
    try:
        outbox_relay(ids=ids, quick=True)
    except Exception:
        log.warning("outbox: immediate relay of %s failed; left for the relay", ids, exc_info=True)


def _backoff(attempts: int) -> timedelta:
    """Wait before the next try: 2, 4, 8 ... seconds, at most 10 minutes."""
    return timedelta(seconds=min(2**attempts, 600))


def _publish(message: OutboxMessage, *, quick: bool) -> bool:
    """Hand the message's task to the broker; True when it already ran and succeeded (eager)."""
    app = _celery_app()
    options: dict[str, Any] = {"task_id": str(message.uuid), "ignore_result": True}
    if quick:
        options["retry"] = False  # one try inside a request: the relay retries later
    task = _task(message.task)
    if task is None:
        app.send_task(message.task, kwargs=message.kwargs, **options)
        return False
    if app.conf.task_always_eager:
        # Eager (no broker): the task runs here; its writes roll back alone if it fails.
        with transaction.atomic():
            result = task.apply_async(kwargs=message.kwargs, **options)
        successful = getattr(result, "successful", None)
        return bool(successful and successful())
    task.apply_async(kwargs=message.kwargs, **options)
    return False


def _due(ids: list[int] | None, limit: int) -> list[OutboxMessage]:
    rows = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    else:
        rows = rows.filter(next_attempt_at__lte=timezone.now())
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True)
    # SQLite has no row locks; its write transactions (BEGIN IMMEDIATE here) are exclusive.
    return list(rows.order_by("next_attempt_at", "id")[:limit])


def outbox_relay(
    *, ids: list[int] | None = None, limit: int = 200, quick: bool = False
) -> RelayResult:
    """Send due pending messages (or just `ids`) to the broker; mark each sent once accepted.

    Stops at the first broker error (the broker is down: trying every row would only spend a
    timeout each); that row's attempt is counted and retried later with backoff, and after
    CLM_OUTBOX_MAX_ATTEMPTS attempts it becomes a dead letter.
    """
    eager = bool(_celery_app().conf.task_always_eager)
    sent_ids: list[int] = []
    done_ids: list[int] = []
    failed = dead = 0
    with transaction.atomic():
        for message in _due(ids, limit):
            try:
                ran = _publish(message, quick=quick)
            except Exception as exc:  # noqa: BLE001 - any broker or task error is recorded
                failed += 1
                dead += _record_failure(message, exc)
                if not eager:
                    with _breaker_lock:
                        _breaker["open_until"] = time.monotonic() + BREAKER_SECONDS
                    break
                continue
            (done_ids if ran else sent_ids).append(message.pk)
        now = timezone.now()
        if sent_ids:
            OutboxMessage.objects.filter(pk__in=sent_ids).update(
                status=OutboxMessage.Status.SENT, sent_at=now, last_error=""
            )
        if done_ids:  # eager: the task ran and succeeded inside _publish already
            OutboxMessage.objects.filter(pk__in=done_ids).update(
                status=OutboxMessage.Status.DONE, sent_at=now, done_at=now, last_error=""
            )
    sent_ids += done_ids
    if sent_ids and not failed:
        _breaker["open_until"] = 0.0
    return RelayResult(sent=len(sent_ids), failed=failed, dead=dead)


def outbox_mark_done(sender: Any = None, result: Any = None, **_: Any) -> None:
    """Celery's task_success signal: the message this task came from is done."""
    task_id = getattr(getattr(sender, "request", None), "id", None)
    if not task_id:
        return
    try:
        OutboxMessage.objects.filter(uuid=task_id, status=OutboxMessage.Status.SENT).update(
            status=OutboxMessage.Status.DONE, done_at=timezone.now()
        )
    except (ValueError, ValidationError):
        return  # a task id that is no outbox uuid: a task not sent through the outbox
    except Exception:
        log.exception("outbox: could not mark task %s done", task_id)


def outbox_redeliver(*, older_than_seconds: float | None = None, limit: int = 500) -> int:
    """Send again the messages sent longer ago than the limit whose task never succeeded.

    Each counts as an attempt; past CLM_OUTBOX_MAX_ATTEMPTS it becomes a dead letter.
    Returns how many were put back to pending.
    """
    seconds = (
        settings.CLM_OUTBOX_REDELIVER_AFTER if older_than_seconds is None else older_than_seconds
    )
    cutoff = timezone.now() - timedelta(seconds=seconds)
    again = 0
    with transaction.atomic():
        rows = OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT, sent_at__lt=cutoff)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        for message in rows.order_by("sent_at", "id")[:limit]:
            lost = RuntimeError(f"not done {int(seconds)} s after it was sent; sent again")
            if not _record_failure(message, lost, next_attempt_now=True):
                again += 1
    if again:
        log.warning("outbox: %s sent messages never completed; sent again", again)
    return again


def _record_failure(
    message: OutboxMessage, exc: BaseException, *, next_attempt_now: bool = False
) -> int:
    """Count a failed attempt; returns 1 if it turned the message into a dead letter."""
    message.attempts += 1
    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    message.next_attempt_at = timezone.now() + (
        timedelta(0) if next_attempt_now else _backoff(message.attempts)
    )
    message.status = OutboxMessage.Status.PENDING
    is_dead = message.attempts >= settings.CLM_OUTBOX_MAX_ATTEMPTS
    if is_dead:
        message.status = OutboxMessage.Status.DEAD
        DeadLetter.objects.create(
            source=DeadLetter.Source.OUTBOX,
            task=message.task,
            kwargs=message.kwargs,
            task_id=str(message.uuid),
            error=message.last_error,
        )
        log.error("outbox: %s dead after %s attempts", message, message.attempts)
    message.save(update_fields=["attempts", "last_error", "next_attempt_at", "status"])
    return int(is_dead)


def outbox_prune(*, keep_days: int | None = None) -> int:
    """Delete sent messages older than `keep_days` (CLM_OUTBOX_KEEP_DAYS); returns how many.

    A pruned message's key may be enqueued again.
    """
    days = settings.CLM_OUTBOX_KEEP_DAYS if keep_days is None else keep_days
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = OutboxMessage.objects.filter(
        status=OutboxMessage.Status.DONE, done_at__lt=cutoff
    ).delete()
    return deleted


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def dead_letter_from_task_failure(
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    args: Any = None,
    kwargs: Any = None,
    einfo: Any = None,
    **_: Any,
) -> None:
    """Celery's task_failure signal: keep a task that failed for good as a dead letter."""
    request = getattr(sender, "request", None)
    if request is not None and getattr(request, "is_eager", False):
        return  # in-process runs raise to their caller (the relay counts and retries them)
    # Its outbox message (if it came through one) is settled: no redelivery of a failure.
    with contextlib.suppress(ValueError, ValidationError):  # a task id that is no outbox uuid
        OutboxMessage.objects.filter(uuid=task_id, status=OutboxMessage.Status.SENT).update(
            status=OutboxMessage.Status.DEAD, last_error="the task failed"
        )
    try:
        DeadLetter.objects.create(
            source=DeadLetter.Source.TASK,
            task=getattr(sender, "name", str(sender))[:200],
            args=_json_safe(list(args or [])),
            kwargs=_json_safe(dict(kwargs or {})),
            task_id=(task_id or "")[:64],
            error=f"{type(exception).__name__}: {exception}"[:2000] if exception else "",
            traceback=str(einfo or "")[:20000],
        )
    except Exception:
        log.exception("could not record the dead letter of task %s %s", sender, task_id)


def dead_letter_replay(*, dead_letters: Iterable[DeadLetter], by: str = "") -> int:
    """Queue each not yet replayed dead letter's task again (through the outbox)."""
    replayed = 0
    with transaction.atomic():
        for letter in dead_letters:
            if letter.replayed_at is not None:
                continue
            if letter.args:
                log.warning("dead letter %s has positional args; replayed with kwargs only", letter)
            message = outbox_enqueue(task=letter.task, kwargs=letter.kwargs)
            letter.replay, letter.replayed_at, letter.replayed_by = message, timezone.now(), by
            letter.save(update_fields=["replay", "replayed_at", "replayed_by"])
            replayed += 1
    return replayed
