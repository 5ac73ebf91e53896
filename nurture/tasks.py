"""Celery tasks of segments and nurture: thin wrappers around nurture.services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True)
def segments_refresh() -> int:
    """Recompute every segment's members and record who joined and who left."""
    from nurture.services import segments_refresh_all

    return segments_refresh_all()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True)
def nurture_dispatch() -> int:
    """Enrol new segment members and send the due nurture emails (rate-limited)."""
    from nurture.services import nurture_dispatch as dispatch

    return dispatch()
