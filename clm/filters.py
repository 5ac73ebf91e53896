"""Dashboard filters shared by the marketing and sales pages: kept in the URL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PRESETS = {
    "30d": (_("Last 30 days"), 30),
    "90d": (_("Last 90 days"), 90),
    "180d": (_("Last 6 months"), 182),
    "365d": (_("Last 12 months"), 365),
}
DEFAULT_PRESET = "90d"
# Attribution scopes (attribution.models.AttributionRun.Scope), in the order of the switch.
SCOPES = ("contact", "account")


@dataclass
class Filters:
    """What a dashboard shows: a date range (a preset or custom), a model, a channel, a campaign."""

    start: date
    end: date
    preset: str = DEFAULT_PRESET
    model: str = "linear"
    channel_id: int | None = None
    campaign_id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)
    # Whose touches credit a deal: each contact's own ("contact") or its buyers' ("account").
    scope: str = "contact"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> tuple[date, date]:
        """The period of the same length just before this one."""
        return self.start - timedelta(days=self.days), self.start - timedelta(days=1)

    def query(self, **override: Any) -> str:
        """The URL query string of these filters, with some values replaced."""
        values: dict[str, Any] = {"model": self.model}
        if self.preset == "custom":
            values.update(start=self.start.isoformat(), end=self.end.isoformat())
        else:
            values["range"] = self.preset
        if self.channel_id:
            values["channel"] = self.channel_id
        if self.campaign_id:
            values["campaign"] = self.campaign_id
        if self.scope != "contact":
            values["scope"] = self.scope
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def _int(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 0 < value < 2**63 else None


def parse_filters(query: QueryDict, *, models: tuple[str, ...] = ()) -> Filters:
    """Filters from a query string; bad values fall back to defaults and are reported."""
    today = timezone.localdate()
    errors: dict[str, str] = {}
    preset = query.get("range", DEFAULT_PRESET)
    start = end = None
    if query.get("start") or query.get("end"):
        try:
            start = date.fromisoformat(query.get("start", ""))
            end = date.fromisoformat(query.get("end", "")) if query.get("end") else today
        except ValueError:
            errors["range"] = _("Dates must be YYYY-MM-DD; showing the default range.")
            start = end = None
        else:
            if start > end:
                errors["range"] = _("The start is after the end; showing the default range.")
                start = end = None
            elif (end - start).days > 3660:
                errors["range"] = _("At most 10 years at once; showing the default range.")
                start = end = None
            else:
                preset = "custom"
    if start is None or end is None:
        if preset not in PRESETS:
            if preset != DEFAULT_PRESET and "range" not in errors:
                errors["range"] = _("Unknown range; showing the default range.")
            preset = DEFAULT_PRESET
        end = today
        start = today - timedelta(days=PRESETS[preset][1] - 1)
    model = query.get("model", "linear")
    if models and model not in models:
        errors["model"] = _("Unknown model; showing linear.")
        model = "linear"
    scope = query.get("scope") or "contact"
    if scope not in SCOPES:
        errors["scope"] = _("Unknown scope; showing contacts.")
        scope = "contact"
    return Filters(
        scope=scope,
        start=start,
        end=end,
        preset=preset,
        model=model,
        channel_id=_int(query.get("channel")),
        campaign_id=_int(query.get("campaign")),
        errors=errors,
    )


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start, end] as aware datetimes (start 00:00 up to the day after end), so range filters
    on timestamps can use their indexes (a `__date` filter casts every row first)."""
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
    )


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def days_and_months(start: date | None, end: date | None) -> Q:
    """Rows covering [start, end] once, in a table of day rows and month rows (`monthly`; a
    month row's `day` is the 1st and holds the sum of that month's day rows): month rows for
    the whole months inside, day rows for the days of the partial months at either edge.
    None: open-ended."""
    first = date.min if start is None else start
    last = date.max if end is None else end
    whole_from = first if first.day == 1 else month_end(first) + timedelta(days=1)
    whole_to = (
        last
        if last == date.max or last == month_end(last)
        else month_start(last) - timedelta(days=1)
    )
    if whole_from > whole_to:
        return Q(monthly=False, day__gte=first, day__lte=last)
    return (
        Q(monthly=True, day__gte=whole_from, day__lte=month_start(whole_to))
        | Q(monthly=False, day__gte=first, day__lt=whole_from)
        | Q(monthly=False, day__gt=whole_to, day__lte=last)
    )
