"""A tiny per-process cache with a time-to-live, for values read on every request.

Shared state (rule versions, forms) lives in the real cache or the database; this keeps a
process from asking for it more than once per `ttl` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_values: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()


def remember(key: str, ttl: float, compute: Callable[[], T]) -> T:
    """The value under `key` if younger than `ttl` seconds, else compute() stored anew."""
    now = time.monotonic()
    hit = _values.get(key)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    value = compute()
    with _lock:
        _values[key] = (now, value)
    return value


def forget(prefix: str = "") -> None:
    """Drop remembered values whose key starts with `prefix` (all by default)."""
    with _lock:
        for key in [k for k in _values if k.startswith(prefix)]:
            del _values[key]
        if not prefix:
            _versioned.clear()


# Values kept per process until their shared version changes: (version, value) by name.
_versioned: dict[str, tuple[str, Any]] = {}


def _version_key(name: str) -> str:
    return f"version:{name}"


def _shared_version(name: str) -> str | None:
    from django.core.cache import cache

    version = cache.get(_version_key(name))
    if version is None:
        # A lost or empty cache: start a version, so every process rebuilds once.
        cache.add(_version_key(name), str(time.time_ns()), None)
        version = cache.get(_version_key(name))
    return None if version is None else str(version)


def versioned(name: str, compute: Callable[[], T]) -> T:
    """compute()'s value, kept per process until `name`'s version changes (version_bump).

    The shared version is read at most once a second per process, so a change made in another
    process is seen within a second, one made in this process at once. With the cache down
    there is no version: the value is computed every time, never served stale.
    """
    version = remember(_version_key(name), 1.0, lambda: _shared_version(name))
    hit = _versioned.get(name)
    if version is not None and hit is not None and hit[0] == version:
        return hit[1]
    value = compute()
    if version is not None:
        with _lock:
            _versioned[name] = (version, value)
    return value


def version_bump(name: str) -> None:
    """Make every process compute `name` again: now, and once more when the current
    transaction commits (a process that read the old rows in between rebuilds again)."""
    from django.core.cache import cache
    from django.db import transaction

    def bump() -> None:
        cache.set(_version_key(name), str(time.time_ns()), None)
        forget(_version_key(name))
        with _lock:
            _versioned.pop(name, None)

    bump()
    transaction.on_commit(bump)


def bump_on_change(name: str, *models: str) -> None:
    """Bump `name` whenever a row of any of `models` ("app_label.Model") is saved or deleted,
    so a value kept with versioned(name, ...) is computed again (call from AppConfig.ready).
    Bulk writes send no signal: their callers call version_bump themselves."""
    from django.db.models import signals

    def changed(**_: Any) -> None:
        version_bump(name)

    for model in models:
        for signal in (signals.post_save, signals.post_delete):
            uid = f"localcache.{name}.{model}.{id(signal)}"
            signal.connect(changed, sender=model, weak=False, dispatch_uid=uid)
