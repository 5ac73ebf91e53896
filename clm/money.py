"""Amounts in the deployment currency, written the way the active language writes numbers.

The currency (settings.CLM_CURRENCY) decides the symbol and the minor units; the active
language decides the separators: "$1,234.50" in English, "Rp 1.234.567" in Indonesian.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.utils.formats import number_format


@dataclass(frozen=True)
class Currency:
    code: str
    symbol: str
    decimals: int  # minor units (ISO 4217): 2 for USD, 0 for IDR and JPY

    @property
    def prefix(self) -> str:
        # Letter symbols ("Rp", "S$") read better with a space before the number.
        return f"{self.symbol} " if self.symbol[-1].isalpha() else self.symbol


CURRENCIES = {
    c.code: c
    for c in (
        Currency("USD", "$", 2),
        Currency("IDR", "Rp", 0),
        Currency("EUR", "€", 2),
        Currency("GBP", "£", 2),
        Currency("SGD", "S$", 2),
        Currency("MYR", "RM", 2),
        Currency("AUD", "A$", 2),
        Currency("JPY", "¥", 0),
        Currency("INR", "₹", 2),
    )
}


def currency(code: str | None = None) -> Currency:
    """The deployment currency (or `code`); an unknown code is shown as itself, 2 decimals."""
    code = (code or settings.CLM_CURRENCY).upper()
    return CURRENCIES.get(code) or Currency(code, code, 2)


def format_number(value: Any, decimals: int = 0) -> str:
    """A number with the active language's decimal and thousands separators."""
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # no "-0"
    return number_format(rounded, decimal_pos=decimals, use_l10n=True, force_grouping=True)


def format_amount(value: Any, decimals: int | None = None, code: str | None = None) -> str:
    """An amount without symbol: at most the currency's minor units (IDR never shows sen)."""
    cur = currency(code)
    places = cur.decimals if decimals is None else min(int(decimals), cur.decimals)
    return format_number(value, places)


def format_money(value: Any, decimals: int | None = None, code: str | None = None) -> str:
    """1234.5 -> '$1,234.50' (en, USD, 2 places); 1234567 -> 'Rp 1.234.567' (id, IDR)."""
    cur = currency(code)
    text = format_amount(value, decimals, cur.code)
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    if cur.code not in CURRENCIES:
        return f"{sign}{digits} {cur.code}"
    return f"{sign}{cur.prefix}{digits}"
