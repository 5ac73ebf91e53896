"""Periodic upkeep of the dashboard rollups (crm.rollups)."""

from __future__ import annotations

from celery import shared_task

from clm.services import job_claim


@shared_task(ignore_result=True)
def rollups_refresh() -> int:
    """Recount the days changed since the last refresh, so a dashboard's first view rarely has
    to; returns how many marks were settled."""
    from crm import rollups

    return rollups.refresh()


@shared_task(ignore_result=True)
def rollups_rebuild() -> int | None:
    """Recount every day once a night: repairs rollups after writes that bypassed the marks
    (raw SQL, a restore); returns the number of rows, None when another beat did it."""
    from crm import rollups

    if not job_claim(job="rollups-rebuild", period_seconds=24 * 3600):
        return None
    return rollups.rebuild()


@shared_task(ignore_result=True)
def tasks_send_reminders() -> int:
    """Email the assignees of follow-ups that fell due (each reminder once)."""
    from crm.services import tasks_send_reminders as send

    return send()
