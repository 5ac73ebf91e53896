"""Number formatting for dashboards: money, percentages, changes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.conf import settings

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
    """1234.5 -> '1,235 USD' (the deployment currency)."""
    number = _number(value)
    if number is None:
        return "—"
    return f"{number:,.{int(decimals)}f} {settings.CLM_CURRENCY}"


@register.filter
def num(value: Any, decimals: int = 0) -> str:
    """1234.56 -> '1,235'."""
    number = _number(value)
    return "—" if number is None else f"{number:,.{int(decimals)}f}"


@register.filter
def pct(value: Any, decimals: int = 0) -> str:
    """0.153 -> '15%'."""
    number = _number(value)
    return "—" if number is None else f"{number * 100:,.{int(decimals)}f}%"


@register.filter
def hours(value: Any) -> str:
    """A duration given in hours: 0.5 -> '30 min', 5.25 -> '5.3 h', 80 -> '3.3 d'."""
    number = _number(value)
    if number is None:
        return "—"
    if number < 1:
        return f"{number * 60:,.0f} min"
    if number < 48:
        return f"{number:,.1f} h"
    return f"{number / 24:,.1f} d"


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
        return "—" if number is None else f"{number:,.2f}x"
    return num(value, 1 if isinstance(value, float) and value < 100 else 0)


@register.filter
def change(value: Any) -> str:
    """+12% / -3% against the previous period."""
    number = _number(value)
    if number is None:
        return "n/a"
    return f"{'+' if number >= 0 else ''}{number * 100:,.0f}%"


@register.filter
def cents(value: Any) -> Decimal:
    return Decimal(int(value or 0)) / 100
