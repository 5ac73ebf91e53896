"""Tasks of the tests' Celery workers only: conftest starts them with `--include
tests.worker_tasks`; the tests send them by name (`app.send_task`), so the app never imports
this module."""

from __future__ import annotations

import time
from pathlib import Path

from celery import shared_task

BLOCK_TASK = "tests.worker_tasks.block_until_released"


@shared_task(name=BLOCK_TASK)
def block_until_released(folder: str, seconds: float = 180) -> str:
    """A long job: says it started (`started` in folder), then holds its worker until the test
    creates `release` (or `seconds` passed), and says it finished."""
    here = Path(folder)
    (here / "started").touch()
    deadline = time.monotonic() + seconds
    while not (here / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    (here / "finished").touch()
    return "released" if (here / "release").exists() else "timed out"
