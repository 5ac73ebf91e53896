"""Login throttling: repeated failed logins for one username from one address are refused.

The counter lives in the shared cache (Redis in production), keyed by a hash of the username
and the client address, so neither appears in the cache or in logs. A lock-out lasts until the
window in which the failures happened ends; a successful login clears the counter.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.translation import ngettext

log = logging.getLogger(__name__)


def _key(username: str, ip: str) -> str:
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{username.strip().lower()}:{ip}".encode())
    return f"login-fail:{digest.hexdigest()[:40]}"


def _client_ip(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    from leads.api import client_ip  # the one place that knows about trusted proxies

    return client_ip(request)


def login_failures(*, username: str, ip: str) -> tuple[int, float]:
    """How many failed logins this username + address has in the current window, and when
    (epoch seconds) the window ends."""
    try:
        entry = cache.get(_key(username, ip))
    except Exception:  # noqa: BLE001 - a cache outage must not lock everyone out
        log.warning("login throttle cache unavailable")
        return 0, 0.0
    if not entry:
        return 0, 0.0
    count, until = entry
    if until <= time.time():
        return 0, 0.0
    return int(count), float(until)


def login_failure_record(*, username: str, ip: str) -> int:
    """Count one failed login; returns the count in the current window."""
    count, until = login_failures(username=username, ip=ip)
    window = settings.CLM_LOGIN_FAILURE_WINDOW
    if not until:
        until = time.time() + window
    count += 1
    try:
        cache.set(_key(username, ip), (count, until), math.ceil(until - time.time()) + 1)
    except Exception:  # noqa: BLE001 - see login_failures
        log.warning("login throttle cache unavailable")
    return count


def login_failures_clear(*, username: str, ip: str) -> None:
    try:
        cache.delete(_key(username, ip))
    except Exception:  # noqa: BLE001 - see login_failures
        log.warning("login throttle cache unavailable")


class ThrottledLoginMixin:
    """For Django's authentication forms: refuse before checking the password once the
    username + address pair reached CLM_LOGIN_MAX_FAILURES failures in the window."""

    throttled = False

    def clean(self) -> dict[str, Any]:
        username = str(self.data.get("username", ""))[:150]  # type: ignore[attr-defined]
        ip = _client_ip(self.request)  # type: ignore[attr-defined]
        count, until = login_failures(username=username, ip=ip)
        if count >= settings.CLM_LOGIN_MAX_FAILURES:
            self.throttled = True
            minutes = max(1, math.ceil((until - time.time()) / 60))
            log.warning("login refused: too many failures for one username from one address")
            raise forms.ValidationError(
                ngettext(
                    "Too many failed logins for this username from your address. "
                    "Try again in %(minutes)d minute.",
                    "Too many failed logins for this username from your address. "
                    "Try again in %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                code="throttled",
            )
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            if username:
                login_failure_record(username=username, ip=ip)
            raise
        login_failures_clear(username=username, ip=ip)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    """The login page's form."""


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The Django admin's login form (it posts to /admin/login/, a second way in)."""


class ThrottledLoginView(LoginView):
    """The login page; a refused (throttled) attempt answers 429 with the form's message."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        if getattr(form, "throttled", False):
            response.status_code = 429
        return response
