"""Outcomes sent back to the ad platforms: conversion actions, conversions, uploads, exports.

A conversion is recorded, inside the announcer's transaction, when a domain event reaches an
outcome some active ConversionAction sends (lead captured, stage qualified / opportunity, deal
won): one per action and lead (or deal, for deal won), so a repeated event adds nothing.

- Consent: only a lead with consent given, not withdrawn and not erased is sent; any other is
  recorded as skipped ("no consent") and nothing about them leaves CLM.
- Click id: the lead's latest touchpoint at or before the conversion time that carries one of
  the platform's click ids (Google: gclid, else gbraid, else wbraid on that touch; Microsoft:
  msclkid; Meta: fbclid; LinkedIn: li_fat_id). Google and Microsoft match on the click id only,
  so without one the conversion is skipped ("no click id"); Meta and LinkedIn also match on
  the hashed email and are sent without one.
- Upload: the beat job `integrations.tasks.conversions_upload` queues, through the outbox,
  one attempt per due pending conversion of an action with an endpoint; an attempt is claimed
  with a conditional update (so a duplicated message never posts twice), logged with the
  platform's status and answer, and on failure retried after backoff_seconds(attempt) until
  CLM_WEBHOOK_MAX_ATTEMPTS; a 2xx marks it sent, and a sent conversion is never posted again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import zoneinfo
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clm import events
from clm.events import DealClosed, LeadCaptured, LeadStageChanged
from clm.localcache import versioned
from crm.models import Deal
from integrations import adformats, webhooks
from integrations.models import Conversion, ConversionAction, ConversionAttempt
from integrations.services import backoff_seconds
from leads.models import Lead, Touchpoint
from outbox.services import outbox_enqueue

log = logging.getLogger(__name__)

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")
# Click ids arrive in anonymous URLs: only the characters the platforms' ids are made of
# (letters, digits, "_", "-", "."; never a leading sign a spreadsheet reads as a formula).
CLICK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,499}$")
STAGE_OUTCOMES: dict[str, str] = {
    Lead.Stage.QUALIFIED.value: ConversionAction.Outcome.QUALIFIED.value,
    Lead.Stage.OPPORTUNITY.value: ConversionAction.Outcome.OPPORTUNITY.value,
}
CONVERSION_ORDER = 900  # after crm's subscribers, before the webhooks


# --- configuration --------------------------------------------------------------------------


def conversion_action_validate(*, action: ConversionAction) -> None:
    """Raise ValidationError (by field) for an unsafe endpoint, a secret-looking credentials
    reference or a bad currency."""
    errors: dict[str, list[str]] = {}
    if action.endpoint_url:
        scheme = action.endpoint_url.split(":", 1)[0].lower()
        if scheme != "https" and not settings.CLM_WEBHOOK_ALLOW_PRIVATE:
            errors["endpoint_url"] = [_("Uploads go to https:// addresses only.")]
        else:
            try:
                webhooks.check_url(action.endpoint_url)
            except webhooks.UnsafeUrl as exc:
                errors["endpoint_url"] = [str(exc)]
    if action.credentials_env and not ENV_NAME.match(action.credentials_env):
        errors["credentials_env"] = [
            _("Give the name of an environment variable (A-Z, 0-9, _), never the token itself.")
        ]
    if action.currency and not re.fullmatch(r"[A-Za-z]{3}", action.currency):
        errors["currency"] = [_("A three-letter ISO 4217 code, e.g. USD.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def conversion_action_save(*, action: ConversionAction) -> ConversionAction:
    """Validate and save a conversion action (the currency upper-cased)."""
    action.currency = action.currency.upper()
    conversion_action_validate(action=action)
    action.full_clean()
    action.save()
    return action


# --- recording ------------------------------------------------------------------------------


def advertising_allowed(lead: Lead) -> bool:
    """The lead gave consent, has not withdrawn it and was not erased."""
    return bool(lead.consent_given) and lead.consent_withdrawn_at is None and lead.erased_at is None


def latest_click(
    *, lead_id: int, platform: str, before: datetime
) -> tuple[str, str, datetime] | None:
    """(click id name, value, touch time) of the lead's latest touch at or before `before`
    that carries one of `platform`'s click ids, or None (also when that id is malformed)."""
    names = adformats.PLATFORM_CLICK_IDS[platform]
    has_one = Q()
    for name in names:
        has_one |= Q(click_ids__has_key=name)
    touch = (
        Touchpoint.objects.filter(has_one, lead_id=lead_id, occurred_at__lte=before)
        .order_by("-occurred_at", "-id")
        .only("click_ids", "occurred_at")
        .first()
    )
    if touch is None:
        return None
    for name in names:
        value = str((touch.click_ids or {}).get(name) or "")
        if CLICK_ID.match(value):
            return name, value, touch.occurred_at
    return None


