"""The Celery app. Settings come from Django settings under the CELERY_ prefix."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clm.settings")

app = Celery("clm")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Seconds after which a task taken by a worker that died unannounced is handed out again;
# longer than the longest task (read here: the broker options are set before Django's settings).
_visibility = int(os.environ.get("CLM_BROKER_VISIBILITY_TIMEOUT", "3600"))
# The serverless broker of `make run` (CLM_BACKGROUND=worker without REDIS_URL, kombu's
# filesystem transport): its message folders. Other transports ignore these options.
_broker_dir = Path(
    os.environ.get("CLM_BROKER_DIR", Path(__file__).resolve().parent.parent / "var" / "broker")
)
_broker = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or "filesystem://"
# How often a worker looks for new message files (kombu's default, 1 s, would add a second to
# every step of a chord); Redis pushes messages, so this is for the filesystem broker only.
_filesystem_polling = {"polling_interval": 0.2} if _broker.startswith("filesystem://") else {}
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
        # A task of a killed pool process is re-queued at once (reject_on_worker_lost); one of a
        # whole worker killed (SIGKILL) after the visibility timeout.
        "visibility_timeout": _visibility,
        # Look for such abandoned tasks every 10 s (kombu's default scans every 100 s).
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        **_filesystem_polling,
    },
    redis_socket_timeout=2,
    redis_socket_connect_timeout=2,
    task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
    beat_schedule_filename="var/celerybeat-schedule",
)
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _beat_schedule(sender: Celery, **kwargs: object) -> None:
    """The beat schedule, once the app (and with it Django's settings) is ready: clm.beat reads
    settings, which must not happen while a settings module that imports clm is loading."""
    from clm.beat import schedule

    sender.conf.beat_schedule = schedule()
