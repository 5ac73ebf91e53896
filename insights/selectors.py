"""Reads of the insights app: feature and outcome frames for scoring, weekly spend and
attributed revenue for budget advice, credits for intervals, and what the pages show."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from django.contrib.auth import get_user_model
from django.db.models import Count, F, IntegerField, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncWeek
from django.utils import timezone

from attribution.models import AttributionSummary, CreditLedger
from campaigns.models import Spend
from clm import roles
from clm.domains import is_free_mail
from clm.filters import days_and_months
from clm.localcache import versioned
from crm.models import Deal, LeadFeedback
from crm.permissions import lead_scope
from crm.selectors import OPEN_STAGES, leads_visible_to
from insights.models import Alert, BudgetAdvice, ChannelInterval, ScoringModel
from leads.models import Lead, Touchpoint

FEATURE_FRAME_COLUMNS = [
    "lead_id",
    "created_at",
    "channel",
    "campaign",
    "form",
    "journey_touches",
    "pages_before",
    "has_company",
    "free_mail",
    "has_phone",
    "consent",
]


def email_is_free_mail(email: str) -> bool:
    """True when the address is at a free-mail provider."""
    return is_free_mail(email)


def lead_features(
    *, lead_ids: Iterable[int] | None = None, open_only: bool = False
) -> pd.DataFrame:
    """What was known about each lead when it was captured, one row per lead.

    Journey touches are the visits and touches that count in attribution (page views within a
    visit excluded); pages are all page views; both up to the capture time.
    """

    leads = Lead.objects.all()
    if lead_ids is not None:
        leads = leads.filter(pk__in=list(lead_ids))
    if open_only:
        leads = leads.filter(stage__in=OPEN_STAGES)
    rows = leads.values_list(
        "id",
        "created_at",
        "first_channel__name",  # the first touch's, copied to the lead: no touchpoint join
        "first_campaign__name",
        "form__name",
        "company",
        "email",
        "phone",
        "consent_given",
    )
    frame = pd.DataFrame.from_records(
        list(rows.iterator(chunk_size=20_000)),
        columns=[
            "lead_id",
            "created_at",
            "channel",
            "campaign",
            "form",
            "company",
            "email",
            "phone",
            "consent",
        ],
    )
    # Late-stitched touches (an anonymous post's backdated views on a known lead) count
    # nowhere in attribution, nor here.
    touches = Touchpoint.objects.filter(
        lead__in=leads, occurred_at__lte=F("lead__created_at"), late_stitched=False
    )
    counts = pd.DataFrame.from_records(
        list(
            touches.values("lead_id")
            .annotate(
                journey=Count("id", filter=~Q(kind="page_view", self_referral=True)),
                pages=Count("id", filter=Q(kind="page_view")),
            )
            .values_list("lead_id", "journey", "pages")
        ),
        columns=["lead_id", "journey_touches", "pages_before"],
    ).set_index("lead_id")
    frame = frame.join(counts, on="lead_id")
    frame[["journey_touches", "pages_before"]] = (
        frame[["journey_touches", "pages_before"]].fillna(0).astype(int)
    )
    for name in ("channel", "campaign", "form"):
        frame[name] = frame[name].fillna("")
    frame["has_company"] = frame["company"].fillna("").str.strip() != ""
    frame["has_phone"] = frame["phone"].fillna("").str.strip() != ""
    frame["free_mail"] = frame["email"].map(email_is_free_mail).astype(bool)
    frame["consent"] = frame["consent"].astype(bool)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame[FEATURE_FRAME_COLUMNS]


def lead_outcomes() -> pd.Series:
    """Label per lead with a known outcome: 1 good, 0 bad; leads without one are left out.

    In order of strength: a won deal (or customer stage) is good; else a lost deal is bad; else
    disqualification is bad; else sales' current quality rating decides.
    """

    labels: dict[int, int] = {}
    for lead_id, rating in LeadFeedback.objects.filter(is_current=True).values_list(
        "lead_id", "rating"
    ):
        labels[lead_id] = 1 if rating == LeadFeedback.Rating.GOOD else 0
    for (lead_id,) in Lead.objects.filter(stage=Lead.Stage.DISQUALIFIED).values_list("id"):
        labels[lead_id] = 0
    closed = Deal.objects.filter(Q(stage__is_won=True) | Q(stage__is_lost=True))
    won: set[int] = set()
    for lead_id, is_won in closed.values_list("lead_id", "stage__is_won"):
        if is_won:
            won.add(lead_id)
        labels[lead_id] = 0
    for (lead_id,) in Lead.objects.filter(stage=Lead.Stage.CUSTOMER).values_list("id"):
        won.add(lead_id)
    for lead_id in won:
        labels[lead_id] = 1
    return pd.Series(labels, dtype="float64", name="label")


def active_scoring_model() -> ScoringModel | None:
    """The newest trained scoring model."""
    return ScoringModel.objects.order_by("-trained_at", "-id").first()


SCORING_VERSION = "scoring-models"


def scoring_trained() -> bool:
    """Whether any scoring model exists, kept per process until one is saved or deleted
    (insights.apps bumps the version): a capture reads it to skip queueing a score that
    could not be computed (the first training scores every open lead)."""
    return versioned(SCORING_VERSION, lambda: ScoringModel.objects.exists())


# --- Budget advice and intervals ---------------------------------------------------------


def _to_frame(rows: Iterable[Any], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=columns)


def weekly_spend(*, start: date, end: date, group_by: str = "channel") -> pd.DataFrame:
    """Spend per channel (or campaign) and week (weeks start on Monday) in [start, end]."""

    name = "campaign__channel__name" if group_by == "channel" else "campaign__name"
    rows = (
        Spend.objects.filter(date__gte=start, date__lte=end)
        .annotate(week=TruncWeek("date"))
        .values_list(name, "week")
        .annotate(total=Sum("amount"))
    )
    frame = _to_frame(rows, ["key", "week", "spend"])
    frame["spend"] = frame["spend"].astype(float)
    frame["week"] = pd.to_datetime(frame["week"]).dt.date
    return frame.dropna(subset=["key"])


def weekly_revenue(
    *, run: Any, model: str, start: date, end: date, group_by: str = "channel"
) -> pd.DataFrame:
    """Revenue of won deals credited to touches of each week in [start, end] (by touch date,
    so it lines up with the spend that bought the touch), and the credited deals."""

    name = "channel__name" if group_by == "channel" else "campaign__name"
    rows = (
        CreditLedger.objects.filter(
            run=run, model=model, touch_at__date__gte=start, touch_at__date__lte=end
        )
        .annotate(week=TruncWeek("touch_at"))
        .values_list(name, "week")
        .annotate(value=Sum("value_cents"), deals=Sum("share"))
    )
    frame = _to_frame(rows, ["key", "week", "revenue", "deals"])
    frame["revenue"] = frame["revenue"].astype(float) / 100
    frame["deals"] = frame["deals"].astype(float)
    frame["week"] = pd.to_datetime(frame["week"], utc=True).dt.date
    return frame.dropna(subset=["key"])


def deal_credits(*, run: Any, model: str, start: date, end: date) -> pd.DataFrame:
    """Credits of deals won in [start, end]: one row per deal and channel (unit, key, value)."""

    rows = (
        CreditLedger.objects.filter(
            run=run, model=model, deal__closed_at__date__gte=start, deal__closed_at__date__lte=end
        )
        .values_list("deal_id", "channel__name")
        .annotate(value=Sum("value_cents"))
    )
    frame = _to_frame(rows, ["unit", "key", "value"])
    frame["value"] = frame["value"].astype(float) / 100
    return frame


def spend_by_channel(*, start: date, end: date) -> pd.Series:
    """Spend per channel name in [start, end]."""

    rows = (
        Spend.objects.filter(date__gte=start, date__lte=end)
        .values_list("campaign__channel__name")
        .annotate(total=Sum("amount"))
    )
    return pd.Series({k: float(v) for k, v in rows if k}, dtype="float64")


def revenue_by_model(*, run: Any, start: date, end: date) -> pd.DataFrame:
    """Won-deal revenue per model and channel in [start, end] (for rank flips)."""

    rows = (
        AttributionSummary.objects.filter(run=run, milestone="deal")
        .filter(days_and_months(start, end))
        .values_list("model", "channel__name")
        .annotate(value=Sum("value_cents"))
    )
    frame = _to_frame(rows, ["model", "channel", "revenue"])
    frame["revenue"] = frame["revenue"].astype(float) / 100
    return frame


# --- Pages ---------------------------------------------------------------------------------


def budget_advice(*, run: Any, model: str) -> BudgetAdvice | None:
    """The stored advice of a run and model."""
    if run is None:
        return None
    return BudgetAdvice.objects.filter(run=run, model=model).first()


def channel_intervals(*, run: Any, model: str) -> list[ChannelInterval]:
    """The stored intervals of a run and model, largest revenue first."""
    if run is None:
        return []
    return list(
        ChannelInterval.objects.filter(run=run, model=model)
        .select_related("channel")
        .order_by("-revenue", "channel__name")
    )


# Who each alert kind is for. Campaign and channel alerts are for the roles that open the
# marketing and sales dashboards; a lead-bound alert is for anyone, narrowed to the viewers
# whose lead_scope includes its lead (a rep: their own leads).
MARKETING_AUDIENCE = (roles.ADMIN, roles.MARKETER, roles.SALES_MANAGER)
ALERT_AUDIENCE: dict[str, tuple[str, ...]] = {
    Alert.Kind.RANK_FLIP: MARKETING_AUDIENCE,
    Alert.Kind.CPL_DRIFT: MARKETING_AUDIENCE,
    Alert.Kind.QUALITY_DRIFT: MARKETING_AUDIENCE,
    Alert.Kind.CONTACT_SLA: roles.ALL_ROLES,
}
# Kinds about one lead: their key is "lead:<id>" and data["lead_id"] names the lead.
LEAD_BOUND_ALERTS = frozenset({Alert.Kind.CONTACT_SLA})


def alert_kinds_for(viewer: Any) -> list[str]:
    """The alert kinds `viewer`'s roles may see and be emailed about, in declaration order."""
    return [k for k in Alert.Kind.values if roles.has_role(viewer, *ALERT_AUDIENCE[k])]