def conversion_record(
    *,
    action: ConversionAction,
    lead: Lead,
    occurred_at: datetime,
    deal: Deal | None = None,
) -> Conversion:
    """Record the conversion of `lead` (or `deal`) for `action`, once: an existing one is
    returned unchanged. Pending when it may be sent, else skipped with the reason."""
    subject = f"deal:{deal.pk}" if deal is not None else f"lead:{lead.pk}"
    existing = Conversion.objects.filter(action=action, subject=subject).first()
    if existing is not None:
        return existing
    conversion = Conversion(
        action=action, subject=subject, lead=lead, deal=deal, occurred_at=occurred_at
    )
    if action.outcome == ConversionAction.Outcome.DEAL_WON and deal is not None:
        conversion.value, conversion.currency = deal.amount, settings.CLM_CURRENCY
    elif action.fixed_value is not None:
        conversion.value = action.fixed_value
        conversion.currency = action.currency or settings.CLM_CURRENCY
    click = latest_click(lead_id=lead.pk, platform=action.platform, before=occurred_at)
    if not advertising_allowed(lead):
        conversion.status, conversion.reason = Conversion.Status.SKIPPED, "no consent"
    elif click is None and action.platform in adformats.CLICK_ID_REQUIRED:
        conversion.status, conversion.reason = Conversion.Status.SKIPPED, "no click id"
    else:
        if click is not None:
            conversion.click_id_name, conversion.click_id, conversion.clicked_at = click
        conversion.next_attempt_at = timezone.now()
    try:
        with transaction.atomic():
            conversion.save()
    except IntegrityError:  # recorded concurrently by the same event delivered twice
        return Conversion.objects.get(action=action, subject=subject)
    return conversion


def conversions_for_outcome(
    *, outcome: str, lead: Lead, occurred_at: datetime, deal: Deal | None = None
) -> list[Conversion]:
    """Record the conversion of every active action for `outcome`."""
    actions = ConversionAction.objects.filter(is_active=True, outcome=outcome)
    return [
        conversion_record(action=action, lead=lead, occurred_at=occurred_at, deal=deal)
        for action in actions
    ]


def _guarded(record: Any) -> None:
    """Run a recording in a savepoint: a failure is logged, never fails the announcer's write."""
    try:
        with transaction.atomic():
            record()
    except Exception:
        log.exception("could not record ad-platform conversions")


ACTIONS_VERSION = "conversion-actions"


def active_outcomes() -> frozenset[str]:
    """The outcomes some active conversion action records, kept per process until an action
    is saved or deleted (integrations.apps bumps the version): every capture asks."""
    return versioned(
        ACTIONS_VERSION,
        lambda: frozenset(
            ConversionAction.objects.filter(is_active=True).values_list("outcome", flat=True)
        ),
    )


def on_lead_captured(event: LeadCaptured) -> None:
    """A new lead: the "lead created" outcome, at its capture time."""
    if ConversionAction.Outcome.LEAD_CREATED not in active_outcomes():
        return  # the usual case: no savepoint, no query on the capture's path
    lead = event.lead
    _guarded(
        lambda: conversions_for_outcome(
            outcome=ConversionAction.Outcome.LEAD_CREATED, lead=lead, occurred_at=lead.created_at
        )
    )


def on_stage_changed(event: LeadStageChanged) -> None:
    """Qualified or opportunity: that outcome, now."""
    outcome = STAGE_OUTCOMES.get(event.new_stage)
    if outcome is None:
        return

    def record() -> None:
        lead = Lead.objects.get(pk=event.lead_id)
        conversions_for_outcome(outcome=outcome, lead=lead, occurred_at=timezone.now())

    _guarded(record)


