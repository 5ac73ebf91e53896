"""Marketing mix model runs, the lift tests and controls they take in, and budget bounds."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from clm.models import FixedDefinition


class Outcome(models.TextChoices):
    REVENUE = "revenue", _("Won revenue (by close week)")
    LEADS = "leads", _("New leads")
    QUALIFIED = "qualified", _("Qualified leads")


class MixModelRun(FixedDefinition, models.Model):
    """One fit of the mix model: its definition never changes once made (like attribution
    runs); the results (contributions, ROAS with intervals, curves, draws of the curve
    parameters for the optimiser) are stored as JSON when it finishes."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.REVENUE)
    attribution_model = models.CharField(
        max_length=40, blank=True, help_text=_("Attribution model whose ROI centres the priors.")
    )
    params = models.JSONField(default=dict, blank=True)
    data_cutoff = models.DateField(help_text=_("Weeks after this are not included."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    results = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    DEFINITION = ("outcome", "attribution_model", "params", "data_cutoff")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-finished_at"])]

    def __str__(self) -> str:
        return f"Mix model #{self.pk} ({self.status})"


class LiftTest(models.Model):
    """A measured lift: the incremental outcome one channel brought over a period (a geo or
    hold-out test), with its 90% interval. The next fits take it in as evidence."""

    channel = models.ForeignKey(
        "campaigns.Channel", on_delete=models.CASCADE, related_name="+", verbose_name=_("Channel")
    )
    outcome = models.CharField(
        _("Outcome"), max_length=10, choices=Outcome.choices, default=Outcome.REVENUE
    )
    start = models.DateField(_("From"))
    end = models.DateField(_("To"))
    lift = models.DecimalField(_("Lift"), max_digits=14, decimal_places=2)
    low = models.DecimalField(
        _("Low"), max_digits=14, decimal_places=2, help_text=_("Low end of the interval (90%)")
    )
    high = models.DecimalField(
        _("High"), max_digits=14, decimal_places=2, help_text=_("High end of the interval (90%)")
    )
    note = models.CharField(_("Note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start"]

    def __str__(self) -> str:
        return f"{self.channel} {self.start} to {self.end}: {self.lift}"

    def clean(self) -> None:
        errors = {}
        if self.start and self.end and self.end < self.start:
            errors["end"] = _("The end is before the start.")
        if self.low is not None and self.high is not None and self.lift is not None:
            if not self.low <= self.lift <= self.high:
                errors["lift"] = _("The lift must lie within its interval.")
            if self.high <= self.low:
                errors["high"] = _("The interval's high end must be above its low end.")
        if errors:
            raise ValidationError(errors)


class Control(models.Model):
    """Something besides spend that moved the outcome for a while (a launch, a price change):
    the model gives it its own effect over those dates."""

    name = models.CharField(_("Name"), max_length=120)
    start = models.DateField(_("From"))
    end = models.DateField(_("To"))

    class Meta:
        ordering = ["start"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise ValidationError({"end": _("The end is before the start.")})


class ChannelBound(models.Model):
    """The least and most a channel may get per week when the optimiser splits a budget."""

    channel = models.OneToOneField(
        "campaigns.Channel", on_delete=models.CASCADE, related_name="mix_bound"
    )
    min_weekly = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal(0), validators=[MinValueValidator(0)]
    )
    max_weekly = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )

    def __str__(self) -> str:
        return f"{self.channel}: {self.min_weekly} to {self.max_weekly or '∞'}"

    def clean(self) -> None:
        if self.max_weekly is not None and self.max_weekly < self.min_weekly:
            raise ValidationError({"max_weekly": _("The most is below the least.")})