def alerts_visible_to(viewer: Any, alerts: QuerySet[Alert] | None = None) -> QuerySet[Alert]:
    """`alerts` (default: all) narrowed to what `viewer` may see: kinds of their audience,
    and lead-bound alerts only on leads in their lead_scope."""

    alerts = (Alert.objects.all() if alerts is None else alerts).filter(
        kind__in=alert_kinds_for(viewer)
    )
    if lead_scope(viewer) == "all":
        return alerts
    lead_id = Cast(KeyTextTransform("lead_id", "data"), IntegerField())
    return alerts.annotate(alert_lead_id=lead_id).filter(
        ~Q(kind__in=LEAD_BOUND_ALERTS) | Q(alert_lead_id__in=leads_visible_to(viewer).values("pk"))
    )


def alert_visible_to(viewer: Any, alert: Alert) -> bool:
    """True when `viewer` may see (and be emailed) this alert."""
    return alerts_visible_to(viewer, Alert.objects.filter(pk=alert.pk)).exists()


def _acted_on(now: datetime | None = None) -> Q:
    """Alerts someone dismissed, or snoozed until later than `now`."""
    return Q(dismissed_at__isnull=False) | Q(snoozed_until__gt=now or timezone.now())


def open_alerts(
    *, viewer: Any = None, kinds: Iterable[str] | None = None, limit: int = 50
) -> list[Alert]:
    """Alerts that still hold and that nobody dismissed or snoozed, newest first; only those
    `viewer` may see when one is given."""
    alerts = Alert.objects.filter(resolved_at__isnull=True).exclude(_acted_on())
    if viewer is not None:
        alerts = alerts_visible_to(viewer, alerts)
    if kinds is not None:
        alerts = alerts.filter(kind__in=list(kinds))
    return list(alerts.select_related("assigned_to").order_by("-created_at", "-id")[:limit])


