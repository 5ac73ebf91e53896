"""Chart colours of channels: one fixed colour per channel, the same in every chart.

The default channel group gets distinct colours (Tableau's qualitative palette and its light
variants, assigned so the channels that usually appear together differ in hue); a channel
created later gets the first palette colour no channel uses yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

DEFAULT_COLOURS: Final[dict[str, str]] = {
    "Direct": "#bab0ac", "Cross-network": "#d4a6c8", "Paid Shopping": "#a0cbe8",
    "Paid Search": "#4e79a7", "Paid Social": "#e15759", "Paid Video": "#f28e2b",
    "Display": "#b07aa1", "Paid Other": "#d7b5a6", "Organic Shopping": "#ffbe7d",
    "Organic Social": "#ff9da7", "Organic Video": "#8cd17d", "Organic Search": "#499894",
    "Referral": "#3d3d3d", "Email": "#59a14f", "Affiliates": "#9c755f", "Audio": "#b6992d",
    "SMS": "#79706e", "Mobile Push Notifications": "#fabfd2", "Sales call": "#17becf",
    "Event": "#edc948", "Offline/Imported": "#393b79", "Unassigned": "#d3d3d3",
}  # fmt: skip
# New channels: first the colours the default group leaves free, then the default ones again.
EXTRA_COLOURS: Final = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                        "#e377c2", "#bcbd22", "#6b6ecf", "#637939")  # fmt: skip
PALETTE: Final[tuple[str, ...]] = (*EXTRA_COLOURS, *DEFAULT_COLOURS.values())
FALLBACK: Final = "#64748b"

colour_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Enter a colour as # and six hex digits, e.g. #4e79a7.")
)


def next_colour(name: str, used: Iterable[str]) -> str:
    """The colour for a new channel `name`: its default if it is a default channel and that
    colour is free, else the first palette colour no channel uses (cycling when all are)."""
    taken = {c.lower() for c in used if c}
    default = DEFAULT_COLOURS.get(name)
    if default and default not in taken:
        return default
    for colour in PALETTE:
        if colour not in taken:
            return colour
    return PALETTE[len(taken) % len(PALETTE)]
