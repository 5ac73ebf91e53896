"""`make run`'s background work: with CLM_BACKGROUND=worker and no Redis, a task sent by the
web process is run by a separate `celery worker` process over the filesystem broker, writing
the same SQLite file (WAL) as the web process. Runs in the normal suite (no server needed)."""

import time

import pytest

from attribution import services
from attribution.models import AttributionRun
from attribution.tests.factories import lead_with_journey, won_deal


def test_settings_of_make_run_use_a_real_worker_on_the_filesystem_broker(tmp_path):
    """What `make run` sets (CLM_BACKGROUND=worker) is read by the settings: no eager tasks,
    the filesystem broker, a shared file cache, SQLite in WAL mode."""
    import json
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_URL"))}
    env.update(CLM_BACKGROUND="worker", CLM_BROKER_DIR=str(tmp_path / "broker"))
    env.pop("DATABASE_URL", None)
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'eager': s.CELERY_TASK_ALWAYS_EAGER, 'broker': s.CELERY_BROKER_URL,"
        " 'cache': s.CACHES['default']['BACKEND'],"
        " 'init': s.DATABASES['default']['OPTIONS'].get('init_command', '')}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env={**env, "DJANGO_SETTINGS_MODULE": "clm.settings"},
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["eager"] is False
    assert seen["broker"] == "filesystem://"
    assert seen["cache"].endswith("FileBasedCache")
    assert "journal_mode=WAL" in seen["init"]
    assert (tmp_path / "broker" / "queue").is_dir()
    # The tests themselves: eager, no worker needed, unless a real broker is configured (CI's
    # PostgreSQL + Redis pass).
    broker_set = bool(os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL"))
    assert settings.CELERY_TASK_ALWAYS_EAGER is not broker_set


@pytest.mark.django_db(transaction=True)
def test_a_full_run_queued_by_the_web_process_is_done_by_the_separate_worker(
    local_worker, seeded_rows
):
    channels = ["Paid Search", "Email", "Organic Search", "Direct"]
    for i in range(12):
        lead = lead_with_journey(f"lw{i}@x.io", channels[i % 4 :] + channels[: i % 4])
        if i % 3 == 0:
            won_deal(lead, f"{100 + i}.00")

    started = time.monotonic()
    run = services.run_start(partitions=2)
    queued_in = time.monotonic() - started
    assert queued_in < 1.0  # queued, not run here
    run.refresh_from_db()
    assert run.status == AttributionRun.Status.QUEUED

    deadline = time.monotonic() + 50
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in ("done", "failed"):
            break
        time.sleep(0.3)
    assert run.status == "done", (run.error, local_worker.log.read_text()[-3000:])
    assert run.partitions.filter(status="done").count() == 2
    assert run.results.exists()
    assert "attribution.tasks.attribution_finish" in local_worker.log.read_text()


def test_a_refresh_is_done_while_a_long_job_holds_the_default_worker_of_make_run(
    local_worker, seeded_rows, admin, tmp_path
):
    """`make run`'s dedicated worker consumes the `interactive` queue over the filesystem
    broker too: a deal's refresh is done while the default worker is still busy."""
    from tests.test_interactive_queue import a_deal_won_while_the_default_worker_is_busy

    folder = tmp_path / "long-job"
    folder.mkdir()
    a_deal_won_while_the_default_worker_is_busy(local_worker, folder, admin)
