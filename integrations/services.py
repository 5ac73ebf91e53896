"""Every write of integrations: API tokens, webhook endpoints, delivery attempts."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations import webhooks
from integrations.events import EVENTS, deliveries_enqueue, deliveries_queue
from integrations.models import ApiToken, WebhookAttempt, WebhookDelivery, WebhookEndpoint

TOKEN_PREFIX = "clm_"  # noqa: S105 - a marker, not a secret
LAST_USED_EVERY = timedelta(minutes=1)


def token_hash(raw: str) -> str:
    """SHA-256 hex of a raw token: what is stored and looked up."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewToken:
    """A created token and its secret, which is shown once and never stored."""

    token: ApiToken
    raw: str


@transaction.atomic
def token_create(
    *, user: Any, name: str, read_only: bool = False, expires_at: datetime | None = None
) -> NewToken:
    """Create a personal API token for `user`; only its SHA-256 and a short prefix are kept."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Name the token, e.g. after the integration using it.")})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=raw[:12],
        key_hash=token_hash(raw),
        read_only=read_only,
        expires_at=expires_at,
    )
    return NewToken(token, raw)


def token_revoke(*, token: ApiToken, by: Any) -> ApiToken:
    """Revoke a token of `by` (admins may revoke anyone's); it answers 401 from now on."""
    if token.user_id != by.pk and not by.is_superuser:
        raise ValidationError(_("You may revoke only your own tokens."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(raw: str) -> ApiToken | None:
    """The live token for a raw secret (not revoked, not expired, active user), or None.

    Marks it used at most once a minute, so reads stay reads.
    """
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(raw), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if token is None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def webhook_endpoint_validate(*, url: str, events: list[str]) -> None:
    """Raise ValidationError for an unsafe URL or an unknown event name."""
    errors: dict[str, list[str]] = {}
    try:
        webhooks.check_url(url)
    except webhooks.UnsafeUrl as exc:
        errors["url"] = [str(exc)]
    unknown = [e for e in events or [] if e not in EVENTS]
    if not events or unknown:
        errors["events"] = [f"Choose among: {', '.join(EVENTS)}."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def webhook_endpoint_save(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Validate (safe URL, known events) and save an endpoint."""
    webhook_endpoint_validate(url=endpoint.url, events=endpoint.events)
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def backoff_seconds(attempt: int) -> int:
    """Wait before attempt `attempt` + 1: base * 2^(attempt - 1), at most one hour."""
    return int(min(settings.CLM_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1), 3600))


def delivery_attempt(*, delivery_id: str, attempt: int) -> WebhookDelivery | None:
    """Make attempt number `attempt` of a pending delivery, log it, and schedule the next one.

    The attempt is claimed with a conditional update, so a duplicated task message (or the
    sweep racing a slow worker) never sends the same attempt twice. Returns None when there
    was nothing to do.
    """
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, attempts=attempt - 1
    ).update(
        attempts=F("attempts") + 1,
        # A lease: the sweep leaves an attempt in flight alone.
        next_attempt_at=timezone.now() + timedelta(seconds=2 * settings.CLM_WEBHOOK_TIMEOUT),
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    result = webhooks.send(
        url=endpoint.url,
        secret=endpoint.secret,
        event=delivery.event,
        delivery_id=str(delivery.pk),
        body=delivery.body,
    )
    WebhookAttempt.objects.create(delivery=delivery, number=attempt, **result.attempt_fields())
    now = timezone.now()
    delivery.last_status_code, delivery.last_error = result.status_code, result.error
    if result.ok:
        delivery.status, delivery.delivered_at = WebhookDelivery.Status.SUCCEEDED, now
        delivery.next_attempt_at = None
    elif attempt >= settings.CLM_WEBHOOK_MAX_ATTEMPTS or not endpoint.is_active:
        delivery.status = WebhookDelivery.Status.FAILED
    else:
        delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(attempt))
    delivery.save(
        update_fields=[
            "status",
            "delivered_at",
            "last_status_code",
            "last_error",
            "next_attempt_at",
        ]
    )
    if delivery.status == WebhookDelivery.Status.PENDING:
        deliveries_queue(
            [str(delivery.pk)], attempt=attempt + 1, countdown=backoff_seconds(attempt)
        )
    return delivery


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's body again as a new delivery (same event id, fresh attempts)."""
    copy = WebhookDelivery.objects.create(
        endpoint=delivery.endpoint,
        event=delivery.event,
        body=delivery.body,
        next_attempt_at=timezone.now(),
    )
    deliveries_enqueue([str(copy.pk)])
    return copy


def deliveries_sweep(*, older_than_seconds: int | None = None) -> int:
    """Queue again pending deliveries whose next attempt is overdue (their message was lost)."""
    wait = settings.CLM_WEBHOOK_SWEEP_AFTER if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=wait)
    overdue = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, created_at__lte=cutoff
        )
        .exclude(next_attempt_at__gt=cutoff)
        .values_list("pk", "attempts")[:1000]
    )
    for pk, attempts in overdue:
        deliveries_queue([str(pk)], attempt=attempts + 1)
    return len(overdue)
