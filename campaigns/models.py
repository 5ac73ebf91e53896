"""Channels, the ordered rules that put touchpoints into them, campaigns and their spend."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from campaigns.colours import colour_validator, next_colour


class SourceCategory(models.Model):
    """A source site and its GA4 category (SEARCH, SOCIAL, SHOPPING, VIDEO); editable."""

    class Category(models.TextChoices):
        SEARCH = "SEARCH", "Search"
        SOCIAL = "SOCIAL", "Social"
        SHOPPING = "SHOPPING", "Shopping"
        VIDEO = "VIDEO", "Video"

    source = models.CharField(max_length=255, unique=True)
    category = models.CharField(max_length=16, choices=Category.choices)

    class Meta:
        ordering = ["source"]
        verbose_name_plural = "source categories"

    def __str__(self) -> str:
        return f"{self.source} ({self.category})"


def validate_channel_name(value: str) -> None:
    """Channel names end up in Markov states and Shapley coalitions, which use > and |."""
    if any(c in value for c in "<>|"):
        raise ValidationError("A channel name may not contain <, > or |.")


class Channel(models.Model):
    """A marketing channel as reports show it (Paid Search, Organic Social, Sales call, ...)."""

    name = models.CharField(max_length=80, unique=True, validators=[validate_channel_name])
    description = models.TextField(blank=True)
    is_paid = models.BooleanField(default=False)
    is_offline = models.BooleanField(
        default=False, help_text="Offline touches logged by sales (calls, events, imports)."
    )
    color = models.CharField(
        _("colour"),
        max_length=7,
        blank=True,
        validators=[colour_validator],
        help_text=_("Its colour in every chart, e.g. #4e79a7; left empty, a free one is picked."),
    )
    display_order = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["display_order", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.color:
            used = Channel.objects.exclude(pk=self.pk).values_list("color", flat=True)
            self.color = next_colour(self.name, used)
        super().save(*args, **kwargs)


class ChannelRule(models.Model):
    """One rule: when all its conditions hold, the touch goes to `channel`. First match wins.

    `conditions` is a list of {"field", "op", "value"}; see campaigns.channeling for the fields
    (source, medium, campaign, referrer_host, landing_host, click_id) and operators.
    """

    position = models.PositiveIntegerField(db_index=True)
    name = models.CharField(max_length=120, blank=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="rules")
    conditions = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"#{self.position} {self.name or self.channel.name}"

    def clean(self) -> None:
        from campaigns.rules import rule_errors

        errors = rule_errors(self)
        if errors:
            raise ValidationError({"conditions": errors})


class Campaign(models.Model):
    """A marketing campaign, identified on touchpoints by its UTM values."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")

    name = models.CharField(max_length=200)
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, related_name="campaigns", null=True, blank=True
    )
    utm_campaign = models.CharField(
        max_length=255, help_text="The utm_campaign value that identifies it (case-insensitive)."
    )
    utm_source = models.CharField(
        max_length=255, blank=True, help_text="Optional: only touches with this source."
    )
    utm_medium = models.CharField(
        max_length=255, blank=True, help_text="Optional: only touches with this medium."
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    budget = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaigns",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date", "name"]
        constraints = [
            models.UniqueConstraint(
                Lower("utm_campaign"),
                Lower("utm_source"),
                Lower("utm_medium"),
                name="campaign_unique_utm_keys",
                violation_error_message="A campaign with these UTM values exists already.",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(start_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="campaign_end_after_start",
                violation_error_message="The end date is before the start date.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        # UTM values are matched case-insensitively; storing them folded keeps them unique.
        self.utm_campaign = self.utm_campaign.strip().lower()
        self.utm_source = self.utm_source.strip().lower()
        self.utm_medium = self.utm_medium.strip().lower()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Spend(models.Model):
    """What a campaign cost on one day, from one source (manual, API, a CSV import)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="spend")
    date = models.DateField()
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="USD")
    impressions = models.PositiveBigIntegerField(default=0)
    clicks = models.PositiveBigIntegerField(default=0)
    source = models.CharField(
        max_length=40, default="manual", help_text="manual, api, csv, google_ads, meta_ads, ..."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "campaign_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "date", "source"], name="spend_unique_campaign_date_source"
            ),
        ]
        indexes = [models.Index(fields=["date", "campaign"])]

    def __str__(self) -> str:
        return f"{self.campaign} {self.date}: {self.amount} {self.currency}"


class ReclassifyJob(models.Model):
    """A run of the current channel rules over stored touchpoints, with its progress."""

    CONFIRM_WORD = "RECLASSIFY"  # what an admin types to start one

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    restored = models.PositiveIntegerField(default=0, help_text="Touches the undo put back.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Reclassify #{self.pk} ({self.status})"

    @property
    def can_undo(self) -> bool:
        return self.status == self.Status.DONE and self.changed > 0 and self.undone_at is None

    @property
    def percent(self) -> int:
        """Touches walked out of all; a queued job (nothing counted yet) is at 0%, not done."""
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.processed / self.total) if self.total else 0


class ReclassifyChange(models.Model):
    """One touch a reclassification changed: what it was before and after, for the undo."""

    job = models.ForeignKey(ReclassifyJob, on_delete=models.CASCADE, related_name="changes")
    # A plain id: touchpoints belong to leads, a layer above.
    touchpoint_id = models.BigIntegerField(db_index=True)
    old_channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    new_channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    old_campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    new_campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    old_source = models.CharField(max_length=255, blank=True)
    new_source = models.CharField(max_length=255, blank=True)
    old_medium = models.CharField(max_length=255, blank=True)
    new_medium = models.CharField(max_length=255, blank=True)
    old_matched_rule = models.CharField(max_length=40, blank=True)
    new_matched_rule = models.CharField(max_length=40, blank=True)
    old_self_referral = models.BooleanField(default=False)
    new_self_referral = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "touchpoint_id"], name="reclassify_change_once")
        ]

    def __str__(self) -> str:
        return f"#{self.job_id} touch {self.touchpoint_id}"


def new_short_code() -> str:
    """A short, unguessable code for a tracked link's redirect (/go/<code>/)."""
    import secrets

    return secrets.token_urlsafe(6)


class TrackedLink(models.Model):
    """A campaign's tagged landing URL for one placement (source, medium, content, term)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="links")
    destination = models.URLField(max_length=1000, help_text="The landing page, without UTM tags.")
    source = models.CharField(max_length=100)
    medium = models.CharField(max_length=100)
    content = models.CharField(max_length=100, blank=True)
    term = models.CharField(max_length=100, blank=True)
    short_code = models.CharField(max_length=16, unique=True, default=new_short_code)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "destination", "source", "medium", "content", "term"],
                name="tracked_link_unique_placement",
                violation_error_message="This campaign has a link for this placement already.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.source}/{self.medium}"

    @property
    def url(self) -> str:
        """The destination tagged with the campaign's and the placement's UTM values."""
        from campaigns.links import tagged_url

        return tagged_url(
            destination=self.destination,
            utm_campaign=self.campaign.utm_campaign,
            source=self.source,
            medium=self.medium,
            content=self.content,
            term=self.term,
        )
