"""Alerts: find conditions, keep one open alert per condition, email subscribers once.

`alert_publish(alert)` emails an alert; the `alert.raised` webhook event goes out when it opens.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from campaigns.models import Spend
from clm.mail import mail_subject
from clm.models import UserPreference
from insights import engine, selectors
from insights.models import Alert, AlertDelivery, AlertSubscription
from insights.texts import alert_heading
from integrations.events import event_emit
from leads.models import Lead

log = logging.getLogger(__name__)
RANK_FLIP_KEY = "models"


def _in_site_language(check: Callable[..., int]) -> Callable[..., int]:
    """Alert titles and details are stored and emailed to everyone: write them in the
    deployment's LANGUAGE_CODE, whichever language the request that ran the check had."""

    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        with translation.override(settings.LANGUAGE_CODE):
            return check(*args, **kwargs)

    return wrapper


def _item_keys(data: dict[str, Any]) -> set[str]:
    return {str(i.get("key")) for i in data.get("items", []) if isinstance(i, dict)}


def _sync(kind: str, found: dict[str, dict[str, Any]], *, now: datetime) -> list[Alert]:
    """Open an alert for each newly found key, resolve open ones no longer found; return the
    new alerts (published after commit).

    An open alert still found keeps its state (dismissed, snoozed, assigned). A merged alert
    (data["items"]) takes the current items when they changed; a dismissed one comes back only
    when it gains an item it did not have. Unchanged findings write nothing."""
    open_alerts = {a.key: a for a in Alert.objects.filter(kind=kind, resolved_at__isnull=True)}
    gone = [a.pk for key, a in open_alerts.items() if key not in found]
    if gone:
        Alert.objects.filter(pk__in=gone).update(resolved_at=now)
    new = []
    for key, values in found.items():
        if key in open_alerts:
            _refresh_merged(open_alerts[key], values)
            continue
        try:
            with transaction.atomic():
                alert = Alert.objects.create(kind=kind, key=key[:100], created_at=now, **values)
                # Webhook subscribers hear of it in the same transaction (through the outbox).
                event_emit(
                    name="alert.raised",
                    payload={
                        "alert_id": alert.pk, "kind": alert.kind, "title": alert.title,
                        "detail": alert.detail, "data": alert.data, "created_at": alert.created_at,
                    },
                )  # fmt: skip
        except IntegrityError:  # another check opened it a moment ago
            continue
        new.append(alert)
        transaction.on_commit(lambda alert=alert: alert_publish(alert))
    return new


def _refresh_merged(alert: Alert, values: dict[str, Any]) -> None:
    """Bring an open merged alert's items up to date (nothing written when they are equal)."""
    data = values.get("data", {})
    if "items" not in data or data.get("items") == alert.data.get("items"):
        return
    fields = {"data": data, "title": values["title"], "detail": values["detail"]}
    if alert.dismissed_at is not None and _item_keys(data) - _item_keys(alert.data):
        fields.update(dismissed_at=None, dismissed_by=None)
    Alert.objects.filter(pk=alert.pk).update(**fields)


@_in_site_language
def alerts_check_rank_flips(*, run: Any, now: datetime | None = None) -> int:
    """Channels whose revenue rank differs by two places or more between the run's models."""
    now = now or timezone.now()
    start, end = selectors.window(run.data_cutoff, settings.CLM_INSIGHTS_WINDOW_DAYS)
    flips = engine.rank_flips(selectors.revenue_by_model(run=run, start=start, end=end))

    items = [
        {
            "key": str(r.channel),
            "channel": str(r.channel),
            "best_model": r.best_model,
            "best_rank": int(r.best_rank),
            "worst_model": r.worst_model,
            "worst_rank": int(r.worst_rank),
        }
        for r in flips.sort_values("channel").itertuples()
    ]
    found = {}
    if items:
        # One alert for all channels, the channels inside (eight near-identical alerts would
        # bury the others). Text at view time: insights.texts.
        stub = Alert(kind=Alert.Kind.RANK_FLIP, data={"items": items})
        found[RANK_FLIP_KEY] = {
            "title": stub.heading,
            "detail": stub.explanation,
            "data": {"items": items, "run": run.pk},
        }
    with transaction.atomic():
        return len(_sync(Alert.Kind.RANK_FLIP, found, now=now))


