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
