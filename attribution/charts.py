"""Every chart of CLM, built server-side as plotly figures and handed to the page as JSON.

Labels that come from users (campaign, channel, rep names) are HTML-escaped here, because
plotly renders a subset of HTML in text and hover labels.
"""

from __future__ import annotations

import html
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from django.utils.formats import date_format, get_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
GOOD, BAD, NEUTRAL = "#16a34a", "#dc2626", "#64748b"
MODEL_LABELS = {
    "first_touch": gettext_lazy("First touch"), "last_touch": gettext_lazy("Last touch"),
    "last_non_direct": gettext_lazy("Last non-direct"), "linear": gettext_lazy("Linear"),
    "time_decay": gettext_lazy("Time decay"), "position_based": gettext_lazy("Position-based"),
    "w_shaped": gettext_lazy("W-shaped"), "full_path": gettext_lazy("Full path"),
    "markov": gettext_lazy("Markov"), "shapley": gettext_lazy("Shapley"),
}  # fmt: skip


def label(text: Any) -> str:
    """A user-supplied label made safe for plotly's HTML-ish text rendering."""
    return html.escape(str(text), quote=True)


# Figures are plain dicts in plotly's JSON schema: building plotly.graph_objects figures
# validates every property and costs tens of milliseconds per chart, on every page view.
COLORWAY = [
    "#2563eb", "#f97316", "#16a34a", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#ca8a04",
    "#4d7c0f", "#64748b",
]  # fmt: skip
AXIS = {
    "gridcolor": "#eef1f5", "linecolor": "#cbd5e1", "zerolinecolor": "#cbd5e1",
    "automargin": True, "separatethousands": True,
}  # fmt: skip


def title(text: Any) -> dict[str, Any]:
    """An axis title (plotly's title object)."""
    return {"text": label(text), "standoff": 8}


def unit(text: Any, currency: str) -> str:
    """An axis title with its unit or currency: "Revenue (USD)"."""
    return f"{text} ({currency})" if currency else str(text)


# The kinds of a chart table's cells (clm/templatetags/clm_charts.py writes each its way).
MONEY, PERCENT, COUNT, NUMBER, HOURS, DATE, TEXT = (
    "money", "percent", "count", "number", "hours", "date", "text",
)  # fmt: skip
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def table_column(heading: Any, kind: str) -> dict[str, str]:
    """A column of a chart's table: its heading and the kind of its cells. Text in a table is
    escaped like the traces' labels (the page unescapes it once before writing it)."""
    return {"label": label(heading), "kind": kind}


def data_table(
    traces: Sequence[Mapping[str, Any]],
    *,
    category: Any,
    value: Any,
    kind: str,
    kind2: str = NUMBER,
) -> dict[str, Any]:
    """The text alternative of a chart: one row per category (bar label or week), one column
    per trace, from the very lists the traces plot. Horizontal bars list top to bottom as
    drawn; `kind2` is the kind of traces on a second y axis. Headings come escaped, like the
    traces' names."""
    columns: list[dict[str, str]] = []
    cells: dict[Any, dict[int, Any]] = {}
    order: list[Any] = []
    horizontal = False
    for trace in traces:
        horizontal = trace.get("orientation") == "h"
        keys, values = (trace["y"], trace["x"]) if horizontal else (trace["x"], trace["y"])
        columns.append({"label": trace.get("name") or value,
                        "kind": kind2 if trace.get("yaxis") == "y2" else kind})  # fmt: skip
        for key, number in zip(keys, values, strict=True):
            if key not in cells:
                cells[key] = {}
                order.append(key)
            cells[key][len(columns) - 1] = number
    if horizontal:
        order.reverse()
    dated = bool(order) and all(isinstance(k, str) and ISO_DAY.match(k) for k in order)
    head = [{"label": category, "kind": DATE if dated else TEXT}, *columns]
    rows = [[k, *(cells[k].get(i) for i in range(len(columns)))] for k in order]
    return {"columns": head, "rows": rows}


