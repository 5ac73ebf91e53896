"""A Redis cache that fails soft and fast: a cache outage is a cache miss, not an error page.

Django's RedisCache raises on a stopped Redis and waits a socket timeout per call on a frozen
one. Here every call that fails answers like a miss (get -> default, add/set/delete -> nothing
stored, incr -> ValueError as for a missing key) and opens a breaker: for the next
BREAKER_SECONDS this process does not touch Redis at all, so a hung Redis costs one request
one timeout (CLM_REDIS_TIMEOUT), not every request. Callers that must know (locks) see add()
answer False and back off; the rate limit fails open; round-robin falls back to lead ids.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
T = TypeVar("T")
BREAKER_SECONDS = 5.0


class CacheUnavailable(ValueError):
    """incr() on a cache that is down (a ValueError, like incr() of a missing key)."""


class ReusingRedisCacheClient(RedisCacheClient):
    """Django's client builds a new redis.Redis (and its table of ~170 reply callbacks) for
    every call, about 0.15 ms each; one per connection pool serves every call and thread."""

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        clients: dict[int, Any] = self.__dict__.setdefault("_clients", {})
        client = clients.get(index)
        if client is None:
            client = clients[index] = super().get_client(key, write=write)
        return client


class ResilientRedisCache(RedisCache):
    """RedisCache that degrades to "miss" on a Redis outage, with a per-process breaker."""

    _open_until = 0.0
    _lock = threading.Lock()

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def incr_window(self, key: str, amount: int, timeout: int) -> int:
        """Add `amount` to the counter `key` (created at 0, kept `timeout` seconds after its
        last use) in one round trip; what it holds now. Raises CacheUnavailable while Redis is
        down, as incr() does."""
        name = self.make_and_validate_key(key)

        def call() -> int:
            pipe = self._cache.get_client(name, write=True).pipeline(transaction=False)
            pipe.incrby(name, amount)
            pipe.expire(name, timeout)
            return int(pipe.execute()[0])

        return self._guard(call, _cache_down)

    def _guard(self, call: Callable[[], T], fallback: Callable[[], T]) -> T:
        if time.monotonic() < ResilientRedisCache._open_until:
            return fallback()
        try:
            return call()
        except (RedisError, OSError) as exc:
            with ResilientRedisCache._lock:
                was_closed = time.monotonic() >= ResilientRedisCache._open_until
                ResilientRedisCache._open_until = time.monotonic() + BREAKER_SECONDS
            if was_closed:
                log.warning("cache unavailable (%s: %s); treated as empty for %.0f s",
                            type(exc).__name__, exc, BREAKER_SECONDS)  # fmt: skip
            return fallback()

    @classmethod
    def reset_breaker(cls) -> None:
        cls._open_until = 0.0


def _cache_down() -> Any:
    raise CacheUnavailable("cache unavailable")


def _soft(name: str, fallback: Callable[[], Any]) -> Callable[..., Any]:
    parent = getattr(RedisCache, name)

    def method(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> Any:
        return self._guard(lambda: parent(self, *args, **kwargs), fallback)

    method.__name__ = name
    method.__doc__ = parent.__doc__
    return method


# What each call answers while Redis is unreachable: what it answers for a missing key.
for _name, _fallback in {
    "get": None,  # the caller's default, below
    "set": lambda: None,
    "add": lambda: False,
    "touch": lambda: False,
    "delete": lambda: False,
    "get_many": dict,
    "has_key": lambda: False,
    "incr": _cache_down,
    "set_many": list,
    "delete_many": lambda: None,
    "clear": lambda: None,
}.items():
    if _fallback is not None:
        setattr(ResilientRedisCache, _name, _soft(_name, _fallback))


def _get(self: ResilientRedisCache, key: Any, default: Any = None, version: Any = None) -> Any:
    return self._guard(lambda: RedisCache.get(self, key, default, version), lambda: default)


ResilientRedisCache.get = _get  # type: ignore[method-assign]