def _texts(kind: str, data: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """An alert's parameters and its title and detail in the deployment's language (for email,
    webhooks and the admin; pages render the parameters in the reader's language)."""
    stub = Alert(kind=kind, data=data)
    title = alert_heading(stub, now=now) if now is not None else stub.heading
    return {"title": title[:300], "detail": stub.explanation, "data": data}


def _windows(now: datetime) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    recent_start = now - timedelta(days=settings.CLM_DRIFT_RECENT_DAYS)
    baseline_start = recent_start - timedelta(days=settings.CLM_DRIFT_BASELINE_DAYS)
    return (baseline_start, recent_start), (recent_start, now)


def _campaign_leads(start: datetime, end: datetime) -> pd.DataFrame:

    rated = Q(feedback__is_current=True)
    rows = (
        Lead.objects.filter(created_at__gte=start, created_at__lt=end, first_campaign__isnull=False)
        .values_list("first_campaign_id", "first_campaign__name")
        .annotate(
            leads=Count("id", distinct=True),
            rated=Count("feedback", filter=rated),
            good=Count("feedback", filter=rated & Q(feedback__rating="good")),
        )
    )
    return pd.DataFrame.from_records(
        list(rows), columns=["campaign_id", "name", "leads", "rated", "good"]
    ).set_index("campaign_id")


def _campaign_spend(start: datetime, end: datetime) -> pd.Series:

    rows = (
        Spend.objects.filter(date__gte=start.date(), date__lt=end.date())
        .values_list("campaign_id")
        .annotate(total=Sum("amount"))
    )
    return pd.Series({k: float(v) for k, v in rows}, dtype="float64")


@_in_site_language
def alerts_check_drift(
    *, now: datetime | None = None, min_leads: int = 10, min_rated: int = 8
) -> int:
    """Campaigns whose cost per lead rose, or whose share of good-fit ratings fell, by more
    than CLM_DRIFT_THRESHOLD from the baseline window to the recent one."""
    now = now or timezone.now()
    (b0, b1), (r0, r1) = _windows(now)
    base, recent = _campaign_leads(b0, b1), _campaign_leads(r0, r1)
    spend_base, spend_recent = _campaign_spend(b0, b1), _campaign_spend(r0, r1)
    ids = sorted(set(base.index) & set(recent.index))
    names = {**base["name"].to_dict(), **recent["name"].to_dict()}
    threshold = settings.CLM_DRIFT_THRESHOLD
    cpl = pd.DataFrame(
        {
            "key": ids,
            "baseline": [spend_base.get(i, 0.0) / base.at[i, "leads"] for i in ids],
            "recent": [spend_recent.get(i, 0.0) / recent.at[i, "leads"] for i in ids],
            "baseline_n": [base.at[i, "leads"] for i in ids],
            "recent_n": [recent.at[i, "leads"] for i in ids],
        }
    )
    quality = pd.DataFrame(
        {
            "key": ids,
            "baseline": [base.at[i, "good"] / max(base.at[i, "rated"], 1) for i in ids],
            "recent": [recent.at[i, "good"] / max(recent.at[i, "rated"], 1) for i in ids],
            "baseline_n": [base.at[i, "rated"] for i in ids],
            "recent_n": [recent.at[i, "rated"] for i in ids],
        }
    )
    windows = {
        "recent_days": settings.CLM_DRIFT_RECENT_DAYS,
        "baseline_days": settings.CLM_DRIFT_BASELINE_DAYS,
    }
    found_cpl = {}
    for r in engine.drifts(
        cpl, metric="cpl", threshold=threshold, min_count=min_leads, higher_is_worse=True
    ).itertuples():
        found_cpl[str(r.key)] = _texts(
            Alert.Kind.CPL_DRIFT,
            {
                "campaign_id": int(r.key),
                "campaign": names[r.key],
                "baseline": round(r.baseline, 2),
                "recent": round(r.recent, 2),
                "change": round(r.change, 4),
                **windows,
            },
        )
    found_quality = {}
    for r in engine.drifts(
        quality, metric="quality", threshold=threshold, min_count=min_rated, higher_is_worse=False
    ).itertuples():
        found_quality[str(r.key)] = _texts(
            Alert.Kind.QUALITY_DRIFT,
            {
                "campaign_id": int(r.key),
                "campaign": names[r.key],
                "baseline": round(r.baseline, 4),
                "recent": round(r.recent, 4),
                "change": round(r.change, 4),
            },
        )
    with transaction.atomic():
        new = _sync(Alert.Kind.CPL_DRIFT, found_cpl, now=now)
        new += _sync(Alert.Kind.QUALITY_DRIFT, found_quality, now=now)
    return len(new)


@_in_site_language
def alerts_check_contact_sla(*, now: datetime | None = None) -> int:
    """New leads not contacted CLM_CONTACT_SLA_HOURS after capture (captured within the last
    CLM_CONTACT_SLA_WINDOW_DAYS: older ones are history, not a call to make)."""

    now = now or timezone.now()
    hours = settings.CLM_CONTACT_SLA_HOURS
    waiting = Lead.objects.filter(
        stage=Lead.Stage.NEW,
        last_contacted_at__isnull=True,
        created_at__lte=now - timedelta(hours=hours),
        created_at__gte=now - timedelta(days=settings.CLM_CONTACT_SLA_WINDOW_DAYS),
    ).values_list("id", "email", "first_name", "last_name", "owner_id", "created_at")
    found = {}
    for lead_id, email, first, last, owner_id, created in waiting:
        found[f"lead:{lead_id}"] = _texts(
            Alert.Kind.CONTACT_SLA,
            {
                "lead_id": lead_id,
                "owner_id": owner_id,
                "url": reverse("crm:lead", args=[lead_id]),
                "name": f"{first} {last}".strip() or email,
                "captured_at": created.isoformat(),
                "sla_hours": hours,
            },
            now=now,
        )
    with transaction.atomic():
        return len(_sync(Alert.Kind.CONTACT_SLA, found, now=now))


def alerts_check_all(*, now: datetime | None = None) -> int:
    """The periodic checks (SLA and drift); rank flips run after each attribution run."""
    return alerts_check_contact_sla(now=now) + alerts_check_drift(now=now)


# --- Delivery ------------------------------------------------------------------------------


def _recipients(alert: Alert) -> list[Any]:
    subscriptions = (
        AlertSubscription.objects.select_related("user")
        .filter(user__is_active=True)
        .exclude(user__email="")
    )
    users = [s.user for s in subscriptions if alert.kind in s.kinds]
    # Only people who may see it on their alerts page: a subscription made before a role
    # changed does not carry marketing alerts to a rep, nor another rep's lead.
    return [u for u in users if selectors.alert_visible_to(u, alert)]


def alert_publish(alert: Alert) -> int:
    """Email the alert to every subscriber of its kind who has not had it; returns the number
    of emails sent. Safe to call again: a delivery is recorded once per user."""
    sent = 0
    subject = mail_subject(f"[CLM] {alert.title}")
    body = f"{alert.get_kind_display()}\n\n{alert.title}\n\n{alert.detail}\n"
    with translation.override(settings.LANGUAGE_CODE):
        lines = alert.items
    if lines:
        body += "\n" + "".join(f"- {line}\n" for line in lines)
    if alert.data.get("url"):
        body += f"\n{alert.data['url']}\n"
    for user in _recipients(alert):
        try:
            with transaction.atomic():
                AlertDelivery.objects.create(alert=alert, user=user, sent_at=timezone.now())
                send_mail(subject, body, None, [user.email])
        except IntegrityError:
            continue  # had it already
        except Exception:  # a mail server outage: the delivery row rolled back, retried later
            log.exception("could not email alert %s to user %s", alert.pk, user.pk)
            continue
        sent += 1
    return sent


def alert_subscribe(*, user: Any, kinds: Iterable[str]) -> AlertSubscription:
    """Set the alert kinds a user gets by email (none: unsubscribe); PermissionDenied for a
    kind outside the user's audience."""
    chosen = sorted(set(kinds))
    unknown = set(chosen) - set(Alert.Kind.values)
    if unknown:
        raise ValidationError(
            {"kinds": _("unknown alert kind(s): %(kinds)s") % {"kinds": ", ".join(sorted(unknown))}}
        )
    refused = set(chosen) - set(selectors.alert_kinds_for(user))
    if refused:
        labels = ", ".join(str(label) for k, label in Alert.Kind.choices if k in refused)
        raise PermissionDenied(
            _("Your role may not get these alerts: %(kinds)s") % {"kinds": labels}
        )
    subscription, _created = AlertSubscription.objects.update_or_create(
        user=user, defaults={"kinds": chosen}
    )
    return subscription


def alerts_resend_pending() -> int:
    """Email open alerts to subscribers who have not had them (after a mail outage); dismissed
    ones are left alone."""
    pending = Alert.objects.filter(resolved_at__isnull=True, dismissed_at__isnull=True)
    return sum(alert_publish(a) for a in pending)


# --- What people do about an alert ---------------------------------------------------------

SNOOZE_MAX_DAYS = 365


def _ensure_may_act(user: Any, alert: Alert) -> None:
    if not selectors.alert_visible_to(user, alert):
        raise PermissionDenied(_("You may not act on this alert."))


@transaction.atomic
def alert_dismiss(*, alert: Alert, by: Any, now: datetime | None = None) -> Alert:
    """Hide the alert from everyone's open list while its condition lasts (who and when are
    kept). Dismissing a dismissed alert changes nothing."""
    _ensure_may_act(by, alert)
    if alert.dismissed_at is None:
        alert.dismissed_at, alert.dismissed_by = now or timezone.now(), by
        alert.save(update_fields=["dismissed_at", "dismissed_by"])
    return alert


@transaction.atomic
def alert_snooze(*, alert: Alert, by: Any, until: date, now: datetime | None = None) -> Alert:
    """Hide the alert until the start of `until` (a day after today, within a year)."""
    _ensure_may_act(by, alert)
    now = now or timezone.now()
    today = timezone.localdate(now)
    if until <= today:
        raise ValidationError({"until": _("Pick a day after today.")})
    if until > today + timedelta(days=SNOOZE_MAX_DAYS):
        raise ValidationError(
            {"until": _("Snooze for at most %(days)s days.") % {"days": SNOOZE_MAX_DAYS}}
        )
    moment = timezone.make_aware(datetime.combine(until, time.min))
    if alert.snoozed_until != moment:
        alert.snoozed_until, alert.snoozed_at, alert.snoozed_by = moment, now, by
        alert.save(update_fields=["snoozed_until", "snoozed_at", "snoozed_by"])
    return alert


@transaction.atomic
def alert_assign(
    *, alert: Alert, by: Any, assignee: Any | None, now: datetime | None = None
) -> Alert:
    """Make `assignee` (None: nobody) responsible; they must be an active user who may see it."""
    _ensure_may_act(by, alert)
    if assignee is not None and (
        not assignee.is_active or not selectors.alert_visible_to(assignee, alert)
    ):
        raise ValidationError({"assignee": _("This person may not see this alert.")})
    if alert.assigned_to_id != (assignee.pk if assignee else None):
        alert.assigned_to, alert.assigned_by = assignee, by
        alert.assigned_at = now or timezone.now()
        alert.save(update_fields=["assigned_to", "assigned_by", "assigned_at"])
        if assignee is not None and assignee.pk != by.pk and assignee.email:
            transaction.on_commit(lambda: _email_assignee(alert, assignee, by))
    return alert


def _email_assignee(alert: Alert, assignee: Any, by: Any) -> None:
    """Tell the assignee, in their own language, what they were given and by whom."""
    preference = UserPreference.objects.filter(user=assignee).first()
    with translation.override(preference.language if preference else settings.LANGUAGE_CODE):
        who = by.get_full_name() or by.username
        subject = mail_subject(
            _("[CLM] %(who)s assigned you an alert: %(title)s")
            % {"who": who, "title": alert.heading}
        )
        lines = [alert.heading, "", alert.explanation, *(f"- {line}" for line in alert.items)]
        lines += ["", reverse("insights:alerts") + "?view=mine"]
    try:
        send_mail(subject, "\n".join(lines) + "\n", None, [assignee.email])
    except Exception:  # a mail outage does not undo the assignment
        log.exception("could not email alert %s assignment to user %s", alert.pk, assignee.pk)


@transaction.atomic
def alert_reopen(*, alert: Alert, by: Any) -> Alert:
    """Undo a dismissal or a snooze."""
    _ensure_may_act(by, alert)
    if alert.dismissed_at is not None or alert.snoozed_until is not None:
        alert.dismissed_at = alert.dismissed_by = None
        alert.snoozed_until = alert.snoozed_at = alert.snoozed_by = None
        fields = ["dismissed_at", "dismissed_by", "snoozed_until", "snoozed_at", "snoozed_by"]
        alert.save(update_fields=fields)
    return alert
