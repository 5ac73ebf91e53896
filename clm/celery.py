"""The Celery app. Settings come from Django settings under the CELERY_ prefix."""

import logging
import os
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import celeryd_after_setup
from kombu import Exchange, Queue

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
# Two queues. `celery` (the default) takes every long job: full attribution runs and their
# partitions, mix fits, reclassification, rollup rebuilds, scoring training, the page-view
# drainer. `interactive` takes the short, rare jobs a person is waiting on, so a dedicated
# worker (`-Q interactive`, one process) runs them at once however busy the default worker is:
# the per-lead refresh after a deal changes (deal won -> dashboard data) and the beat's outbox
# relay (the path by which such a refresh reaches the broker when the send after commit missed
# it). Kept off it: work that waits on servers outside ours (SMTP, webhooks, ad platforms), the
# rollup recount (every day once a mass change marked them all) and the jobs of each capture (a
# new lead's score and follow-up: a burst of captures would queue refreshes behind them).
DEFAULT_QUEUE = "celery"
INTERACTIVE_QUEUE = "interactive"
INTERACTIVE_TASKS = (
    "attribution.tasks.attribution_refresh_lead",
    "outbox.tasks.outbox_relay",
)
app.conf.update(
    task_default_queue=DEFAULT_QUEUE,
    # Both queues are declared: a worker started without -Q (a deployment's command from before
    # this split) consumes both, so a task routed to `interactive` never waits for a worker
    # that nobody started. `make run`, `make run-services` and docker-compose.yml run the
    # default worker on both (`-Q celery,interactive`) and a second, one-process worker on
    # `interactive` alone, which long jobs can never occupy.
    task_queues=(
        Queue(DEFAULT_QUEUE, Exchange(DEFAULT_QUEUE), routing_key=DEFAULT_QUEUE),
        Queue(INTERACTIVE_QUEUE, Exchange(INTERACTIVE_QUEUE), routing_key=INTERACTIVE_QUEUE),
    ),
    task_routes={name: {"queue": INTERACTIVE_QUEUE} for name in INTERACTIVE_TASKS},
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


@celeryd_after_setup.connect
def _warn_without_interactive_queue(sender: str, instance: Any, **kwargs: object) -> None:
    """A worker whose -Q leaves out the interactive queue says so when it starts: unless another
    worker reads that queue, a deal's refresh would wait forever."""
    consumed = set(instance.app.amqp.queues.consume_from)
    if INTERACTIVE_QUEUE not in consumed:
        logging.getLogger(__name__).warning(
            "worker %s does not consume the %r queue (it reads %s): run another worker with "
            "`-Q %s` (docker-compose.yml: worker-interactive), or the short jobs routed there "
            "(%s) are never run",
            sender,
            INTERACTIVE_QUEUE,
            ", ".join(sorted(consumed)),
            INTERACTIVE_QUEUE,
            ", ".join(INTERACTIVE_TASKS),
        )
