"""Markup that stays within the Content-Security-Policy (no style attributes)."""

from __future__ import annotations

import re

from django import template
from django.utils.html import format_html

register = template.Library()

# A CSS colour as an admin may type it: #abc, #aabbcc(dd), a name, rgb()/hsl() notation.
COLOR_RE = re.compile(r"^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,30}|(rgb|hsl)a?\([0-9.,%\s/]{1,60}\))$")


@register.simple_tag
def swatch(color: str | None, css_class: str = "swatch", default: str = "#9ca3af") -> str:
    """A coloured square (or dot) as SVG: `fill` is a presentation attribute, not an inline
    style, so the page needs no style-src 'unsafe-inline' for per-channel colours."""
    value = str(color or "")
    if not COLOR_RE.match(value):
        value = default
    return format_html(
        '<svg class="{}" viewBox="0 0 10 10" aria-hidden="true" focusable="false">'
        '<rect width="10" height="10" fill="{}"/></svg>',
        css_class,
        value,
    )
