"""Charts of the mix model page, built like attribution/charts.py (plain plotly dicts, each
with its data as a table)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _

from attribution.charts import (
    MONEY,
    NEUTRAL,
    NUMBER,
    TEXT,
    empty,
    figure,
    label,
    table_column,
    unit,
)

BASE_COLOUR = "#cbd5e1"


def contributions(
    results: Mapping[str, Any], outcome_label: str, colours: Mapping[str, str]
) -> dict[str, Any]:
    """Stacked weekly outcome: the base (baseline, trend, season, controls; from zero up) and
    each channel's modelled contribution, with the actual outcome as a line, and any part of
    the base below zero as a dotted line under the axis (the stack leaves it out)."""
    weeks = results["weeks"]
    parts = results["contributions"]
    # A stack cannot hold a negative layer honestly: the base is stacked from zero up, and
    # weeks where the model's base is below zero show that part as a line of its own.
    base = [float(v) for v in parts["base"]]
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "stackgroup": "one",
            "name": _("Base"),
            "x": weeks,
            "y": [max(v, 0.0) for v in base],
            "line": {"width": 0, "color": BASE_COLOUR},
        }
    ]
    below = [min(v, 0.0) for v in base]
    if any(v < 0 for v in below):
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": _("Base below zero (not in the stack)"),
                "x": weeks,
                "y": below,
                "line": {"color": "#64748b", "width": 1.5, "dash": "dot"},
            }
        )
    for name in results["channels"]:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "stackgroup": "one",
                "name": label(name),
                "x": weeks,
                "y": parts[name],
                "line": {"width": 0, "color": colours.get(name) or NEUTRAL},
            }
        )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": _("Actual"),
            "x": weeks,
            "y": parts["actual"],
            "line": {"color": "#111827", "width": 1.5},
        }
    )
    return figure(traces, height=380, kind=NUMBER, x=_("Week"), y=outcome_label)


def roi_comparison(rows: Sequence[Mapping[str, Any]], models: Sequence[str], value_label: str,
                   model_labels: Mapping[str, str]) -> dict[str, Any]:  # fmt: skip
    """The model's return per channel (bar, 90% interval as error bars) beside each
    attribution model's (markers)."""
    if not rows:
        return empty(_("No channel with spend in the fitted weeks."))
    names = [label(r["channel"]) for r in rows]
    traces = [
        {
            "type": "bar",
            "orientation": "h",
            "name": _("Mix model"),
            "y": names,
            "x": [r["value"] for r in rows],
            "marker": {"color": "#1e3a8a"},
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": [round(r["high"] - r["value"], 2) for r in rows],
                "arrayminus": [round(r["value"] - r["low"], 2) for r in rows],
                "color": "#334155",
                "thickness": 1.5,
                "width": 4,
            },
        }
    ]
    symbols = ("circle", "diamond", "square", "triangle-up", "x", "star", "cross", "hexagon")
    for i, model in enumerate(models):
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "orientation": "h",
                "name": label(model_labels.get(model, model)),
                "y": names,
                "x": [r["attributed"].get(model) for r in rows],
                "marker": {"symbol": symbols[i % len(symbols)], "size": 9},
            }
        )
    table = {
        "columns": [table_column(_("Channel"), TEXT), table_column(_("Mix model"), NUMBER),
                    table_column(_("Low (90%)"), NUMBER), table_column(_("High (90%)"), NUMBER),
                    *[table_column(model_labels.get(m, m), NUMBER) for m in models]],
        "rows": [[name, r["value"], r["low"], r["high"], *[r["attributed"].get(m) for m in models]]
                 for name, r in zip(names, rows, strict=True)],
    }  # fmt: skip
    return figure(
        traces,
        table=table,
        height=max(260, 40 * len(rows) + 80),
        x=value_label,
        y=_("Channel"),
        yaxis={"showgrid": False, "autorange": "reversed"},
        xaxis={"zeroline": True, "zerolinecolor": "#94a3b8", "showgrid": True},
    )


def response_curves(
    results: Mapping[str, Any], currency: str, outcome_label: str, colours: Mapping[str, str]
) -> dict[str, Any]:
    """Each channel's weekly outcome against its weekly spend (steady state, mean of the
    draws), today's spend marked with a dot and the diminishing-returns point with a cross."""
    traces = []
    rows = []
    for name in results["channels"]:
        curve, point = results["curves"][name], results["points"][name]
        colour = colours.get(name) or NEUTRAL
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": label(name),
                "legendgroup": label(name),
                "x": curve["spend"],
                "y": curve["outcome"],
                "line": {"color": colour},
            }
        )
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": label(name) + " · " + _("today"),
                "legendgroup": label(name),
                "showlegend": False,
                "x": [point["current"]],
                "y": [point["current_outcome"]],
                "marker": {"color": colour, "size": 10, "line": {"color": "#111827", "width": 1}},
            }
        )
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": label(name) + " · " + _("diminishing returns"),
                "legendgroup": label(name),
                "showlegend": False,
                "x": [point["diminishing"]],
                "y": [_at(curve, point["diminishing"])],
                "marker": {"color": colour, "size": 10, "symbol": "x"},
            }
        )
        keys = ("current", "current_outcome", "diminishing", "diminishing_low", "diminishing_high")
        rows.append([label(name), *(point[k] for k in keys)])
    table = {
        "columns": [table_column(_("Channel"), TEXT),
                    table_column(_("Weekly spend today"), MONEY),
                    table_column(_("Weekly outcome at today's spend"), NUMBER),
                    table_column(_("Diminishing returns from"), MONEY),
                    table_column(_("Low (90%)"), MONEY), table_column(_("High (90%)"), MONEY)],
        "rows": rows,
    }  # fmt: skip
    return figure(
        traces,
        table=table,
        height=380,
        x=unit(_("Weekly spend"), currency),
        y=outcome_label,
    )


def _at(curve: Mapping[str, Sequence[float]], spend: float) -> float:
    """The curve's value at `spend` (linear between grid points)."""
    xs, ys = curve["spend"], curve["outcome"]
    for i in range(1, len(xs)):
        if xs[i] >= spend:
            share = (spend - xs[i - 1]) / ((xs[i] - xs[i - 1]) or 1)
            return round(ys[i - 1] + share * (ys[i] - ys[i - 1]), 2)
    return ys[-1] if ys else 0.0
