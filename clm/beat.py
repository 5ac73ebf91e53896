"""Celery beat schedule: every periodic job of CLM in one place."""

from celery.schedules import crontab

SCHEDULE: dict = {
    "attribution-nightly": {
        "task": "attribution.tasks.attribution_nightly",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 3 * 3600},
    },
    "heartbeat": {
        "task": "clm.tasks.ping",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
    "webhook-sweep": {
        "task": "integrations.tasks.webhook_sweep",
        "schedule": crontab(minute="*"),
        "options": {"expires": 55},
    },
}
