"""CLM's own address as the outside world reaches it, for links shown on pages."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def public_base_url(request: HttpRequest | None = None) -> str:
    """CLM_PUBLIC_URL when it is set; unset (development), the host this request came to, so
    every address a page suggests (embed snippet, hosted landing pages) is one base."""
    if settings.CLM_PUBLIC_URL_SET or request is None:
        return settings.CLM_PUBLIC_URL
    try:
        return request.build_absolute_uri("/").rstrip("/")
    except Exception:  # noqa: BLE001 - a Host header Django refuses: fall back to the setting
        return settings.CLM_PUBLIC_URL
