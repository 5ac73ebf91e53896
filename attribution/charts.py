"""Every chart of CLM, built server-side as plotly figures and handed to the page as JSON.

Labels that come from users (campaign, channel, rep names) are HTML-escaped here, because
plotly renders a subset of HTML in text and hover labels.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import plotly.graph_objects as go

FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
GOOD, BAD, NEUTRAL = "#16a34a", "#dc2626", "#64748b"
MODEL_LABELS = {
    "first_touch": "First touch", "last_touch": "Last touch", "last_non_direct": "Last non-direct",
    "linear": "Linear", "time_decay": "Time decay", "position_based": "Position-based",
    "w_shaped": "W-shaped", "full_path": "Full path", "markov": "Markov", "shapley": "Shapley",
}  # fmt: skip


def label(text: Any) -> str:
    """A user-supplied label made safe for plotly's HTML-ish text rendering."""
    return html.escape(str(text), quote=True)


def _layout(fig: go.Figure, *, height: int = 330, money: str = "", **extra: Any) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        font={"family": FONT, "size": 12},
        legend={"orientation": "h", "y": -0.18},
        hoverlabel={"font": {"family": FONT}},
        **extra,
    )
    fig.update_yaxes(automargin=True)
    fig.update_xaxes(automargin=True)
    return fig


def to_json(fig: go.Figure) -> dict[str, Any]:
    """Plain JSON data for the page (numpy and dates converted by plotly's encoder)."""
    return json.loads(fig.to_json())


def empty(message: str) -> dict[str, Any]:
    """A blank chart that says why it is blank."""
    fig = go.Figure()
    fig.add_annotation(text=label(message), showarrow=False, font={"size": 14, "color": NEUTRAL})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return to_json(_layout(fig, height=220))


def roi_by_channel(rows: Sequence[Any], currency: str) -> dict[str, Any]:
    """ROI per channel with spend, best first; green when it pays, red when it does not."""
    paid = [r for r in rows if r.spend]
    if not paid:
        return empty("No spend in this period: ROI needs spend.")
    paid.sort(key=lambda r: r.roi or 0)
    fig = go.Figure(
        go.Bar(
            x=[round((r.roi or 0) * 100, 1) for r in paid],
            y=[label(r.name) for r in paid],
            orientation="h",
            marker_color=[GOOD if (r.roi or 0) >= 0 else BAD for r in paid],
            customdata=[[float(r.spend), float(r.revenue)] for r in paid],
            hovertemplate="%{y}<br>ROI %{x:.0f}%<br>spend %{customdata[0]:,.0f} "
            + label(currency)
            + "<br>revenue %{customdata[1]:,.0f} "
            + label(currency)
            + "<extra></extra>",
        )
    )
    fig.update_xaxes(ticksuffix="%", zeroline=True, zerolinecolor="#94a3b8")
    return to_json(_layout(fig, height=max(220, 34 * len(paid) + 60)))


def spend_vs_revenue(rows: Sequence[Any], currency: str) -> dict[str, Any]:
    """Spend against attributed revenue per channel."""
    shown = [r for r in rows if r.spend or r.revenue]
    if not shown:
        return empty("No spend or revenue in this period.")
    names = [label(r.name) for r in shown]
    spend = [float(r.spend) for r in shown]
    revenue = [float(r.revenue) for r in shown]
    fig = go.Figure(
        [
            go.Bar(name="Spend", x=names, y=spend, marker_color="#94a3b8"),
            go.Bar(name="Revenue", x=names, y=revenue, marker_color="#2563eb"),
        ]
    )
    fig.update_yaxes(tickprefix="", ticksuffix=f" {label(currency)}", separatethousands=True)
    return to_json(_layout(fig, barmode="group"))


def revenue_over_time(
    series: Mapping[str, Mapping[date, float]], colors: Mapping[str, str]
) -> dict[str, Any]:
    """Attributed revenue per week, stacked by channel."""
    if not series:
        return empty("No won deals in this period.")
    totals = {name: sum(points.values()) for name, points in series.items()}
    fig = go.Figure()
    for name in sorted(series, key=lambda n: -totals[n]):
        points = sorted(series[name].items())
        fig.add_trace(
            go.Scatter(
                name=label(name),
                x=[d.isoformat() for d, _ in points],
                y=[v for _, v in points],
                stackgroup="revenue",
                mode="lines",
                line={"width": 0.5, "color": colors.get(name, NEUTRAL)},
                hovertemplate="%{x}<br>" + label(name) + ": %{y:,.0f}<extra></extra>",
            )
        )
    return to_json(_layout(fig))


