"""The Celery app. Settings come from Django settings under the CELERY_ prefix."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clm.settings")

app = Celery("clm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # A task is acknowledged after it ran, and redelivered if its worker died mid-way.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_eager_propagates=True,
    task_track_started=True,
    result_expires=24 * 3600,
    timezone="UTC",
    # A hung or stopped broker must not hang the web request that queues a task.
    broker_connection_timeout=2,
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "socket_timeout": 2,
        "socket_connect_timeout": 2,
        "visibility_timeout": 3600,
    },
    redis_socket_timeout=2,
    redis_socket_connect_timeout=2,
    task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
    beat_schedule_filename="var/celerybeat-schedule",
)
app.autodiscover_tasks()


def _beat_schedule() -> dict:
    from clm.beat import SCHEDULE

    return SCHEDULE


app.conf.beat_schedule = _beat_schedule()