def on_deal_closed(event: DealClosed) -> None:
    """A won deal: "deal won", worth the deal's amount, at its close time."""
    if not event.won:
        return

    def record() -> None:
        deal = Deal.objects.select_related("lead").get(pk=event.deal_id)
        conversions_for_outcome(
            outcome=ConversionAction.Outcome.DEAL_WON,
            lead=deal.lead,
            deal=deal,
            occurred_at=deal.closed_at or timezone.now(),
        )

    _guarded(record)


def connect() -> None:
    """Subscribe to the domain events (IntegrationsConfig.ready), in the announcer's
    transaction so a conversion is as durable as the outcome."""
    events.subscribe(LeadCaptured, on_lead_captured, order=CONVERSION_ORDER)
    events.subscribe(LeadStageChanged, on_stage_changed, order=CONVERSION_ORDER)
    events.subscribe(DealClosed, on_deal_closed, order=CONVERSION_ORDER)


# --- building -------------------------------------------------------------------------------


def conversion_row(conversion: Conversion) -> adformats.ConversionRow:
    """The plain values every platform format is built from."""
    lead = conversion.lead
    return adformats.ConversionRow(
        event_id=conversion.event_id,
        conversion_name=conversion.action.conversion_name,
        occurred_at=conversion.occurred_at,
        value=conversion.value,
        currency=conversion.currency,
        click_id_name=conversion.click_id_name,
        click_id=conversion.click_id,
        clicked_at=conversion.clicked_at,
        email=lead.email,
        phone=lead.phone,
    )


def export_zone() -> tuple[str, zoneinfo.ZoneInfo]:
    """The deployment's time zone: its name for Google's Parameters line, and the zone."""
    return settings.TIME_ZONE, zoneinfo.ZoneInfo(settings.TIME_ZONE)


def exportable(action: ConversionAction) -> QuerySet[Conversion]:
    """The conversions of `action` a file may carry: pending or sent, with a consenting lead."""
    return (
        Conversion.objects.filter(
            action=action,
            status__in=[Conversion.Status.PENDING, Conversion.Status.SENT],
            lead__consent_given=True,
            lead__consent_withdrawn_at__isnull=True,
            lead__erased_at__isnull=True,
        )
        .select_related("action", "lead")
        .order_by("occurred_at", "id")
    )


def export_csv_rows(action: ConversionAction) -> tuple[list[list[str]], list[str], list[list[str]]]:
    """(lines above the header, header, rows) of the platform's CSV for `action`."""
    rows = [conversion_row(c) for c in exportable(action).filter(click_id__gt="")]
    if action.platform == ConversionAction.Platform.GOOGLE:
        name, zone = export_zone()
        return (
            [adformats.google_preamble(name)],
            list(adformats.GOOGLE_COLUMNS),
            (adformats.google_rows(rows, zone=zone)),
        )
    if action.platform == ConversionAction.Platform.MICROSOFT:
        return [], list(adformats.MICROSOFT_COLUMNS), adformats.microsoft_rows(rows)
    raise ValueError("only Google and Microsoft take a CSV file")


def export_payload(action: ConversionAction) -> dict[str, Any]:
    """Meta's batch ({"data": [events]}) or LinkedIn's ({"elements": [events]}) for `action`."""
    rows = [conversion_row(c) for c in exportable(action)]
    if action.platform == ConversionAction.Platform.META:
        code = settings.CLM_PHONE_COUNTRY_CODE
        return {"data": [adformats.meta_event(r, country_code=code) for r in rows]}
    if action.platform == ConversionAction.Platform.LINKEDIN:
        return {"elements": [adformats.linkedin_event(r) for r in rows]}
    raise ValueError("Google and Microsoft take a CSV file")


def upload_body(conversion: Conversion) -> str:
    """The JSON body posted for one conversion, in its platform's API format."""
    _name, zone = export_zone()
    body = adformats.upload_body(
        conversion.action.platform,
        conversion_row(conversion),
        zone=zone,
        country_code=settings.CLM_PHONE_COUNTRY_CODE,
    )
    return json.dumps(body, separators=(",", ":"))


