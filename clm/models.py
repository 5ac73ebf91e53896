"""Models of the project package: claims that make each beat job run once per period."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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
