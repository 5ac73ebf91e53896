"""Signing and sending one webhook request. No ORM here: services.py records what happened.

Signature: `X-CLM-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
endpoint's secret. Receivers recompute it over the raw body and reject old timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
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


# IPv6 forms that carry an IPv4 address a router or the host may deliver to: the embedded
# address must be public too. IPv4-compatible (::a.b.c.d) is deprecated and never a real
# host; the local-use NAT64 prefix is for private networks only.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address embeds: mapped, 6to4, Teredo, NAT64."""
    found = [v4 for v4 in (ip.ipv4_mapped, ip.sixtofour) if v4 is not None]
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client)
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public_address(address: str) -> bool:
    """True for a global unicast address that embeds no private, loopback or reserved IPv4."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _IPV4_COMPATIBLE or ip in _NAT64_LOCAL:
            return False
        return all(v4.is_global and not v4.is_multicast for v4 in _embedded_ipv4(ip))
    return True


@dataclass(frozen=True, slots=True)
class Target:
    """Where a webhook goes: the URL's host (for the Host header and TLS) and the socket
    addresses it resolved to once, all of them checked."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[tuple[int, Any], ...]  # (family, sockaddr)


def resolve(url: str) -> Target:
    """Resolve `url` once; raise UnsafeUrl unless it is http(s) and, unless
    CLM_WEBHOOK_ALLOW_PRIVATE, every address its host resolves to is public."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("Only http:// and https:// URLs with a host can receive webhooks.")
    if parts.username or parts.password:
        raise UnsafeUrl("Put no credentials in the URL; verify the signature instead.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl("The URL's port is not a number from 1 to 65535.") from exc
    try:
        infos = socket.getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise UnsafeUrl(f"The host {parts.hostname!r} does not resolve.") from exc
    addresses = tuple(dict.fromkeys((info[0], info[4]) for info in infos))
    if not addresses:
        raise UnsafeUrl(f"The host {parts.hostname!r} does not resolve.")
    if not settings.CLM_WEBHOOK_ALLOW_PRIVATE and not all(
        is_public_address(str(sockaddr[0])) for _family, sockaddr in addresses
    ):
        raise UnsafeUrl(
            f"{parts.hostname} resolves to a private address; webhooks go to public hosts "
            "only (CLM_WEBHOOK_ALLOW_PRIVATE allows private ones)."
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses)


def check_url(url: str) -> None:
    """Raise UnsafeUrl unless `url` is http(s) and, unless CLM_WEBHOOK_ALLOW_PRIVATE, every
    address its host resolves to is public (no loopback, private, link-local or reserved)."""
    resolve(url)


def _open_socket(addresses: tuple[tuple[int, Any], ...], timeout: float) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers; the host name is
    never resolved again, so a DNS answer that changes after the check is not followed."""
    error: OSError = OSError("no address to connect to")
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise error


class _CheckedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to a checked address, with the URL's host in the Host header."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.addresses = target.addresses

    def connect(self) -> None:
        self.sock = _open_socket(self.addresses, self.timeout)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a checked address; SNI and certificate verification for the URL's host."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.tls = ssl.create_default_context()  # verifies the chain and the host name
        super().__init__(target.host, target.port, timeout=timeout, context=self.tls)
        self.addresses = target.addresses

    def connect(self) -> None:
        sock = _open_socket(self.addresses, self.timeout)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None
    response_ms: int
    error: str
    excerpt: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def attempt_fields(self) -> dict[str, Any]:
        """The fields of an HttpAttempt row that log this answer."""
        return {
            "status_code": self.status_code,
            "response_ms": self.response_ms,
            "error": self.error,
            "response_excerpt": self.excerpt,
        }


def post(*, url: str, body: str, headers: dict[str, str]) -> SendResult:
    """POST `body` once to a checked address of `url`; never raises for network trouble."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = resolve(url)
    except UnsafeUrl as exc:
        return SendResult(None, 0, str(exc), "")
    # http.client follows no redirects (a 3xx is an answer) and reads no proxy settings.
    connection_class = (
        _CheckedHTTPSConnection if target.scheme == "https" else _CheckedHTTPConnection
    )
    connection = connection_class(target, settings.CLM_WEBHOOK_TIMEOUT)
    try:
        connection.request("POST", target.path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        status = response.status
        excerpt = response.read(500).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return SendResult(None, elapsed(), f"{type(exc).__name__}: {exc}"[:500], "")
    finally:
        connection.close()
    error = "" if 200 <= status < 300 else f"HTTP {status}"
    return SendResult(status, elapsed(), error, excerpt)


def send(*, url: str, secret: str, event: str, delivery_id: str, body: str) -> SendResult:
    """POST the body once, signed now; never raises for network trouble."""
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-CLM-Event": event,
        "X-CLM-Delivery": delivery_id,
        "X-CLM-Signature": signature_header(secret=secret, timestamp=timestamp, body=body),
    }
    return post(url=url, body=body, headers=headers)