def figure(
    traces: list[dict[str, Any]],
    *,
    height: int = 330,
    x: Any = None,
    y: Any = None,
    kind: str = NUMBER,
    table: dict[str, Any] | None = None,
    **layout: Any,
) -> dict[str, Any]:
    """A figure dict with the house layout: white, light grid, legend above the plot (clear of
    the x labels), axis titles `x` and `y` (every figure with data has both), and its data as
    a table ("table": the chart's text alternative; `kind` is how its values read) unless the
    builder gives its own `table`."""
    # Category axes (x on bars) need no grid; value axes get a light one.
    xaxis = {**AXIS, "showgrid": False, **layout.pop("xaxis", {})}
    yaxis = {**AXIS, **layout.pop("yaxis", {})}
    if x is not None:
        xaxis["title"] = title(x)
    if y is not None:
        yaxis["title"] = title(y)
    kind2 = layout.pop("kind2", NUMBER)
    if table is None and traces:
        across, along = (yaxis, xaxis) if traces[0].get("orientation") == "h" else (xaxis, yaxis)
        table = data_table(
            traces,
            category=across.get("title", {}).get("text", ""),
            value=along.get("title", {}).get("text", ""),
            kind=kind,
            kind2=kind2,
        )
    return {
        "data": traces,
        "table": table or {"columns": [], "rows": []},
        "layout": {
            "height": height,
            "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
            "font": {"family": FONT, "size": 12, "color": "#1f2937"},
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
            "colorway": COLORWAY,
            "legend": LEGEND,
            "hoverlabel": {"font": {"family": FONT}},
            # Plotly's number format ("decimal" then "thousands") in the active language.
            "separators": get_format("DECIMAL_SEPARATOR") + get_format("THOUSAND_SEPARATOR"),
            "xaxis": xaxis,
            "yaxis": yaxis,
            **layout,
        },
    }


# Above the plot, left-aligned: x labels below never run into it.
LEGEND = {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"}
# Drawn in a lighter, hatched version of the same colour: spend, poor fit, the current budget.
HATCHED = {"pattern": {"shape": "/", "fillmode": "overlay", "fgcolor": "#ffffff", "solidity": 0.5}}


def bar(name: str | None, x: Sequence[Any], y: Sequence[Any], **extra: Any) -> dict[str, Any]:
    """A bar trace (x labels must already be escaped)."""
    trace: dict[str, Any] = {"type": "bar", "x": list(x), "y": list(y), **extra}
    if name is not None:
        trace["name"] = name
    return trace


def empty(message: str) -> dict[str, Any]:
    """A blank chart that says why it is blank."""
    return figure(
        [],
        height=220,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": label(message),
                "showarrow": False,
                "font": {"size": 14, "color": NEUTRAL},
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
            }
        ],
    )


def colour(name: Any, colours: Mapping[str, str]) -> str:
    """The fixed chart colour of a channel (by name), grey if it has none."""
    return colours.get(str(name)) or NEUTRAL


def row_colour(row: Any, colours: Mapping[str, str]) -> str:
    """The colour of a channel row, or of a campaign row's channel."""
    return colours.get(row.name) or colour(getattr(row, "channel", ""), colours)


def clip_bound(values: Sequence[float], floor: float = 100.0) -> float | None:
    """The axis end that keeps one outlier from flattening the rest: three times the second
    largest value (at least `floor`), if the largest is beyond it; None when none is."""
    top = sorted(values)
    if len(top) < 2 or top[-1] <= 3 * max(top[-2], floor):
        return None
    return 3 * max(top[-2], floor)


def breakdown_title(by: str) -> str:
    return _("Campaign") if by == "campaign" else _("Channel")