def funnel_by_channel(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Leads, qualified, opportunities and won deals per channel."""
    if not rows:
        return empty("No leads in this period.")
    names = [label(r["channel"]) for r in rows]
    stages = [
        ("leads", "Leads", "#93c5fd"),
        ("qualified", "Qualified", "#60a5fa"),
        ("opportunities", "Opportunities", "#2563eb"),
        ("won", "Won", "#1e3a8a"),
    ]
    fig = go.Figure(
        [go.Bar(name=title, x=names, y=[round(r[key], 2) for r in rows], marker_color=color)
         for key, title, color in stages]
    )  # fmt: skip
    return to_json(_layout(fig, barmode="group"))


def model_comparison(matrix: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """Each channel's credited revenue under every model, side by side."""
    channels = sorted({c for values in matrix.values() for c in values})
    if not channels:
        return empty("No won deals in this period.")
    order = sorted(channels, key=lambda c: -max(v.get(c, 0) for v in matrix.values()))
    fig = go.Figure(
        [
            go.Bar(
                name=MODEL_LABELS.get(model, model),
                x=[label(c) for c in order],
                y=[round(values.get(c, 0.0), 2) for c in order],
            )
            for model, values in matrix.items()
        ]
    )
    return to_json(_layout(fig, barmode="group", height=360))


def lead_quality(rows: Iterable[Mapping[str, Any]], key: str = "channel") -> dict[str, Any]:
    """Sales' good and poor fit ratings per channel (or campaign)."""
    rows = [r for r in rows if (r.get("good", 0) or r.get("poor", 0))]
    if not rows:
        return empty("No lead-quality ratings from sales yet.")
    names = [label(r.get(key) or r.get("name") or "—") for r in rows]
    fig = go.Figure(
        [
            go.Bar(name="Good fit", x=names, y=[r.get("good", 0) for r in rows], marker_color=GOOD),
            go.Bar(name="Poor fit", x=names, y=[r.get("poor", 0) for r in rows], marker_color=BAD),
        ]
    )  # fmt: skip
    return to_json(_layout(fig, barmode="stack", height=300))


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
        return empty("Nothing to show yet.")
    fig = go.Figure(
        go.Bar(
            x=[label(n) for n in names],
            y=list(values),
            marker_color=color if isinstance(color, str) else list(color),
            hovertemplate=f"%{{x}}: %{{y:,.{int(decimals)}f}}{label(suffix)}<extra></extra>",
        )
    )
    if suffix:
        fig.update_yaxes(ticksuffix=label(suffix), separatethousands=True)
    return to_json(_layout(fig, height=height))


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
        return empty("Nothing to show yet.")
    x = [label(n) for n in names]
    fig = go.Figure(
        [
            go.Bar(
                name=label(s),
                x=x,
                y=list(v),
                marker_color=colors.get(s),
                hovertemplate="%{x}<br>" + label(s) + ": %{y:,.0f}" + label(suffix)
                + "<extra></extra>",
            )
            for s, v in series.items()
        ]
    )  # fmt: skip
    if suffix:
        fig.update_yaxes(ticksuffix=label(suffix), separatethousands=True)
    return to_json(_layout(fig, barmode="stack", height=height))


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
        return empty("No open deals at the end of this period.")
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
        return empty("No lead captured in this period has been contacted yet.")
    return bars(
        [r.name for r in timed],
        [round(r.first_contact_hours, 1) for r in timed],
        color="#0891b2",
        suffix=" h",
        height=340,
    )


def _with_deals(rows: Sequence[Any]) -> list[Any]:
    return [r for r in rows if r.deals_won or r.deals_lost]


def win_rate_by_channel(rows: Sequence[Any]) -> dict[str, Any]:
    """Won / (won + lost) per first-touch channel of the closed deals, best first."""
    closed = sorted(_with_deals(rows), key=lambda r: -(r.win_rate or 0))
    if not closed:
        return empty("No deals closed in this period.")
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
        return empty("No deals won in this period.")
    return bars(
        [r.channel for r in won],
        [float(r.avg_deal or 0) for r in won],
        color=[r.color or NEUTRAL for r in won],
        suffix=f" {currency}",
        decimals=0,
    )
