"""Personal API tokens, outgoing webhooks (endpoints, deliveries, attempts) and ad-platform
conversions (actions, conversions, upload attempts)."""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A personal API token: acting as its user. Only the SHA-256 of the secret is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to tell it")
    key_hash = models.CharField(max_length=64, unique=True)
    read_only = models.BooleanField(default=False, help_text="Only GET, HEAD and OPTIONS.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


def new_webhook_secret() -> str:
    """A per-endpoint signing secret."""
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A URL an admin subscribed to some events; deliveries are signed with its secret."""

    class Event(models.TextChoices):
        LEAD_CREATED = "lead.created", "lead.created"
        LEAD_STAGE_CHANGED = "lead.stage_changed", "lead.stage_changed"
        DEAL_WON = "deal.won", "deal.won"
        DEAL_LOST = "deal.lost", "deal.lost"
        ATTRIBUTION_RUN_FINISHED = "attribution.run_finished", "attribution.run_finished"
        SEGMENT_MEMBERSHIP_CHANGED = "segment.membership_changed", "segment.membership_changed"
        ALERT_RAISED = "alert.raised", "alert.raised"
        ACCOUNT_CREATED = "account.created", "account.created"

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text='Event names, e.g. ["deal.won"].')
    secret = models.CharField(max_length=100, default=new_webhook_secret)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: the exact body sent, and where its sending stands."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed (attempts exhausted)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=60)
    body = models.TextField(help_text="The JSON body, byte for byte what is signed and sent.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.event} -> {self.endpoint_id} ({self.status})"


class HttpAttempt(models.Model):
    """One HTTP try (a webhook delivery's, a conversion upload's): what came back, how fast."""

    number = models.PositiveIntegerField()
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error[:40]}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookAttempt(HttpAttempt):
    """One HTTP try of a delivery."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )

    class Meta:
        ordering = ["delivery", "number"]


class ConversionAction(models.Model):
    """An outcome sent back to one ad platform under a conversion name (admin-configured).

    The value is the won deal's amount for "deal won", else `fixed_value` in `currency`.
    Credentials are never stored: `credentials_env` names the environment variable that holds
    the bearer token sent to `endpoint_url`.
    """

    class Outcome(models.TextChoices):
        LEAD_CREATED = "lead_created", _("Lead created")
        QUALIFIED = "qualified", _("Qualified")
        OPPORTUNITY = "opportunity", _("Opportunity")
        DEAL_WON = "deal_won", _("Deal won")

    class Platform(models.TextChoices):
        GOOGLE = "google", _("Google Ads")
        MICROSOFT = "microsoft", _("Microsoft Advertising")
        META = "meta", _("Meta (Conversions API)")
        LINKEDIN = "linkedin", _("LinkedIn (Conversions API)")

    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    platform = models.CharField(_("platform"), max_length=10, choices=Platform.choices)
    conversion_name = models.CharField(
        _("conversion name"),
        max_length=200,
        help_text=_(
            "Google and Microsoft: the conversion action's name; Meta: the event name "
            "(e.g. Lead, Purchase); LinkedIn: the conversion rule id."
        ),
    )
    fixed_value = models.DecimalField(
        _("fixed value"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("The value of every conversion, except deal won (the deal's amount)."),
    )
    currency = models.CharField(
        _("currency"), max_length=3, blank=True, help_text=_("ISO 4217, e.g. USD.")
    )
    endpoint_url = models.URLField(
        _("endpoint URL"),
        max_length=500,
        blank=True,
        help_text=_("HTTPS address the scheduled upload posts to; empty: CSV download only."),
    )
    credentials_env = models.CharField(
        _("credentials variable"),
        max_length=100,
        blank=True,
        help_text=_("Name of the environment variable holding the access token (never the token)."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["platform", "conversion_name"]

    def __str__(self) -> str:
        return f"{self.get_platform_display()}: {self.conversion_name}"


class Conversion(models.Model):
    """One outcome of one lead (or deal) for one conversion action: sent at most once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    action = models.ForeignKey(
        ConversionAction, on_delete=models.CASCADE, related_name="conversions"
    )
    # What makes it one conversion: "lead:<id>" or "deal:<id>" (the idempotency key).
    subject = models.CharField(max_length=40)
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    deal = models.ForeignKey(
        "crm.Deal", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField()
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    click_id_name = models.CharField(max_length=12, blank=True)
    click_id = models.CharField(max_length=500, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["action", "subject"], name="conversion_once")
        ]
        indexes = [models.Index(fields=["action", "status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.action_id} {self.subject} ({self.status})"

    @property
    def event_id(self) -> str:
        """The id the platforms de-duplicate on (Meta event_id, LinkedIn eventId)."""
        return f"clm-{self.action_id}-{self.subject.replace(':', '-')}"


class ConversionAttempt(HttpAttempt):
    """One upload try of a conversion: the platform's HTTP status and an excerpt of its answer."""

    conversion = models.ForeignKey(Conversion, on_delete=models.CASCADE, related_name="attempt_log")

    class Meta:
        ordering = ["conversion", "number"]
