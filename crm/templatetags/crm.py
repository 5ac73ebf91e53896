"""Small display helpers for the CRM pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone

register = template.Library()


def _compact(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return "<1m"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 24:
        return f"{hours}h"
    days = hours // 24
    if days < 14:
        return f"{days}d"
    if days < 60:
        return f"{days // 7}w"
    if days < 365:
        return f"{days // 30}mo"
    return f"{days // 365}y"


@register.filter
def ago(value: datetime | None) -> str:
    """A compact age: '<1m', '5m', '3h', '2d', '3w', '4mo', '1y'; '' for None."""
    if value is None:
        return ""
    return _compact(max(timezone.now() - value, timedelta(0)))


@register.filter
def ago_text(value: datetime | None) -> str:
    """An age in words for a sentence: 'just now', '5m ago', '2d ago'; '' for None."""
    if value is None:
        return ""
    delta = timezone.now() - value
    return "just now" if delta < timedelta(minutes=1) else f"{_compact(delta)} ago"


@register.filter
def span(value: timedelta | None) -> str:
    """A compact duration, as `ago` writes it."""
    if value is None:
        return ""
    return _compact(max(value, timedelta(0)))


@register.filter
def minutes(value: timedelta | None) -> str:
    """A call's duration in minutes ('12 min'); '' for None."""
    if value is None:
        return ""
    total = int(value.total_seconds() // 60)
    return f"{total} min" if total < 60 else f"{total // 60} h {total % 60:02d} min"


@register.filter
def user_label(user: Any) -> str:
    """A user's full name, or their username."""
    if user is None:
        return ""
    return user.get_full_name() or user.username


@register.filter
def stage_class(stage: str) -> str:
    """The CSS class of a lifecycle stage badge."""
    return f"stage-{stage}"


GOOD_OUTCOMES = {"connected", "meeting_booked", "replied", "held"}
BAD_OUTCOMES = {"not_interested", "wrong_number", "bounced", "no_show"}


@register.filter
def outcome_class(outcome: str) -> str:
    """The badge class of an activity outcome: good, bad or neutral ('')."""
    if outcome in GOOD_OUTCOMES:
        return "good"
    if outcome in BAD_OUTCOMES:
        return "bad"
    return ""
