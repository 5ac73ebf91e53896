"""What the loop sends back to operations: lead scores, budget advice, intervals and alerts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class ScoringModel(models.Model):
    """One trained lead-scoring model (a version): coefficients and its held-out validation."""

    spec = models.JSONField(help_text="Columns, coefficients, intercept and training means.")
    metrics = models.JSONField(default=dict, help_text="AUC, Brier score, sizes, split time.")
    calibration = models.JSONField(default=list, help_text="Held-out leads by predicted band.")
    trained_at = models.DateTimeField()
    labelled_leads = models.PositiveIntegerField(default=0)
    scored_leads = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-trained_at", "-id"]
        get_latest_by = ["trained_at", "id"]

    def __str__(self) -> str:
        return f"Scoring model v{self.pk}"

    @property
    def auc(self) -> float | None:
        return self.metrics.get("auc")


class LeadScore(models.Model):
    """A lead's current score (0-100), its probability and the factors behind it."""

    lead = models.OneToOneField(
        "leads.Lead", on_delete=models.CASCADE, primary_key=True, related_name="lead_score"
    )
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    probability = models.FloatField()
    factors = models.JSONField(default=list, help_text="[{label, effect, odds}] largest first.")
    model = models.ForeignKey(
        ScoringModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    scored_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["-score"])]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.score}"

    @property
    def labelled_factors(self) -> list[dict]:
        """Every factor, labelled in the reader's language."""
        from insights.texts import factor_label

        return [{**f, "label": factor_label(f)} for f in self.factors]

    @property
    def raising(self) -> list[dict]:
        """Factors that raise the score, labelled in the reader's language."""
        from insights.texts import factor_label

        return [{**f, "label": factor_label(f)} for f in self.factors if f["effect"] > 0]

    @property
    def lowering(self) -> list[dict]:
        from insights.texts import factor_label

        return [{**f, "label": factor_label(f)} for f in self.factors if f["effect"] < 0]


class ChannelInterval(models.Model):
    """Bootstrap interval of a channel's attributed revenue and ROI in one run and model."""

    run = models.ForeignKey(
        "attribution.AttributionRun", on_delete=models.CASCADE, related_name="+"
    )
    model = models.CharField(max_length=20)
    channel = models.ForeignKey("campaigns.Channel", on_delete=models.CASCADE, related_name="+")
    start = models.DateField()
    end = models.DateField()
    deals = models.FloatField()
    revenue = models.DecimalField(max_digits=16, decimal_places=2)
    revenue_low = models.DecimalField(max_digits=16, decimal_places=2)
    revenue_high = models.DecimalField(max_digits=16, decimal_places=2)
    spend = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal(0))
    roi = models.FloatField(null=True, blank=True)
    roi_low = models.FloatField(null=True, blank=True)
    roi_high = models.FloatField(null=True, blank=True)
    small_sample = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "model", "channel"], name="interval_unique_run_model_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.channel_id} {self.start}..{self.end}"


class BudgetPlan(models.Model):
    """The admin's frame for budget advice: period, total budget and how far advice may move
    a channel. One row is used (the first)."""

    period_days = models.PositiveIntegerField(
        default=28, validators=[MinValueValidator(7), MaxValueValidator(182)]
    )
    total_budget = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text="Budget of the next period; empty: the current spend rate.",
    )
    max_change = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.50"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(5))],
        help_text="Without a bound of its own a channel moves at most this share of its "
        "current spend (0.5: between half and one and a half times).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Budget plan ({self.period_days} days)"


class BudgetBound(models.Model):
    """Minimum and maximum spend of a channel in the plan's period."""

    plan = models.ForeignKey(BudgetPlan, on_delete=models.CASCADE, related_name="bounds")
    channel = models.ForeignKey("campaigns.Channel", on_delete=models.CASCADE, related_name="+")
    min_spend = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal(0), validators=[MinValueValidator(0)]
    )
    max_spend = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "channel"], name="bound_unique_channel"),
            models.CheckConstraint(
                condition=models.Q(max_spend__isnull=True)
                | models.Q(max_spend__gte=models.F("min_spend")),
                name="bound_max_not_below_min",
                violation_error_message="The maximum may not be below the minimum.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.min_spend}..{self.max_spend or '∞'}"


class BudgetAdvice(models.Model):
    """A recommended split of next period's budget for one run and model (never applied)."""

    run = models.ForeignKey(
        "attribution.AttributionRun", on_delete=models.CASCADE, related_name="+"
    )
    model = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)
    period_days = models.PositiveIntegerField()
    fitted_from = models.DateField(null=True)
    fitted_to = models.DateField(null=True)
    current_total = models.DecimalField(max_digits=14, decimal_places=2)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    expected_change = models.DecimalField(max_digits=14, decimal_places=2)
    change_low = models.DecimalField(max_digits=14, decimal_places=2)
    change_high = models.DecimalField(max_digits=14, decimal_places=2)
    probability_better = models.FloatField()
    channels = models.JSONField(default=list)
    campaigns = models.JSONField(default=list)
    notes = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "model"], name="advice_unique_run_model")
        ]

    def __str__(self) -> str:
        return f"Budget advice run {self.run_id} {self.model}"


class Alert(models.Model):
    """A condition someone should act on. Open while it holds; one open alert per kind and key,
    so it is never raised (or sent) twice while it lasts."""

    class Kind(models.TextChoices):
        RANK_FLIP = "rank_flip", _("Channel rank differs between models")
        CPL_DRIFT = "cpl_drift", _("Campaign cost per lead drifted up")
        QUALITY_DRIFT = "quality_drift", _("Campaign lead quality drifted down")
        CONTACT_SLA = "contact_sla", _("Lead waiting past the contact SLA")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=100)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # What people did about it (shared by everyone who sees it): who and when.
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    snoozed_at = models.DateTimeField(null=True, blank=True)
    snoozed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_alerts",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key"],
                condition=models.Q(resolved_at__isnull=True),
                name="alert_one_open_per_kind_key",
            )
        ]
        indexes = [models.Index(fields=["kind", "resolved_at"])]

    def __str__(self) -> str:
        return self.title

    # Text at view time, in the reader's language (title and detail above are the deployment
    # language's copy, kept for email, webhooks and rows whose parameters are missing).
    @property
    def heading(self) -> str:
        from insights.texts import alert_heading

        return alert_heading(self)

    @property
    def explanation(self) -> str:
        from insights.texts import alert_explanation

        return alert_explanation(self)

    @property
    def items(self) -> list[str]:
        """The lines of a merged alert (one per channel), rendered; [] for a single one."""
        from insights.texts import alert_items

        return alert_items(self)

    def is_snoozed(self, now: Any = None) -> bool:
        from django.utils import timezone

        return self.snoozed_until is not None and self.snoozed_until > (now or timezone.now())


class AlertSubscription(models.Model):
    """Which alert kinds a user gets by email."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_subscription"
    )
    kinds = models.JSONField(default=list, help_text='Alert kinds, e.g. ["contact_sla"].')

    def __str__(self) -> str:
        return f"{self.user_id}: {', '.join(self.kinds)}"


class AlertDelivery(models.Model):
    """An alert emailed to a user: at most once (the unique constraint de-duplicates)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "user"], name="delivery_once_per_user")
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id} -> {self.user_id}"
