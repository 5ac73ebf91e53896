"""Charts of the insights sections, built like attribution/charts.py (plain plotly dicts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.translation import gettext as _

from attribution.charts import (
    BAD,
    COUNT,
    HATCHED,
    MONEY,
    NEUTRAL,
    PERCENT,
    TEXT,
    bar,
    clip_bound,
    empty,
    figure,
    label,
    table_column,
    unit,
)


def roi_intervals(rows: Sequence[Any]) -> dict[str, Any]:
    """ROI per paid channel with its 90% bootstrap interval as error bars, in the channel's
    colour; thin channels pale and marked ⚠, negative ROI outlined in red."""
    paid = [r for r in rows if r.roi is not None]
    if not paid:
        return empty(_("No channel with spend and won deals in the window."))
    paid = sorted(paid, key=lambda r: r.roi)
    names = [label(r.channel.name) + (" ⚠" if r.small_sample else "") for r in paid]
    colors = [getattr(r.channel, "color", "") or NEUTRAL for r in paid]
    trace = bar(
        None,
        [round(r.roi * 100, 1) for r in paid],
        names,
        orientation="h",
        marker={
            "color": colors,
            "opacity": [0.45 if r.small_sample else 1 for r in paid],
            "line": {"color": [BAD if r.roi < 0 else "rgba(0,0,0,0)" for r in paid], "width": 1.5},
        },
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
    xaxis = {"ticksuffix": "%", "zeroline": True, "zerolinecolor": "#94a3b8", "showgrid": True}
    annotations = []
    limit = clip_bound([r.roi_high * 100 for r in paid])
    if limit is not None:
        low = min(min(r.roi_low * 100 for r in paid), 0)
        xaxis["range"] = [low - 0.05 * (limit - low), limit]
        annotations = [
            {"x": limit, "y": name, "xanchor": "right", "showarrow": False,
             "text": f"{r.roi * 100:,.0f}% →", "font": {"color": "#ffffff", "size": 11}}
            for r, name in zip(paid, names, strict=True)
            if r.roi * 100 > limit
        ]  # fmt: skip
    table = {
        "columns": [table_column(_("Channel"), TEXT), table_column(_("ROI (%)"), PERCENT),
                    table_column(_("Low (90%)"), PERCENT),
                    table_column(_("High (90%)"), PERCENT),
                    table_column(_("Won deals"), COUNT)],
        "rows": [[name, round(r.roi * 100, 1),
                  round(r.roi_low * 100, 1), round(r.roi_high * 100, 1), round(r.deals)]
                 for r, name in reversed(list(zip(paid, names, strict=True)))],
    }  # fmt: skip
    return figure(
        [trace],
        table=table,
        height=max(220, 34 * len(paid) + 60),
        x=_("ROI (%)"),
        y=_("Channel"),
        xaxis=xaxis,
        yaxis={"showgrid": False},
        annotations=annotations,
    )


def budget_shift(
    channels: Sequence[dict[str, Any]], currency: str, colours: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Current (hatched) and recommended (solid) spend of the next period per channel, in the
    channel's colour."""
    if not channels:
        return empty(_("No channel had spend in the last four weeks."))
    colours = colours or {}
    names = [label(c["name"]) for c in channels]
    colour_list = [colours.get(c["name"]) or NEUTRAL for c in channels]
    money = label(currency)
    traces = [
        bar(
            _("Current rate"),
            names,
            [c["current"] for c in channels],
            marker={"color": colour_list, **HATCHED},
            hovertemplate="%{x}<br>" + _("Current rate") + ": %{y:,.0f} " + money
            + "<extra></extra>",
        ),
        bar(
            _("Recommended"),
            names,
            [c["recommended"] for c in channels],
            marker={"color": colour_list},
            hovertemplate="%{x}<br>" + _("Recommended") + ": %{y:,.0f} " + money
            + "<extra></extra>",
        ),
    ]  # fmt: skip
    return figure(
        traces,
        barmode="group",
        kind=MONEY,
        height=300,
        x=_("Channel"),
        y=unit(_("Spend in the period"), currency),
    )
