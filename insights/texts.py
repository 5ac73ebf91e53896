"""Generated text, written at view time in the reader's language.

Alerts and score factors are stored as codes and parameters (JSON); these functions turn them
into sentences with gettext in the active language. A row whose parameters are missing (an old
row, or one an erasure redacted) falls back to the text stored with it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from attribution.charts import MODEL_LABELS
from clm.money import format_number

log = logging.getLogger(__name__)

# --- Score factors ---------------------------------------------------------------------------

# The engine's English labels (insights.engine.scoring), translated here for the pages.
CATEGORICAL_LABELS = {
    "channel": gettext_lazy("First-touch channel"),
    "campaign": gettext_lazy("First-touch campaign"),
    "form": gettext_lazy("Form"),
}
COUNT_LABELS = {
    "journey_touches": gettext_lazy("Visits and touches before capture"),
    "pages_before": gettext_lazy("Pages seen before capture"),
}
FLAG_LABELS = {
    "has_company": (gettext_lazy("Company given"), gettext_lazy("No company given")),
    "free_mail": (gettext_lazy("Free-mail address"), gettext_lazy("Corporate email domain")),
    "has_phone": (gettext_lazy("Phone given"), gettext_lazy("No phone given")),
    "consent": (gettext_lazy("Opted in to marketing"), gettext_lazy("No marketing opt-in")),
}


def _factor_value(factor: dict[str, Any]) -> Any:
    """The factor's raw value; rows scored before values were stored carry it in the English
    label only ("First-touch channel: Email", "Company given")."""
    if "value" in factor:
        return factor["value"]
    from insights.engine.scoring import CATEGORICAL, COUNTS, FLAGS

    name, label = factor.get("feature", ""), str(factor.get("label", ""))
    if name in CATEGORICAL or name in COUNTS:
        prefix = f"{(CATEGORICAL | COUNTS)[name]}: "
        if not label.startswith(prefix):
            raise ValueError(label)
        value = label[len(prefix) :]
        if name in COUNTS:
            return int(value)
        return "" if value == "(none)" else value
    if name in FLAGS:
        yes, no = FLAGS[name]
        if label not in (yes, no):
            raise ValueError(label)
        return label == yes
    raise ValueError(name)


def factor_label(factor: dict[str, Any]) -> str:
    """A score factor in the reader's language: "First-touch channel: Email", "Company given"."""
    name = factor.get("feature", "")
    try:
        value = _factor_value(factor)
        if name in CATEGORICAL_LABELS:
            return f"{CATEGORICAL_LABELS[name]}: {value or _('(none)')}"
        if name in COUNT_LABELS:
            return f"{COUNT_LABELS[name]}: {format_number(int(value))}"
        yes, no = FLAG_LABELS[name]
        return str(yes if value else no)
    except (KeyError, TypeError, ValueError):
        return str(factor.get("label", name))


# --- Alerts ----------------------------------------------------------------------------------


def _model(code: str) -> str:
    return str(MODEL_LABELS.get(code, code))


def _rank_flip(p: dict[str, Any]) -> str:
    return _(
        "%(channel)s ranks #%(best_rank)s under %(best_model)s but #%(worst_rank)s "
        "under %(worst_model)s"
    ) % {
        "channel": p["channel"],
        "best_rank": p["best_rank"],
        "best_model": _model(p["best_model"]),
        "worst_rank": p["worst_rank"],
        "worst_model": _model(p["worst_model"]),
    }


def _cpl_drift(p: dict[str, Any]) -> str:
    return _(
        "%(campaign)s: cost per lead up %(change)s (%(baseline)s → %(recent)s %(currency)s)"
    ) % {
        "campaign": p["campaign"],
        "change": f"{format_number(float(p['change']) * 100)}%",
        "baseline": format_number(float(p["baseline"]), 2),
        "recent": format_number(float(p["recent"]), 2),
        "currency": settings.CLM_CURRENCY,
    }


def _quality_drift(p: dict[str, Any]) -> str:
    return _("%(campaign)s: good-fit share down from %(baseline)s to %(recent)s") % {
        "campaign": p["campaign"],
        "baseline": f"{format_number(float(p['baseline']) * 100)}%",
        "recent": f"{format_number(float(p['recent']) * 100)}%",
    }


def _contact_sla(p: dict[str, Any], now: datetime | None = None) -> str:
    captured = parse_datetime(str(p["captured_at"]))
    if captured is None or not p.get("name"):
        raise ValueError("captured_at")
    waited = ((now or timezone.now()) - captured).total_seconds() / 3600
    return _("%(name)s has waited %(waited)s h for a first contact (SLA %(sla)s h)") % {
        "name": p["name"],
        "waited": format_number(waited),
        "sla": format_number(float(p["sla_hours"]), 1).rstrip("0").rstrip(".,"),
    }


ITEM_TEXT = {
    "rank_flip": _rank_flip,
    "cpl_drift": _cpl_drift,
    "quality_drift": _quality_drift,
    "contact_sla": _contact_sla,
}


def _items(alert: Any) -> list[dict[str, Any]]:
    data = alert.data if isinstance(alert.data, dict) else {}
    items = data.get("items")
    return items if isinstance(items, list) else [data]


def alert_items(alert: Any) -> list[str]:
    """Each underlying item of a merged alert as a sentence ([] when it is about one thing)."""
    items = _items(alert)
    if len(items) < 2 or alert.kind not in ITEM_TEXT:
        return []
    lines = []
    for item in items:
        try:
            lines.append(ITEM_TEXT[alert.kind](item))
        except (KeyError, TypeError, ValueError):
            lines.append(str(item.get("channel") or item.get("campaign") or ""))
    return lines


def alert_heading(alert: Any, *, now: datetime | None = None) -> str:
    """The alert's title in the reader's language (the stored title if it cannot be built)."""
    items = _items(alert)
    try:
        if len(items) > 1 and alert.kind == "rank_flip":
            return _("%(count)s channels rank differently between attribution models") % {
                "count": len(items)
            }
        if alert.kind == "contact_sla":
            return _contact_sla(items[0], now)
        return ITEM_TEXT[alert.kind](items[0])
    except (KeyError, TypeError, ValueError, IndexError):
        return alert.title


def alert_explanation(alert: Any) -> str:
    """The alert's detail (what to do about it) in the reader's language."""
    if not isinstance(alert.data, dict) or not alert.data:
        return alert.detail
    if alert.kind == "rank_flip" and len(_items(alert)) > 1:
        return _(
            "Their value depends on the attribution model: check the model comparison "
            "before moving budget to or from them."
        )
    if alert.kind == "rank_flip":
        return _(
            "Its value depends on the attribution model: check the model comparison "
            "before moving budget to or from it."
        )
    if alert.kind == "cpl_drift":
        return _("Last %(recent_days)s days against the %(baseline_days)s days before.") % {
            "recent_days": alert.data.get("recent_days", settings.CLM_DRIFT_RECENT_DAYS),
            "baseline_days": alert.data.get("baseline_days", settings.CLM_DRIFT_BASELINE_DAYS),
        }
    if alert.kind == "quality_drift":
        return _("Sales rated fewer of its recent leads a good fit.")
    if alert.kind == "contact_sla":
        return _("Call or email the lead, or log the contact you made.")
    return alert.detail
