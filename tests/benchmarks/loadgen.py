"""A small closed-loop HTTP load generator on loopback: N threads, keep-alive, fixed time.

Bounded by time and count, loopback only. Returns throughput and latency percentiles.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[int, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def run_load(
    url: str,
    body_for: Callable[[int], bytes],
    *,
    headers: dict[str, str],
    threads: int = 8,
    seconds: float = 5.0,
    max_requests: int = 200_000,
) -> LoadResult:
    """POST body_for(i) to url from `threads` threads for `seconds` (or max_requests)."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("load tests target loopback only")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = {"n": 0, "errors": 0}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        local_lat: list[float] = []
        local_status: dict[int, int] = {}
        errors = 0
        while time.perf_counter() < stop_at:
            with lock:
                i = counter["n"]
                if i >= max_requests:
                    break
                counter["n"] += 1
            body = body_for(i)
            started = time.perf_counter()
            try:
                conn.request("POST", parts.path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                local_status[response.status] = local_status.get(response.status, 0) + 1
                if response.status >= 400:
                    errors += 1
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                continue
            local_lat.append((time.perf_counter() - started) * 1000)
        conn.close()
        with lock:
            latencies.extend(local_lat)
            counter["errors"] += errors
            for code, n in local_status.items():
                statuses[code] = statuses.get(code, 0) + n

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(seconds + 30)
    elapsed = time.perf_counter() - started
    return LoadResult(
        requests=len(latencies),
        errors=counter["errors"],
        seconds=elapsed,
        p50_ms=statistics.median(latencies) if latencies else 0.0,
        p95_ms=_percentile(latencies, 0.95),
        p99_ms=_percentile(latencies, 0.99),
        statuses=statuses,
    )
