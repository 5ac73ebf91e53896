"""Models of the project package: per-user settings, and claims that make each beat job run
once per period."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FixedDefinition:
    """A mixin for versioned results (attribution runs, mix model fits): the fields named in
    DEFINITION never change once saved; status, progress and results may."""

    DEFINITION: tuple[str, ...] = ()

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk:  # type: ignore[attr-defined]
            stored = (
                type(self).objects.filter(pk=self.pk).values(*self.DEFINITION).first()  # type: ignore[attr-defined]
                or {}
            )
            changed = [f for f in self.DEFINITION if f in stored and stored[f] != getattr(self, f)]
            if changed:
                name = type(self)._meta.verbose_name  # type: ignore[attr-defined]
                raise ValidationError(f"{name} is immutable: {', '.join(changed)}")
        super().save(*args, **kwargs)  # type: ignore[misc]


class JobClaim(models.Model):
    """One periodic job's run for one period. The unique pair lets only the first of two beat
    processes' duplicate sends do the work."""

    job = models.CharField(max_length=100)
    period = models.BigIntegerField(help_text="Start of the period, in seconds since the epoch.")
    claimed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "period"], name="jobclaim_once_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.job} @ {self.period}"


class UserPreference(models.Model):
    """A user's own settings that follow them across devices: the UI language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self) -> str:
        return f"{self.user} ({self.language})"
