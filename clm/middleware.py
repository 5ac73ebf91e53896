"""The UI language of a signed-in user: the one of their profile, over the browser's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

# The profile language is copied into the session at login (and when the user switches), so
# applying it costs no query per request.
SESSION_KEY = "clm_language"


class UserLanguageMiddleware:
    """Activate the session's profile language; LocaleMiddleware did browser and cookie."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = _profile_language(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


def _profile_language(request: HttpRequest) -> str | None:
    user: Any = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    language = request.session.get(SESSION_KEY)
    return language if language in dict(settings.LANGUAGES) else None


def remember_profile_language(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """user_logged_in receiver: a new session starts in the user's profile language."""
    from clm.services import user_language

    language = user_language(user=user)
    if language and request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = language
