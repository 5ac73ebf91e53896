"""Template context for every page: the open-alert count shown next to "Alerts" in the nav."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from insights import selectors


def alert_count(request: HttpRequest) -> dict[str, Any]:
    """`nav_alert_count`: the open alerts the signed-in user may see, counted only when a
    template reads it (a callable: templates call it, pages without a nav never query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_alert_count": lambda: selectors.open_alert_count(user)}
