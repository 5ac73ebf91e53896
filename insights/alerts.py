"""Alerts: find conditions, keep one open alert per condition, email subscribers once.

`alert_publish(alert)` emails an alert; the `alert.raised` webhook event goes out when it opens.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from attribution.charts import MODEL_LABELS
from campaigns.models import Spend
from clm.mail import mail_subject
from insights import engine, selectors
from insights.models import Alert, AlertDelivery, AlertSubscription
from integrations.events import event_emit
from leads.models import Lead

log = logging.getLogger(__name__)


def _in_site_language(check: Callable[..., int]) -> Callable[..., int]:
    """Alert titles and details are stored and emailed to everyone: write them in the
    deployment's LANGUAGE_CODE, whichever language the request that ran the check had."""

    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        with translation.override(settings.LANGUAGE_CODE):
            return check(*args, **kwargs)

    return wrapper


def _sync(kind: str, found: dict[str, dict[str, Any]], *, now: datetime) -> list[Alert]:
    """Open an alert for each newly found key, resolve open ones no longer found; return the
    new alerts (published after commit)."""
    open_alerts = {a.key: a for a in Alert.objects.filter(kind=kind, resolved_at__isnull=True)}
    gone = [a.pk for key, a in open_alerts.items() if key not in found]
    if gone:
        Alert.objects.filter(pk__in=gone).update(resolved_at=now)
    new = []
    for key, values in found.items():
        if key in open_alerts:
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


@_in_site_language
def alerts_check_rank_flips(*, run: Any, now: datetime | None = None) -> int:
    """Channels whose revenue rank differs by two places or more between the run's models."""
    now = now or timezone.now()
    start, end = selectors.window(run.data_cutoff, settings.CLM_INSIGHTS_WINDOW_DAYS)
    flips = engine.rank_flips(selectors.revenue_by_model(run=run, start=start, end=end))

    found = {}
    for r in flips.itertuples():
        best, worst = (
            MODEL_LABELS.get(r.best_model, r.best_model),
            MODEL_LABELS.get(r.worst_model, r.worst_model),
        )
        found[str(r.channel)] = {
            "title": _(
                "%(channel)s ranks #%(best_rank)s under %(best_model)s but #%(worst_rank)s "
                "under %(worst_model)s"
            )
            % {
                "channel": r.channel,
                "best_rank": r.best_rank,
                "best_model": best,
                "worst_rank": r.worst_rank,
                "worst_model": worst,
            },
            "detail": _(
                "Its value depends on the attribution model: check the model comparison "
                "before moving budget to or from it."
            ),
            "data": {
                "channel": r.channel,
                "best_model": r.best_model,
                "best_rank": r.best_rank,
                "worst_model": r.worst_model,
                "worst_rank": r.worst_rank,
                "run": run.pk,
            },
        }
    with transaction.atomic():
        return len(_sync(Alert.Kind.RANK_FLIP, found, now=now))


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
    money = settings.CLM_CURRENCY
    found_cpl = {}
    for r in engine.drifts(
        cpl, metric="cpl", threshold=threshold, min_count=min_leads, higher_is_worse=True
    ).itertuples():
        found_cpl[str(r.key)] = {
            "title": _(
                "%(campaign)s: cost per lead up %(change)s (%(baseline)s → %(recent)s %(currency)s)"
            )
            % {
                "campaign": names[r.key],
                "change": f"{r.change:.0%}",
                "baseline": f"{r.baseline:,.2f}",
                "recent": f"{r.recent:,.2f}",
                "currency": money,
            },
            "detail": _("Last %(recent_days)s days against the %(baseline_days)s days before.")
            % {
                "recent_days": settings.CLM_DRIFT_RECENT_DAYS,
                "baseline_days": settings.CLM_DRIFT_BASELINE_DAYS,
            },
            "data": {
                "campaign_id": int(r.key),
                "baseline": round(r.baseline, 2),
                "recent": round(r.recent, 2),
                "change": round(r.change, 4),
            },
        }
    found_quality = {}
    for r in engine.drifts(
        quality, metric="quality", threshold=threshold, min_count=min_rated, higher_is_worse=False
    ).itertuples():
        found_quality[str(r.key)] = {
            "title": _("%(campaign)s: good-fit share down from %(baseline)s to %(recent)s")
            % {
                "campaign": names[r.key],
                "baseline": f"{r.baseline:.0%}",
                "recent": f"{r.recent:.0%}",
            },
            "detail": _("Sales rated fewer of its recent leads a good fit."),
            "data": {
                "campaign_id": int(r.key),
                "baseline": round(r.baseline, 4),
                "recent": round(r.recent, 4),
                "change": round(r.change, 4),
            },
        }
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
        name = f"{first} {last}".strip() or email
        waited = (now - created).total_seconds() / 3600
        found[f"lead:{lead_id}"] = {
            "title": _("%(name)s has waited %(waited)s h for a first contact (SLA %(sla)s h)")
            % {"name": name, "waited": f"{waited:.0f}", "sla": f"{hours:g}"},
            "detail": _("Call or email the lead, or log the contact you made."),
            "data": {
                "lead_id": lead_id,
                "owner_id": owner_id,
                "url": reverse("crm:lead", args=[lead_id]),
            },
        }
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
        from django.core.exceptions import ValidationError

        raise ValidationError(
            {"kinds": _("unknown alert kind(s): %(kinds)s") % {"kinds": ", ".join(sorted(unknown))}}
        )
    refused = set(chosen) - set(selectors.alert_kinds_for(user))
    if refused:
        from django.core.exceptions import PermissionDenied

        labels = ", ".join(str(label) for k, label in Alert.Kind.choices if k in refused)
        raise PermissionDenied(
            _("Your role may not get these alerts: %(kinds)s") % {"kinds": labels}
        )
    subscription, _created = AlertSubscription.objects.update_or_create(
        user=user, defaults={"kinds": chosen}
    )
    return subscription


def alerts_resend_pending() -> int:
    """Email open alerts to subscribers who have not had them (after a mail outage)."""
    return sum(alert_publish(a) for a in Alert.objects.filter(resolved_at__isnull=True))
