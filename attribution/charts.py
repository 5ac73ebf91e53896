"""Every chart of CLM, built server-side as plotly figures and handed to the page as JSON.

Labels that come from users (campaign, channel, rep names) are HTML-escaped here, because
plotly renders a subset of HTML in text and hover labels.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from django.utils.formats import get_format
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


def figure(traces: list[dict[str, Any]], *, height: int = 330, **layout: Any) -> dict[str, Any]:
    """A figure dict with the house layout: white, light grid, legend below."""
    # Category axes (x on bars) need no grid; value axes get a light one.
    xaxis = {**AXIS, "showgrid": False, **layout.pop("xaxis", {})}
    yaxis = {**AXIS, **layout.pop("yaxis", {})}
    return {
        "data": traces,
        "layout": {
            "height": height,
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "font": {"family": FONT, "size": 12, "color": "#1f2937"},
            "paper_bgcolor": "#ffffff",
            "plot_bgcolor": "#ffffff",
            "colorway": COLORWAY,
            "legend": {"orientation": "h", "y": -0.18},
            "hoverlabel": {"font": {"family": FONT}},
            # Plotly's number format ("decimal" then "thousands") in the active language.
            "separators": get_format("DECIMAL_SEPARATOR") + get_format("THOUSAND_SEPARATOR"),
            "xaxis": xaxis,
            "yaxis": yaxis,
            **layout,
        },
    }


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


def roi_by_channel(rows: Sequence[Any], currency: str) -> dict[str, Any]:
    """ROI per channel with spend, best first; green when it pays, red when it does not."""
    paid = [r for r in rows if r.spend]
    if not paid:
        return empty(_("No spend in this period: ROI needs spend."))
    paid.sort(key=lambda r: r.roi or 0)
    money = label(currency)
    trace = bar(
        None,
        [round((r.roi or 0) * 100, 1) for r in paid],
        [label(r.name) for r in paid],
        orientation="h",
        marker={"color": [GOOD if (r.roi or 0) >= 0 else BAD for r in paid]},
        customdata=[[float(r.spend), float(r.revenue)] for r in paid],
        hovertemplate="%{y}<br>"
        + _("ROI")
        + " %{x:.0f}%<br>"
        + _("spend")
        + " %{customdata[0]:,.0f} "
        + money
        + "<br>"
        + _("revenue")
        + " %{customdata[1]:,.0f} "
        + money
        + "<extra></extra>",
    )
    return figure(
        [trace],
        height=max(220, 34 * len(paid) + 60),
        xaxis={"ticksuffix": "%", "zeroline": True, "zerolinecolor": "#94a3b8", "showgrid": True},
        yaxis={"showgrid": False},
    )


def spend_vs_revenue(rows: Sequence[Any], currency: str) -> dict[str, Any]:
    """Spend against attributed revenue per channel."""
    shown = [r for r in rows if r.spend or r.revenue]
    if not shown:
        return empty(_("No spend or revenue in this period."))
    names = [label(r.name) for r in shown]
    traces = [
        bar(_("Spend"), names, [float(r.spend) for r in shown], marker={"color": "#94a3b8"}),
        bar(_("Revenue"), names, [float(r.revenue) for r in shown], marker={"color": "#2563eb"}),
    ]
    return figure(traces, barmode="group", yaxis={"ticksuffix": f" {label(currency)}"})


def revenue_over_time(
    series: Mapping[str, Mapping[date, float]], colors: Mapping[str, str]
) -> dict[str, Any]:
    """Attributed revenue per week, stacked by channel."""
    if not series:
        return empty(_("No won deals in this period."))
    totals = {name: sum(points.values()) for name, points in series.items()}
    traces = []
    for name in sorted(series, key=lambda n: -totals[n]):
        points = sorted(series[name].items())
        traces.append(
            {
                "type": "scatter",
                "name": label(name),
                "x": [d.isoformat() for d, _ in points],
                "y": [v for _, v in points],
                "stackgroup": "revenue",
                "mode": "lines",
                "line": {"width": 0.5, "color": colors.get(name, NEUTRAL)},
                "hovertemplate": "%{x}<br>" + label(name) + ": %{y:,.0f}<extra></extra>",
            }
        )
    return figure(traces)


def funnel_by_channel(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Leads, qualified, opportunities and won deals per channel."""
    if not rows:
        return empty(_("No leads in this period."))
    names = [label(r["channel"]) for r in rows]
    stages = [
        ("leads", _("Leads"), "#93c5fd"),
        ("qualified", _("Qualified"), "#60a5fa"),
        ("opportunities", _("Opportunities"), "#2563eb"),
        ("won", _("Won"), "#1e3a8a"),
    ]
    traces = [
        bar(title, names, [round(r[key], 2) for r in rows], marker={"color": color})
        for key, title, color in stages
    ]
    return figure(traces, barmode="group")