# --- uploading ------------------------------------------------------------------------------


def conversions_upload(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Queue one attempt, through the outbox, for each due pending conversion of an active
    action with an endpoint. Returns how many were queued (a queued one is keyed by its
    attempt, so queueing it again adds nothing)."""
    now = now or timezone.now()
    due = list(
        Conversion.objects.filter(
            status=Conversion.Status.PENDING,
            action__is_active=True,
            next_attempt_at__lte=now,
        )
        .exclude(action__endpoint_url="")
        .values_list("pk", "attempts")[:limit]
    )
    with transaction.atomic():
        for pk, attempts in due:
            outbox_enqueue(
                task="integrations.tasks.conversion_deliver",
                kwargs={"conversion_id": pk, "attempt": attempts + 1},
                key=f"conversion:{pk}:{attempts + 1}",
            )
    return len(due)


def _headers(action: ConversionAction) -> tuple[dict[str, str], str]:
    """Request headers, and an error when the credentials variable is named but unset."""
    headers = {"Content-Type": "application/json", "User-Agent": webhooks.USER_AGENT}
    if not action.credentials_env:
        return headers, ""
    token = os.environ.get(action.credentials_env, "")
    if not token:
        return headers, f"environment variable {action.credentials_env} is not set"
    headers["Authorization"] = f"Bearer {token}"
    return headers, ""


def conversion_attempt(*, conversion_id: int, attempt: int) -> Conversion | None:
    """Make attempt `attempt` of a pending conversion's upload, log it, settle or reschedule.

    Claimed with a conditional update (pending, `attempt - 1` attempts made), so a duplicated
    task message never posts twice. Returns None when there was nothing to do.
    """
    lease = timezone.now() + timedelta(seconds=2 * settings.CLM_WEBHOOK_TIMEOUT)
    claimed = Conversion.objects.filter(
        pk=conversion_id, status=Conversion.Status.PENDING, attempts=attempt - 1
    ).update(attempts=F("attempts") + 1, next_attempt_at=lease)
    if not claimed:
        return None
    conversion = Conversion.objects.select_related("action", "lead").get(pk=conversion_id)
    action = conversion.action
    headers, error = _headers(action)
    if error or not action.endpoint_url:
        result = webhooks.SendResult(None, 0, error or "no endpoint configured", "")
    else:
        result = webhooks.post(url=action.endpoint_url, body=upload_body(conversion),
                               headers=headers)  # fmt: skip
    ConversionAttempt.objects.create(
        conversion=conversion, number=attempt, **result.attempt_fields()
    )
    now = timezone.now()
    if result.ok:
        conversion.status, conversion.sent_at, conversion.next_attempt_at = (
            Conversion.Status.SENT, now, None)  # fmt: skip
        conversion.reason = ""
    elif attempt >= settings.CLM_WEBHOOK_MAX_ATTEMPTS:
        conversion.status, conversion.next_attempt_at = Conversion.Status.FAILED, None
        conversion.reason = (result.error or "failed")[:300]
    else:
        conversion.next_attempt_at = now + timedelta(seconds=backoff_seconds(attempt))
        conversion.reason = (result.error or "")[:300]
    conversion.save(update_fields=["status", "sent_at", "next_attempt_at", "reason"])
    return conversion


# --- reading --------------------------------------------------------------------------------


def action_counts(actions: Iterable[ConversionAction]) -> dict[int, dict[str, int]]:
    """Per action id, the number of conversions in each status (one query)."""
    counts: dict[int, dict[str, int]] = {a.pk: {} for a in actions}
    rows = (
        Conversion.objects.filter(action__in=list(counts))
        .values("action_id", "status")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["action_id"]][row["status"]] = row["n"]
    return counts


def action_conversions(
    *, action: ConversionAction, status: str | None = None
) -> QuerySet[Conversion]:
    """The conversions of an action, newest first, optionally of one status."""
    rows = Conversion.objects.filter(action=action).select_related("lead", "deal")
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-occurred_at", "-id")
