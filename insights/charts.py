"""Charts of the insights sections, built like attribution/charts.py (plain plotly dicts)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from attribution.charts import BAD, GOOD, NEUTRAL, bar, empty, figure, label


def roi_intervals(rows: Sequence[Any]) -> dict[str, Any]:
    """ROI per paid channel with its 90% bootstrap interval as error bars; thin channels grey."""
    paid = [r for r in rows if r.roi is not None]
    if not paid:
        return empty(_("No channel with spend and won deals in the window."))
    paid = sorted(paid, key=lambda r: r.roi)
    names = [label(r.channel.name) + (" ⚠" if r.small_sample else "") for r in paid]
    colors = [NEUTRAL if r.small_sample else (GOOD if r.roi >= 0 else BAD) for r in paid]
    trace = bar(
        None,
        [round(r.roi * 100, 1) for r in paid],
        names,
        orientation="h",
        marker={"color": colors},
        error_x={
            "type": "data",
            "symmetric": False,
            "array": [round((r.roi_high - r.roi) * 100, 1) for r in paid],
            "arrayminus": [round((r.roi - r.roi_low) * 100, 1) for r in paid],
            "color": "#334155",
            "thickness": 1.5,
            "width": 4,
        },
        customdata=[
            [round(r.roi_low * 100), round(r.roi_high * 100), round(r.deals)] for r in paid
        ],
        hovertemplate="%{y}<br>"
        + _("ROI %(value)s (90%%: %(low)s to %(high)s)")
        % {"value": "%{x:.0f}%", "low": "%{customdata[0]}%", "high": "%{customdata[1]}%"}
        + "<br>"
        + _("%(deals)s won deals") % {"deals": "%{customdata[2]}"}
        + "<extra></extra>",
    )
    # One tiny channel with a huge ROI would squash the others: the axis stops at three times
    # the next largest upper end, and the clipped bars say their value at the axis end.
    highs = sorted(r.roi_high * 100 for r in paid)
    xaxis = {"ticksuffix": "%", "zeroline": True, "zerolinecolor": "#94a3b8", "showgrid": True}
    annotations = []
    if len(highs) >= 2 and highs[-1] > 3 * max(highs[-2], 100):
        limit = 3 * max(highs[-2], 100)
        low = min(min(r.roi_low * 100 for r in paid), 0)
        xaxis["range"] = [low - 0.05 * (limit - low), limit]
        annotations = [
            {"x": limit, "y": name, "xanchor": "right", "showarrow": False,
             "text": f"{r.roi * 100:,.0f}% →", "font": {"color": "#ffffff", "size": 11}}
            for r, name in zip(paid, names, strict=True)
            if r.roi * 100 > limit
        ]  # fmt: skip
    return figure(
        [trace],
        height=max(220, 34 * len(paid) + 60),
        xaxis=xaxis,
        yaxis={"showgrid": False},
        annotations=annotations,
    )


def budget_shift(channels: Sequence[dict[str, Any]], currency: str) -> dict[str, Any]:
    """Current and recommended spend of the next period per channel."""
    if not channels:
        return empty(_("No channel had spend in the last four weeks."))
    names = [label(c["name"]) for c in channels]
    money = f" {label(currency)}"
    traces = [
        bar(
            _("Current rate"), names, [c["current"] for c in channels], marker={"color": "#94a3b8"}
        ),
        bar(
            _("Recommended"),
            names,
            [c["recommended"] for c in channels],
            marker={"color": "#2563eb"},
        ),
    ]
    return figure(traces, barmode="group", height=300, yaxis={"ticksuffix": money})
