"""Celery beat schedule: every periodic job of CLM in one place."""

from celery.schedules import crontab

SCHEDULE: dict = {
    "heartbeat": {
        "task": "clm.tasks.ping",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
}
