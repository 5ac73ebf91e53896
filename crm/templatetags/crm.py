"""Small display helpers for the CRM pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

register = template.Library()


def _compact(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return _("<1m")
    minutes = seconds // 60
    if minutes < 60:
        return _("%(n)dm") % {"n": minutes}
    hours = minutes // 60
    if hours < 24:
        return _("%(n)dh") % {"n": hours}
    days = hours // 24
    if days < 14:
        return _("%(n)dd") % {"n": days}
    if days < 60:
        return _("%(n)dw") % {"n": days // 7}
    if days < 365:
        return _("%(n)dmo") % {"n": days // 30}
    return _("%(n)dy") % {"n": days // 365}


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
    if delta < timedelta(minutes=1):
        return _("just now")
    return _("%(age)s ago") % {"age": _compact(delta)}


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
    if total < 60:
        return _("%(n)d min") % {"n": total}
    return _("%(h)d h %(m)02d min") % {"h": total // 60, "m": total % 60}


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


@register.filter
def contact_name(lead: Any, visible_ids: Any) -> str:
    """A contact's name when the viewer may see the lead; a neutral label otherwise (an
    account page must not name another rep's lead to a rep)."""
    if lead.pk in visible_ids:
        return lead.display_name
    return _("A contact of another rep")
