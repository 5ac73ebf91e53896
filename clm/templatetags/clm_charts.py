"""A chart as the page shows it: the plotly figure's div (a labelled figure: role="figure" with
a summary for screen readers; not role="img", whose children are presentational, since plotly's
mode bar holds buttons: axe's nested-interactive), its JSON, and its data as a table under
"Show as a table" (WCAG 1.1.1: every chart has a text alternative). The table comes from the
figure's own "table" (attribution/charts.py builds it from the lists the traces plot), so the
two always agree."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from clm.money import format_money, format_number
from clm.templatetags.clm_format import hours

register = template.Library()


def cell(value: Any, kind: str) -> str:
    """One table cell in the reader's language: money with the currency, percentages with %,
    days in the locale's date format."""
    if value is None or value == "":
        return "—"
    if kind == "money":
        return format_money(float(value), 0)
    if kind == "percent":
        return f"{format_number(float(value), 0)}%"
    if kind == "count":
        return format_number(float(value), 0)
    if kind == "number":
        return format_number(float(value), 1)
    if kind == "hours":
        return hours(value)
    if kind == "date":
        return date_format(date.fromisoformat(str(value)), "DATE_FORMAT")
    return str(value)


def summary(caption: str, table: dict[str, Any], fig: dict[str, Any]) -> str:
    """What the chart shows, in a sentence or two (the aria-label of its div)."""
    columns, rows = table["columns"], table["rows"]
    if not rows:
        notes = fig.get("layout", {}).get("annotations") or [{}]
        return f"{caption}: {html.unescape(notes[0].get('text') or _('no data'))}"
    text = _("%(caption)s: a chart of %(n)s rows by %(category)s.") % {
        "caption": caption,
        "n": len(rows),
        "category": columns[0]["label"].lower(),
    }
    numeric = [r for r in rows if isinstance(r[1], int | float)]
    if numeric and columns[1]["kind"] != "text":
        top = max(numeric, key=lambda r: r[1])
        text += " " + _("Highest %(column)s: %(name)s, %(value)s.") % {
            "column": columns[1]["label"],
            "name": cell(top[0], columns[0]["kind"]),
            "value": cell(top[1], columns[1]["kind"]),
        }
    return text + " " + _("The table below the chart has every value.")


@register.simple_tag
def chart(fig: dict[str, Any], element_id: str, caption: Any) -> SafeString:
    """`{% chart figures.roi "fig-roi" _("ROI by channel") %}`: the figure, its summary and its
    table."""
    # {% blocktranslate asvar %} gives an escaped SafeString: back to text, escaped once below.
    title = html.unescape(str(caption)) if isinstance(caption, SafeString) else str(caption)
    plot = {k: v for k, v in fig.items() if k != "table"}
    table = fig.get("table") or {"columns": [], "rows": []}
    kinds = [c["kind"] for c in table["columns"]]
    rows = [
        [
            {"text": cell(v, kind), "value": v if isinstance(v, int | float) else None, "raw": v}
            for v, kind in zip(row, kinds, strict=True)
        ]
        for row in table["rows"]
    ]
    return render_to_string(
        "clm/_chart.html",
        {
            "fig": plot,
            "element_id": element_id,
            "caption": title,
            "label": summary(title, table, fig),
            "columns": table["columns"],
            "rows": rows,
        },
    )