def roi_by_channel(
    rows: Sequence[Any],
    currency: str,
    colours: Mapping[str, str] | None = None,
    by: str = "channel",
) -> dict[str, Any]:
    """ROI per channel (or campaign) with spend, best on top, in the channel's colour.

    One outlier (a channel with a huge ROI on tiny spend) would flatten every other bar: the
    axis stops at a robust bound and the clipped bar is hatched, with its true value written
    at its end and in the hover. Rows with outcomes but no spend are listed as "no spend".
    """
    colours = colours or {}
    paid = sorted((r for r in rows if r.spend), key=lambda r: r.roi or 0)
    free = [r for r in rows if not r.spend and (r.revenue or r.leads)]
    if not paid and not free:
        return empty(_("No spend in this period: ROI needs spend."))
    money = label(currency)
    values = [round((r.roi or 0) * 100, 1) for r in paid]
    limit = clip_bound(values)
    shown = [min(v, limit) if limit is not None else v for v in values]
    no_spend = _("no spend")
    names = [label(r.name) for r in free] + [label(r.name) for r in paid]
    traces = []
    if free:
        traces.append(bar(
            None, [0] * len(free), [label(r.name) for r in free], orientation="h",
            marker={"color": [row_colour(r, colours) for r in free]},
            text=[no_spend] * len(free), textposition="outside", cliponaxis=False,
            customdata=[[float(r.revenue)] for r in free],
            hovertemplate="%{y}<br>" + no_spend + "<br>" + _("revenue")
            + " %{customdata[0]:,.0f} " + money + "<extra></extra>",
        ))  # fmt: skip
    if paid:
        traces.append(bar(
            None, shown, [label(r.name) for r in paid], orientation="h",
            marker={
                "color": [row_colour(r, colours) for r in paid],
                "line": {"color": [BAD if v < 0 else "rgba(0,0,0,0)" for v in values],
                         "width": 1.5},
                "pattern": {"shape": ["/" if limit is not None and v > limit else ""
                                      for v in values], "fgcolor": "#ffffff",
                            "fillmode": "overlay", "solidity": 0.3},
            },
            # Clipped bars say their true value at their end (hover and a label).
            text=[f"{v:,.0f}% ▸" if limit is not None and v > limit else "" for v in values],
            textposition="none",
            customdata=[[v, float(r.spend), float(r.revenue)]
                        for v, r in zip(values, paid, strict=True)],
            hovertemplate="%{y}<br>" + _("ROI") + " %{customdata[0]:,.0f}%<br>" + _("spend")
            + " %{customdata[1]:,.0f} " + money + "<br>" + _("revenue")
            + " %{customdata[2]:,.0f} " + money + "<extra></extra>",
        ))  # fmt: skip
    xaxis: dict[str, Any] = {"ticksuffix": "%", "zeroline": True, "zerolinecolor": "#94a3b8",
                             "showgrid": True}  # fmt: skip
    annotations = []
    if limit is not None:
        xaxis["range"] = [min(min(shown), 0) - 0.05 * limit, limit]
        annotations = [
            {"x": limit, "y": label(r.name), "xanchor": "right", "showarrow": False,
             "text": f"{v:,.0f}% ▸", "bgcolor": "rgba(255,255,255,0.9)",
             "font": {"color": "#1f2937", "size": 11}}
            for v, r in zip(values, paid, strict=True) if v > limit
        ]  # fmt: skip
    # The table lists what the hover says: a clipped bar's true ROI, spend and revenue.
    table = {
        "columns": [table_column(breakdown_title(by), TEXT), table_column(_("ROI (%)"), PERCENT),
                    table_column(_("Spend"), MONEY), table_column(_("Revenue"), MONEY)],
        "rows": [[label(r.name), v, float(r.spend), float(r.revenue)]
                 for v, r in reversed(list(zip(values, paid, strict=True)))]
        + [[label(r.name), None, 0.0, float(r.revenue)] for r in reversed(free)],
    }  # fmt: skip
    return figure(
        traces,
        table=table,
        annotations=annotations,
        height=max(220, 34 * len(names) + 80),
        x=_("ROI (%)"),
        y=breakdown_title(by),
        xaxis=xaxis,
        yaxis={"showgrid": False, "categoryorder": "array", "categoryarray": names},
        showlegend=False,
    )


