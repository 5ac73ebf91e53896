"""Celery beat schedule: every periodic job of CLM in one place.

Each job that does real work claims its period first (clm.services.job_claim), so a second
beat process (a failover left running, a restarted beat) cannot run it twice in one period.
The outbox relay needs no claim: two relays skip each other's locked rows. Nor does the rollup
refresh: refreshes take one advisory lock in turn, and a second finds no marks left.
"""

from celery.schedules import crontab
from django.conf import settings


def schedule() -> dict:
    """Every periodic job with its schedule (read when the Celery app is finalised)."""
    return {
        "nurture-dispatch": {
            "task": "nurture.tasks.nurture_dispatch",
            "schedule": 60.0,
            "options": {"expires": 55},
        },
        "segments-refresh": {
            "task": "nurture.tasks.segments_refresh",
            "schedule": 60.0 * settings.CLM_SEGMENT_REFRESH_MINUTES,
            "options": {"expires": 60.0 * settings.CLM_SEGMENT_REFRESH_MINUTES},
        },
        "attribution-nightly": {
            "task": "attribution.tasks.attribution_nightly",
            "schedule": crontab(hour=2, minute=30),
            "options": {"expires": 3 * 3600},
        },
        "mix-nightly": {
            "task": "mix.tasks.mix_nightly",
            "schedule": crontab(hour=4, minute=0),
            "options": {"expires": 3 * 3600},
        },
        "insights-train-scoring": {
            "task": "insights.tasks.insights_train_scoring",
            "schedule": crontab(hour=3, minute=30),
            "options": {"expires": 3 * 3600},
        },
        "insights-alerts": {
            "task": "insights.tasks.insights_check_alerts",
            "schedule": crontab(minute="*/15"),
            "options": {"expires": 600},
        },
        "heartbeat": {
            "task": "clm.tasks.heartbeat",
            "schedule": crontab(minute="*/15"),
            "options": {"expires": 600},
        },
        "outbox-relay": {
            "task": "outbox.tasks.outbox_relay",
            "schedule": 5.0,
            "options": {"expires": 5},
        },
        # Buffered page views (leads.pageviews): stored within about a second of arriving.
        "page-views-drain": {
            "task": "leads.tasks.page_views_drain",
            "schedule": 1.0,
            # Behind a backlog of other tasks a drain must still run (5 s expired them all).
            "options": {"expires": 120},
        },
        "outbox-prune": {
            "task": "outbox.tasks.outbox_prune",
            "schedule": crontab(hour=3, minute=15),
            "options": {"expires": 3 * 3600},
        },
        "rollups-refresh": {
            "task": "crm.tasks.rollups_refresh",
            "schedule": 30.0,
            "options": {"expires": 25},
        },
        "rollups-rebuild": {
            "task": "crm.tasks.rollups_rebuild",
            "schedule": crontab(hour=2, minute=10),
            "options": {"expires": 3 * 3600},
        },
        # Follow-up reminders: each task is claimed before its mail, so none is sent twice.
        "task-reminders": {
            "task": "crm.tasks.tasks_send_reminders",
            "schedule": 60.0,
            "options": {"expires": 55},
        },
        # Ad-platform conversions: each attempt is claimed before its post, so none is sent twice.
        "conversions-upload": {
            "task": "integrations.tasks.conversions_upload",
            "schedule": crontab(minute="*"),
            "options": {"expires": 55},
        },
        "webhook-sweep": {
            "task": "integrations.tasks.webhook_sweep",
            "schedule": crontab(minute="*"),
            "options": {"expires": 55},
        },
    }
