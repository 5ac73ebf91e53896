"""Signing and sending one webhook request. No ORM here: services.py records what happened.

Signature: `X-CLM-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
endpoint's secret. Receivers recompute it over the raw body and reject old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

USER_AGENT = "CLM-Webhooks/1"


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks (scheme, or a private address when those are off)."""


def sign(*, secret: str, timestamp: int, body: str) -> str:
    """hex HMAC-SHA256(secret, "<timestamp>.<body>")."""
    message = f"{timestamp}.{body}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, timestamp: int, body: str) -> str:
    """The X-CLM-Signature value: t=<timestamp>,v1=<signature>."""
    return f"t={timestamp},v1={sign(secret=secret, timestamp=timestamp, body=body)}"


def verify(*, secret: str, header: str, body: str, tolerance: int = 300) -> bool:
    """True when `header` signs `body` with `secret` and is at most `tolerance` seconds old."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = sign(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast


def check_url(url: str) -> None:
    """Raise UnsafeUrl unless `url` is http(s) and, unless CLM_WEBHOOK_ALLOW_PRIVATE, every
    address its host resolves to is public (no loopback, private, link-local or reserved)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("Only http:// and https:// URLs with a host can receive webhooks.")
    if parts.username or parts.password:
        raise UnsafeUrl("Put no credentials in the URL; verify the signature instead.")
    if settings.CLM_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"The host {parts.hostname!r} does not resolve.") from exc
    for info in infos:
        if _is_private(str(info[4][0])):
            raise UnsafeUrl(
                f"{parts.hostname} resolves to a private address; webhooks go to public hosts "
                "only (CLM_WEBHOOK_ALLOW_PRIVATE allows private ones)."
            )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new target: a 3xx counts as a failed attempt."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxies from the environment, no redirects.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None
    response_ms: int
    error: str
    excerpt: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def send(*, url: str, secret: str, event: str, delivery_id: str, body: str) -> SendResult:
    """POST the body once, signed now; never raises for network trouble."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        check_url(url)
    except UnsafeUrl as exc:
        return SendResult(None, 0, str(exc), "")
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-CLM-Event": event,
            "X-CLM-Delivery": delivery_id,
            "X-CLM-Signature": signature_header(secret=secret, timestamp=timestamp, body=body),
        },
    )
    try:
        with _opener.open(request, timeout=settings.CLM_WEBHOOK_TIMEOUT) as response:
            excerpt = response.read(500).decode("utf-8", "replace")
            return SendResult(response.status, elapsed(), "", excerpt)
    except urllib.error.HTTPError as exc:
        excerpt = exc.read(500).decode("utf-8", "replace") if exc.fp else ""
        return SendResult(exc.code, elapsed(), f"HTTP {exc.code}", excerpt)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return SendResult(None, elapsed(), f"{type(exc).__name__}: {reason}"[:500], "")