def spend_vs_revenue(
    rows: Sequence[Any],
    currency: str,
    colours: Mapping[str, str] | None = None,
    by: str = "channel",
) -> dict[str, Any]:
    """Spend (hatched) against attributed revenue (solid) per channel, in its colour; names
    read left of horizontal bars, most revenue on top."""
    colours = colours or {}
    shown = sorted((r for r in rows if r.spend or r.revenue), key=lambda r: r.revenue)
    if not shown:
        return empty(_("No spend or revenue in this period."))
    names = [label(r.name) for r in shown]
    money = label(currency)
    colour_list = [row_colour(r, colours) for r in shown]
    traces = [
        bar(_("Spend"), [float(r.spend) for r in shown], names, orientation="h",
            marker={"color": colour_list, **HATCHED},
            hovertemplate="%{y}<br>" + _("Spend") + " %{x:,.0f} " + money + "<extra></extra>"),
        bar(_("Revenue"), [float(r.revenue) for r in shown], names, orientation="h",
            marker={"color": colour_list},
            hovertemplate="%{y}<br>" + _("Revenue") + " %{x:,.0f} " + money
            + "<extra></extra>"),
    ]  # fmt: skip
    return figure(
        traces,
        barmode="group",
        kind=MONEY,
        height=max(260, 44 * len(shown) + 90),
        x=unit(_("Amount"), currency),
        y=breakdown_title(by),
        xaxis={"showgrid": True},
        yaxis={"showgrid": False},
    )


def _partial(week: date, start: date | None, end: date | None) -> str:
    """Why a week is partial ("" when the period covers all of it)."""
    last = week + timedelta(days=6)
    if start and week < start:
        return _("partial week: from %(day)s") % {"day": date_format(start, "MONTH_DAY_FORMAT")}
    if end and last > end:
        return _("partial week: to %(day)s") % {"day": date_format(end, "MONTH_DAY_FORMAT")}
    return ""


def revenue_over_time(
    series: Mapping[str, Mapping[date, float]],
    colours: Mapping[str, str],
    *,
    currency: str = "",
    start: date | None = None,
    end: date | None = None,
    top: int = 6,
) -> dict[str, Any]:
    """Attributed revenue per week as stacked bars: the `top` channels (or campaigns) by
    revenue, the rest summed as "Other". A click on a legend entry shows that one alone.

    Weeks the period covers only in part (the first and last) are hatched and say so in the
    hover and above the bar, so a short week does not read as a drop.
    """
    if not series:
        return empty(_("No won deals in this period."))
    totals = {name: sum(points.values()) for name, points in series.items()}
    order = sorted(series, key=lambda n: (-totals[n], n))
    shown, rest = order[:top], order[top:]
    if len(rest) == 1:
        shown, rest = order, []
    groups: list[tuple[str, dict[date, float], str]] = [
        (name, dict(series[name]), colours.get(name) or COLORWAY[i % len(COLORWAY)])
        for i, name in enumerate(shown)
    ]
    if rest:
        other: dict[date, float] = defaultdict(float)
        for name in rest:
            for week, value in series[name].items():
                other[week] += value
        groups.append((_("Other (%(n)s)") % {"n": len(rest)}, dict(other), "#cbd5e1"))
    weeks = sorted({w for _n, points, _c in groups for w in points})
    notes = [_partial(w, start, end) for w in weeks]
    money = label(currency)
    traces = []
    for name, points, col in groups:
        traces.append({
            "type": "bar",
            "name": label(name),
            "x": [w.isoformat() for w in weeks],
            "y": [round(points.get(w, 0.0), 2) for w in weeks],
            "marker": {"color": col, "pattern": {"shape": ["/" if n else "" for n in notes],
                                                 "fgcolor": "#ffffff", "fillmode": "overlay",
                                                 "solidity": 0.4}},
            "customdata": [[date_format(w, "MONTH_DAY_FORMAT"), n]
                           for w, n in zip(weeks, notes, strict=True)],
            "hovertemplate": _("Week of %(day)s") % {"day": "%{customdata[0]}"}
            + " %{customdata[1]}<br>" + label(name) + ": %{y:,.0f} " + money + "<extra></extra>",
        })  # fmt: skip
    week_totals = [sum(points.get(w, 0.0) for _n, points, _c in groups) for w in weeks]
    annotations = [
        {"x": w.isoformat(), "y": t, "yanchor": "bottom", "showarrow": False,
         "text": _("partial"), "font": {"size": 10, "color": NEUTRAL}}
        for w, t, n in zip(weeks, week_totals, notes, strict=True) if n
    ]  # fmt: skip
    return figure(
        traces,
        barmode="stack",
        kind=MONEY,
        height=360,
        x=_("Week"),
        y=unit(_("Attributed revenue"), currency),
        xaxis={"type": "date", "tickformat": "%d %b"},
        legend={**LEGEND, "itemclick": "toggleothers", "itemdoubleclick": "toggle"},
        annotations=annotations,
        bargap=0.15,
    )