def open_alert_counts(*, viewer: Any = None) -> dict[str, int]:
    """Open alerts (not dismissed, not snoozed) per kind, of those `viewer` may see if given."""
    alerts = Alert.objects.filter(resolved_at__isnull=True).exclude(_acted_on())
    if viewer is not None:
        alerts = alerts_visible_to(viewer, alerts)
    return dict(alerts.values_list("kind").annotate(n=Count("id")).order_by())


def open_alert_count(viewer: Any) -> int:
    """The number in the navigation: the open alerts `viewer` may see."""
    return sum(open_alert_counts(viewer=viewer).values())


ALERT_VIEWS = ("open", "mine", "snoozed", "dismissed")


def alerts_page(*, viewer: Any, view: str = "open", limit: int = 200) -> list[Alert]:
    """The alerts page's list: open ones, those assigned to the viewer (still open or not),
    snoozed ones or dismissed ones; only alerts that still hold and `viewer` may see."""
    now = timezone.now()
    alerts = alerts_visible_to(viewer, Alert.objects.filter(resolved_at__isnull=True))
    if view == "mine":
        alerts = alerts.filter(assigned_to=viewer).filter(dismissed_at__isnull=True)
    elif view == "snoozed":
        alerts = alerts.filter(dismissed_at__isnull=True, snoozed_until__gt=now)
    elif view == "dismissed":
        alerts = alerts.filter(dismissed_at__isnull=False)
    else:
        alerts = alerts.exclude(_acted_on(now))
    return list(
        alerts.select_related("assigned_to", "dismissed_by", "snoozed_by", "assigned_by").order_by(
            "-created_at", "-id"
        )[:limit]
    )


def alert_assignees(alert: Alert) -> list[Any]:
    """Active users who may see `alert` (whom it may be assigned to), by name."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return [u for u in users if roles.has_role(u, *ALERT_AUDIENCE.get(alert.kind, ()))]


def window(end: datetime | date, days: int) -> tuple[date, date]:
    """[end - days + 1, end] as dates."""
    last = end.date() if isinstance(end, datetime) else end
    return last - timedelta(days=days - 1), last
