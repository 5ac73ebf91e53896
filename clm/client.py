"""Who is calling: the client address, for throttles on the login pages and the public API."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client address; X-Forwarded-For is trusted only behind CLM_TRUSTED_PROXIES proxies."""
    proxies = settings.CLM_TRUSTED_PROXIES
    if proxies:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= proxies:
            return forwarded[-proxies][:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]
