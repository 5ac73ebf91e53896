"""Number formatting for dashboards: money, percentages, changes.

Every filter writes numbers the way the active language does (1,234.5 in English, 1.234,5 in
Indonesian); amounts use the deployment currency's symbol and minor units (clm.money).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from clm.money import format_amount, format_money, format_number

register = template.Library()


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@register.filter
def money(value: Any, decimals: int = 0) -> str:
    """1234.5 -> '$1,235' (en, USD); money:2 -> '$1,234.50'; IDR in id: 'Rp 1.235'."""
    number = _number(value)
    if number is None:
        return "—"
    return format_money(value if isinstance(value, Decimal) else number, int(decimals))


@register.filter
def amount(value: Any, decimals: int = 2) -> str:
    """An amount without its symbol, at most the currency's minor units: '1,234.50' / '1.235'."""
    number = _number(value)
    if number is None:
        return "—"
    return format_amount(value if isinstance(value, Decimal) else number, int(decimals))


@register.filter
def num(value: Any, decimals: int = 0) -> str:
    """1234.56 -> '1,235' (en) / '1.235' (id)."""
    number = _number(value)
    return "—" if number is None else format_number(number, int(decimals))


@register.filter
def pct(value: Any, decimals: int = 0) -> str:
    """0.153 -> '15%'."""
    number = _number(value)
    return "—" if number is None else f"{format_number(number * 100, int(decimals))}%"


@register.filter
def hours(value: Any) -> str:
    """A duration given in hours: 0.5 -> '30 min', 5.25 -> '5.3 h', 80 -> '3.3 d'."""
    number = _number(value)
    if number is None:
        return "—"
    if number < 1:
        return _("%(n)s min") % {"n": format_number(number * 60, 0)}
    if number < 48:
        return _("%(n)s h") % {"n": format_number(number, 1)}
    return _("%(n)s d") % {"n": format_number(number / 24, 1)}


@register.filter
def tile(value: Any, kind: str) -> str:
    """A KPI tile's value by its kind: money, count, percent, ratio, hours."""
    if kind == "money":
        return money(value)
    if kind == "hours":
        return hours(value)
    if kind == "percent":
        return pct(value)
    if kind == "ratio":
        number = _number(value)
        return "—" if number is None else f"{format_number(number, 2)}x"
    return num(value, 1 if isinstance(value, float) and value < 100 else 0)


@register.filter
def iso_day(value: Any) -> str:
    """A day stored as ISO text ("2026-03-14", or a date-time) in the language's date format."""
    text = str(value or "")
    moment = parse_datetime(text) or parse_date(text[:10])
    return date_format(moment, "DATE_FORMAT") if moment else "—"


@register.filter
def change(value: Any) -> str:
    """+12% / -3% against the previous period."""
    number = _number(value)
    if number is None:
        return _("n/a")
    return f"{'+' if number >= 0 else ''}{format_number(number * 100, 0)}%"


@register.filter
def cents(value: Any) -> Decimal:
    return Decimal(int(value or 0)) / 100


@register.filter
def trailing_url(value: Any) -> str:
    """The http(s) address a message ends with, or "": what its Copy button copies."""
    words = str(value).split()
    last = words[-1] if words else ""
    return last if last.startswith(("https://", "http://")) else ""


_ACRONYMS = {"utm": "UTM", "url": "URL", "id": "ID", "api": "API", "crm": "CRM", "roi": "ROI"}


@register.filter
def key_label(value: Any) -> str:
    """A stored key read as words: "utm_source" -> "UTM source"."""
    words = [_ACRONYMS.get(w.lower(), w) for w in str(value).replace("-", "_").split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]
