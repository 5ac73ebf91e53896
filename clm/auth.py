"""Login throttling: repeated failed logins are refused, per username + address and per address.

Two counters live in the shared cache (Redis in production): failures of one username from one
address (CLM_LOGIN_MAX_FAILURES) and failures of any username from one address
(CLM_LOGIN_MAX_FAILURES_PER_ADDRESS, higher, so one mistyped password does not lock an office
out but trying many usernames from one place does). Keys are hashes of the username and the
client address, so neither appears in the cache or in logs. The username is normalised first
(NFKC, as Django's UsernameField does before authenticating, then case-folded), so a
full-width letter or another case counts as the same username. A lock-out lasts until the
window in which the failures happened ends; a successful login clears that username's
counter, not the address's.

django-axes was considered: it has one failure limit for every lockout parameter, so an
address-only lock would trip at the per-user limit.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
import unicodedata
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.translation import ngettext

from clm.client import client_ip

log = logging.getLogger(__name__)


def username_for_counting(username: str) -> str:
    """The form of a typed username that failures are counted under: NFKC, case-folded, NFKC
    again (Unicode's NFKC_Casefold), trimmed; every variant of one account maps to one string."""
    folded = unicodedata.normalize("NFKC", username.strip()).casefold()
    return unicodedata.normalize("NFKC", folded).strip()


def _digest(*parts: str) -> str:
    text = ":".join((settings.SECRET_KEY, *parts))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _user_key(username: str, ip: str) -> str:
    return f"login-fail:{_digest(username_for_counting(username), ip)}"


def _address_key(ip: str) -> str:
    return f"login-fail-ip:{_digest('address', ip)}"


def _client_ip(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return client_ip(request)


def _failures(key: str) -> tuple[int, float]:
    try:
        found = cache.get_many([key, f"{key}:until"])
    except Exception:  # noqa: BLE001 - a cache outage must not lock everyone out
        log.warning("login throttle cache unavailable")
        return 0, 0.0
    count, until = found.get(key) or 0, found.get(f"{key}:until") or 0.0
    if not count or until <= time.time():
        return 0, 0.0
    return int(count), float(until)


def _failure_record(key: str) -> int:
    now = time.time()
    _count, until = _failures(key)
    try:
        if not until:  # a new window: start both entries afresh
            until = now + settings.CLM_LOGIN_FAILURE_WINDOW
            ttl = math.ceil(until - now) + 1
            cache.set_many({key: 0, f"{key}:until": until}, ttl)
        ttl = math.ceil(until - now) + 1
        cache.add(key, 0, ttl)
        return int(cache.incr(key))  # atomic: parallel attempts all count
    except Exception:  # noqa: BLE001 - see _failures
        log.warning("login throttle cache unavailable")
        return 0


def login_failures(*, username: str, ip: str) -> tuple[int, float]:
    """How many failed logins this username + address has in the current window, and when
    (epoch seconds) the window ends."""
    return _failures(_user_key(username, ip))


def login_failures_from_address(*, ip: str) -> tuple[int, float]:
    """How many failed logins (any username) this address has in the current window, and when
    the window ends."""
    return _failures(_address_key(ip))


def login_failure_record(*, username: str, ip: str) -> int:
    """Count one failed login for the username + address and for the address; returns the
    username + address count in the current window."""
    _failure_record(_address_key(ip))
    return _failure_record(_user_key(username, ip))


def login_failures_clear(*, username: str, ip: str) -> None:
    """Forget a username's failures from this address (the address's own count stays)."""
    key = _user_key(username, ip)
    try:
        cache.delete_many([key, f"{key}:until"])
    except Exception:  # noqa: BLE001 - see _failures
        log.warning("login throttle cache unavailable")


def _minutes_left(until: float) -> int:
    return max(1, math.ceil((until - time.time()) / 60))


class ThrottledLoginMixin:
    """For Django's authentication forms: refuse before checking the password once the
    username + address pair reached CLM_LOGIN_MAX_FAILURES failures in the window, or the
    address reached CLM_LOGIN_MAX_FAILURES_PER_ADDRESS."""

    throttled = False

    def clean(self) -> dict[str, Any]:
        username = str(self.data.get("username", ""))[:150]  # type: ignore[attr-defined]
        ip = _client_ip(self.request)  # type: ignore[attr-defined]
        count, until = login_failures(username=username, ip=ip)
        if count >= settings.CLM_LOGIN_MAX_FAILURES:
            self.throttled = True
            minutes = _minutes_left(until)
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
        count, until = login_failures_from_address(ip=ip)
        if count >= settings.CLM_LOGIN_MAX_FAILURES_PER_ADDRESS:
            self.throttled = True
            minutes = _minutes_left(until)
            log.warning("login refused: too many failures from one address")
            raise forms.ValidationError(
                ngettext(
                    "Too many failed logins from your address. Try again in %(minutes)d minute.",
                    "Too many failed logins from your address. Try again in %(minutes)d minutes.",
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
