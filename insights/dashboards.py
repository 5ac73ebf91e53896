"""What the insights sections of the marketing and sales dashboards show: stored rows only,
so adding them costs the pages a few indexed reads, never a computation."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from campaigns.selectors import channel_colours
from insights import charts, selectors
from insights.models import Alert

MARKETING_ALERTS = (Alert.Kind.RANK_FLIP, Alert.Kind.CPL_DRIFT, Alert.Kind.QUALITY_DRIFT)
SALES_ALERTS = (Alert.Kind.CONTACT_SLA, Alert.Kind.QUALITY_DRIFT)


def marketing_section(*, run: Any, model: str, viewer: Any = None) -> dict[str, Any]:
    """Context of templates/insights/_marketing_insights.html for a run and model."""
    advice = selectors.budget_advice(run=run, model=model)
    intervals = selectors.channel_intervals(run=run, model=model)
    currency = settings.CLM_CURRENCY
    return {
        "insights": {
            "advice": advice,
            "intervals": intervals,
            "thin": [i for i in intervals if i.small_sample],
            "alerts": selectors.open_alerts(viewer=viewer, kinds=MARKETING_ALERTS, limit=10),
            "min_deals": settings.CLM_INSIGHTS_MIN_DEALS,
            "figures": {
                "roi_intervals": charts.roi_intervals(intervals),
                "budget": charts.budget_shift(
                    advice.channels if advice else [], currency, channel_colours()
                ),
            },
        }
    }


def sales_section(*, viewer: Any = None) -> dict[str, Any]:
    """Context of templates/insights/_sales_alerts.html (what `viewer` may see, if given)."""
    alerts = selectors.open_alerts(viewer=viewer, kinds=SALES_ALERTS, limit=25)
    return {
        "insights_alerts": {
            "sla": [a for a in alerts if a.kind == Alert.Kind.CONTACT_SLA],
            "other": [a for a in alerts if a.kind != Alert.Kind.CONTACT_SLA],
            "sla_hours": settings.CLM_CONTACT_SLA_HOURS,
            "counts": selectors.open_alert_counts(viewer=viewer),
        }
    }