def model_comparison(matrix: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """Each channel's credited revenue under every model, side by side."""
    channels = sorted({c for values in matrix.values() for c in values})
    if not channels:
        return empty(_("No won deals in this period."))
    order = sorted(channels, key=lambda c: -max(v.get(c, 0) for v in matrix.values()))
    x = [label(c) for c in order]
    traces = [
        bar(str(MODEL_LABELS.get(model, model)), x, [round(values.get(c, 0.0), 2) for c in order])
        for model, values in matrix.items()
    ]
    return figure(traces, barmode="group", height=360)


def lead_quality(rows: Iterable[Mapping[str, Any]], key: str = "channel") -> dict[str, Any]:
    """Sales' good and poor fit ratings per channel (or campaign)."""
    rows = [r for r in rows if (r.get("good", 0) or r.get("poor", 0))]
    if not rows:
        return empty(_("No lead-quality ratings from sales yet."))
    names = [label(r.get(key) or r.get("name") or "—") for r in rows]
    traces = [
        bar(_("Good fit"), names, [r.get("good", 0) for r in rows], marker={"color": GOOD}),
        bar(_("Poor fit"), names, [r.get("poor", 0) for r in rows], marker={"color": BAD}),
    ]
    return figure(traces, barmode="stack", height=300)


def bars(
    names: Sequence[Any],
    values: Sequence[float],
    *,
    color: str | Sequence[str] = "#2563eb",
    suffix: str = "",
    decimals: int = 1,
    height: int = 300,
) -> dict[str, Any]:
    """A simple bar chart (sales figures); `suffix` follows the values on the axis and hover."""
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
    return figure([trace], height=height, yaxis=yaxis)


def stacked(
    names: Sequence[Any],
    series: Mapping[str, Sequence[float]],
    colors: Mapping[str, str],
    *,
    suffix: str = "",
    height: int = 320,
) -> dict[str, Any]:
    """Stacked bars: one trace per series (e.g. pipeline by stage per owner)."""
    if not names:
        return empty(_("Nothing to show yet."))
    x = [label(n) for n in names]
    traces = [
        bar(
            label(s),
            x,
            list(v),
            marker={"color": colors.get(s)},
            hovertemplate="%{x}<br>" + label(s) + ": %{y:,.0f}" + label(suffix)
            + "<extra></extra>",
        )
        for s, v in series.items()
    ]  # fmt: skip
    yaxis = {"ticksuffix": label(suffix)} if suffix else {}
    return figure(traces, barmode="stack", height=height, yaxis=yaxis)


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
    )


def _with_deals(rows: Sequence[Any]) -> list[Any]:
    return [r for r in rows if r.deals_won or r.deals_lost]


def win_rate_by_channel(rows: Sequence[Any]) -> dict[str, Any]:
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
    )


def deal_size_by_channel(rows: Sequence[Any], currency: str) -> dict[str, Any]:
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
        xaxis={"title": {"text": _("Week starting")}, "type": "date"},
        yaxis={"title": {"text": _("Amount (%(currency)s)") % {"currency": money}}},
        yaxis2={**AXIS, "title": {"text": _("Leads")}, "overlaying": "y", "side": "right",
                "showgrid": False, "rangemode": "tozero"},
    )  # fmt: skip