def funnel_by_channel(
    rows: Sequence[Mapping[str, Any]],
    colours: Mapping[str, str] | None = None,
    by: str = "channel",
) -> dict[str, Any]:
    """Leads, qualified, opportunities and won deals per channel: each channel in its colour,
    paler for the early stages."""
    colours = colours or {}
    if not rows:
        return empty(_("No leads in this period."))
    names = [label(r["channel"]) for r in rows]
    colour_list = [colours.get(r["channel"]) or colour(r.get("parent", ""), colours)
                   for r in rows]  # fmt: skip
    stages = [
        ("leads", _("Leads"), 0.3),
        ("qualified", _("Qualified"), 0.5),
        ("opportunities", _("Opportunities"), 0.75),
        ("won", _("Won"), 1.0),
    ]
    traces = [
        bar(stage, names, [round(r[key], 2) for r in rows], opacity=opacity,
            marker={"color": colour_list, "line": {"color": colour_list, "width": 1}},
            hovertemplate="%{x}<br>" + stage + ": %{y:,.1f}<extra></extra>")
        for key, stage, opacity in stages
    ]  # fmt: skip
    return figure(traces, barmode="group", x=breakdown_title(by), y=_("Leads and deals (credited)"))


MODEL_COLOURS = ("#1e3a8a", "#2563eb", "#60a5fa", "#0f766e", "#14b8a6", "#a16207", "#f59e0b",
                 "#7c2d12", "#be185d", "#64748b")  # fmt: skip


def model_comparison(
    matrix: Mapping[str, Mapping[str, float]], currency: str = "", by: str = "channel"
) -> dict[str, Any]:
    """Each channel's credited revenue under every model, side by side (colours are models)."""
    channels = sorted({c for values in matrix.values() for c in values})
    if not channels:
        return empty(_("No won deals in this period."))
    order = sorted(channels, key=lambda c: -max(v.get(c, 0) for v in matrix.values()))
    x = [label(c) for c in order]
    money = label(currency)
    traces = []
    for i, (model, values) in enumerate(matrix.items()):
        name = str(MODEL_LABELS.get(model, model))
        traces.append(bar(
            name, x, [round(values.get(c, 0.0), 2) for c in order],
            marker={"color": MODEL_COLOURS[i % len(MODEL_COLOURS)]},
            hovertemplate="%{x}<br>" + label(name) + ": %{y:,.0f} " + money + "<extra></extra>",
        ))  # fmt: skip
    return figure(
        traces,
        barmode="group",
        kind=MONEY,
        height=380,
        x=breakdown_title(by),
        y=unit(_("Revenue credited"), currency),
    )


