"""Models of the project package: per-user settings, and claims that make each beat job run
once per period."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