def lead_quality(
    rows: Iterable[Mapping[str, Any]],
    key: str = "channel",
    colours: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Sales' good (solid) and poor (hatched) fit ratings per channel (or campaign), in the
    channel's colour."""
    colours = colours or {}
    rows = [r for r in rows if (r.get("good", 0) or r.get("poor", 0))]
    if not rows:
        return empty(_("No lead-quality ratings from sales yet."))
    names = [label(r.get(key) or r.get("name") or "—") for r in rows]
    colour_list = [colours.get(str(r.get(key) or "")) or colour(r.get("parent", ""), colours)
                   for r in rows]  # fmt: skip
    traces = [
        bar(_("Good fit"), names, [r.get("good", 0) for r in rows],
            marker={"color": colour_list},
            hovertemplate="%{x}<br>" + _("Good fit") + ": %{y:,.0f}<extra></extra>"),
        bar(_("Poor fit"), names, [r.get("poor", 0) for r in rows],
            marker={"color": colour_list, **HATCHED},
            hovertemplate="%{x}<br>" + _("Poor fit") + ": %{y:,.0f}<extra></extra>"),
    ]  # fmt: skip
    return figure(
        traces,
        barmode="stack",
        kind=COUNT,
        height=320,
        x=_("Campaign") if key == "campaign" else _("Channel"),
        y=_("Leads rated by sales"),
    )


def bars(
    names: Sequence[Any],
    values: Sequence[float],
    *,
    color: str | Sequence[str] = "#2563eb",
    suffix: str = "",
    decimals: int = 1,
    height: int = 300,
    x: str | None = None,
    y: str | None = None,
    kind: str = NUMBER,
) -> dict[str, Any]:
    """A simple bar chart (sales figures); `suffix` follows the values on the axis and hover;
    `x` and `y` are the axis titles; `kind` how the values read in the table."""
    if not names:
        return empty(_("Nothing to show yet."))
    trace = bar(
        None,
        [label(n) for n in names],
        list(values),
        marker={"color": color if isinstance(color, str) else list(color)},
        hovertemplate=f"%{{x}}: %{{y:,.{int(decimals)}f}}{label(suffix)}<extra></extra>",
    )
    yaxis = {"ticksuffix": label(suffix)} if suffix else {}
    return figure([trace], height=height, yaxis=yaxis, x=x, y=y, kind=kind)


def stacked(
    names: Sequence[Any],
    series: Mapping[str, Sequence[float]],
    colors: Mapping[str, str],
    *,
    suffix: str = "",
    height: int = 320,
    x: str | None = None,
    y: str | None = None,
) -> dict[str, Any]:
    """Stacked bars: one trace per series (e.g. pipeline by stage per owner)."""
    if not names:
        return empty(_("Nothing to show yet."))
    xs = [label(n) for n in names]
    traces = [
        bar(
            label(s),
            xs,
            list(v),
            marker={"color": colors.get(s)},
            hovertemplate="%{x}<br>" + label(s) + ": %{y:,.0f}" + label(suffix)
            + "<extra></extra>",
        )
        for s, v in series.items()
    ]  # fmt: skip
    yaxis = {"ticksuffix": label(suffix)} if suffix else {}
    return figure(traces, barmode="stack", height=height, yaxis=yaxis, x=x, y=y, kind=MONEY)


# --- Sales dashboard -------------------------------------------------------------------------

# Open pipeline stages from the earliest (lightest) to the latest (darkest).
STAGE_SHADES = ("#bfdbfe", "#93c5fd", "#60a5fa", "#3b82f6", "#2563eb", "#1d4ed8", "#1e3a8a")


def stage_colors(stages: Sequence[str]) -> dict[str, str]:
    """A blue per pipeline stage, spread over the shades so the last stage is darkest."""
    if not stages:
        return {}
    last = len(STAGE_SHADES) - 1
    step = last / max(len(stages) - 1, 1)
    offset = last - round(step * (len(stages) - 1))
    return {s: STAGE_SHADES[offset + round(i * step)] for i, s in enumerate(stages)}


def pipeline_by_owner(pipeline: Any, currency: str) -> dict[str, Any]:
    """Open pipeline amount per owner, stacked by stage in pipeline order."""
    if not pipeline.owners:
        return empty(_("No open deals at the end of this period."))
    return stacked(
        pipeline.owners,
        pipeline.amounts,
        stage_colors(pipeline.stages),
        suffix=f" {currency}",
        height=340,
        x=_("Owner"),
        y=unit(_("Open pipeline"), currency),
    )


def first_contact_by_rep(rows: Sequence[Any]) -> dict[str, Any]:
    """Median hours from capture to first contact per rep, fastest first."""
    timed = sorted(
        (r for r in rows if r.first_contact_hours is not None),
        key=lambda r: r.first_contact_hours,
    )
    if not timed:
        return empty(_("No lead captured in this period has been contacted yet."))
    return bars(
        [r.name for r in timed],
        [round(r.first_contact_hours, 1) for r in timed],
        color="#0891b2",
        suffix=" " + _("h"),
        height=340,
        x=_("Rep"),
        y=_("Median hours to first contact"),
        kind=HOURS,
    )


def _with_deals(rows: Sequence[Any]) -> list[Any]:
    return [r for r in rows if r.deals_won or r.deals_lost]


def win_rate_by_channel(rows: Sequence[Any], by: str = "channel") -> dict[str, Any]:
    """Won / (won + lost) per first-touch channel of the closed deals, best first."""
    closed = sorted(_with_deals(rows), key=lambda r: -(r.win_rate or 0))
    if not closed:
        return empty(_("No deals closed in this period."))
    return bars(
        [r.channel for r in closed],
        [round((r.win_rate or 0) * 100, 1) for r in closed],
        color=[r.color or NEUTRAL for r in closed],
        suffix="%",
        decimals=0,
        x=_("First-touch campaign") if by == "campaign" else _("First-touch channel"),
        y=_("Win rate (%)"),
        kind=PERCENT,
    )


def deal_size_by_channel(rows: Sequence[Any], currency: str, by: str = "channel") -> dict[str, Any]:
    """Average won deal size per first-touch channel, largest first."""
    won = sorted((r for r in rows if r.deals_won), key=lambda r: -(r.avg_deal or 0))
    if not won:
        return empty(_("No deals won in this period."))
    return bars(
        [r.channel for r in won],
        [float(r.avg_deal or 0) for r in won],
        color=[r.color or NEUTRAL for r in won],
        suffix=f" {currency}",
        decimals=0,
        x=_("First-touch campaign") if by == "campaign" else _("First-touch channel"),
        y=unit(_("Average won deal"), currency),
        kind=MONEY,
    )


def campaign_weeks(weeks: Sequence[Any], currency: str) -> dict[str, Any]:
    """A campaign per week: spend and credited won revenue (bars), leads (line, right axis)."""
    if not weeks:
        return empty(_("No spend or results for this campaign yet."))
    x = [w.start.isoformat() for w in weeks]
    money = label(currency)
    traces = [
        bar(_("Spend"), x, [float(w.results.spend) for w in weeks], marker={"color": "#94a3b8"},
            hovertemplate="%{x}<br>" + _("spend") + " %{y:,.0f} " + money + "<extra></extra>"),
        bar(_("Won revenue"), x, [float(w.results.revenue) for w in weeks],
            marker={"color": "#2563eb"},
            hovertemplate="%{x}<br>" + _("revenue") + " %{y:,.0f} " + money + "<extra></extra>"),
        {"type": "scatter", "mode": "lines+markers", "name": _("Leads"), "x": x,
         "y": [round(w.results.leads, 2) for w in weeks], "yaxis": "y2",
         "line": {"color": "#f97316"},
         "hovertemplate": "%{x}<br>" + _("leads") + " %{y:,.1f}<extra></extra>"},
    ]  # fmt: skip
    return figure(
        traces,
        barmode="group",
        kind=MONEY,
        kind2=NUMBER,
        xaxis={"title": {"text": _("Week starting")}, "type": "date"},
        yaxis={"title": {"text": _("Amount (%(currency)s)") % {"currency": money}}},
        # Leads are whole people: whole-number ticks, about five of them.
        yaxis2={**AXIS, "title": {"text": _("Leads")}, "overlaying": "y", "side": "right",
                "showgrid": False, "rangemode": "tozero", "tickformat": ",d", "tick0": 0,
                "dtick": max(1, math.ceil(max(w.results.leads for w in weeks) / 5))},
    )  # fmt: skip
