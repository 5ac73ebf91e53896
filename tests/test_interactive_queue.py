"""A deal's refresh never waits behind long jobs: attribution_refresh_lead goes to the
`interactive` queue (clm/celery.py), which a dedicated worker consumes, so the deal's credits
are refreshed while the default worker is still held by a long job."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from attribution import services
from attribution.models import AttributionRun, CreditLedger
from attribution.tests.factories import lead_with_journey, won_deal
from crm.hooks import REFRESH_TASK
from crm.models import Deal, PipelineStage
from outbox.models import OutboxMessage
from tests.worker_tasks import BLOCK_TASK

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll `condition`; a generous deadline for a loaded machine, not a speed check."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.2)


def a_deal_won_while_the_default_worker_is_busy(worker: Any, folder: Path, by: Any) -> None:
    """With the default worker held by a long job, a deal is won: its refresh is done by the
    interactive worker, and the long job is still running when it is."""
    from clm.celery import app
    from crm.services import deal_close

    channels = ["Paid Search", "Email", "Organic Search", "Direct"]
    for i in range(6):
        lead = lead_with_journey(f"iq{i}@x.io", channels[i % 4 :] + channels[: i % 4])
        if i % 2 == 0:
            won_deal(lead, f"{100 + i}.00")
    buyer = lead_with_journey("buyer@x.io", ["Paid Search", "Email"])
    deal = Deal.objects.create(
        lead=buyer,
        name="Buyer's deal",
        amount=Decimal("250.00"),
        stage=PipelineStage.objects.filter(is_won=False, is_lost=False).first(),
        opportunity_created_at=buyer.created_at + timedelta(days=1),
    )
    app.conf.task_always_eager = True  # the run itself is not what this test is about
    try:
        run = services.run_create(partitions=1)
    finally:
        app.conf.task_always_eager = False
    run.refresh_from_db()
    assert run.status == AttributionRun.Status.DONE, run.error
    assert not CreditLedger.objects.filter(run=run, deal=deal).exists()

    long_job = app.send_task(BLOCK_TASK, kwargs={"folder": str(folder)})
    wait_until((folder / "started").exists, 120, "the long job started on the default worker")

    deal_close(deal=deal, won=True, by=by)  # the outbox hands the refresh over after commit
    refresh = OutboxMessage.objects.get(task=REFRESH_TASK, kwargs={"lead_id": buyer.pk})
    wait_until(
        lambda: OutboxMessage.objects.filter(pk=refresh.pk, status="done").exists(),
        120,
        "the refresh done",
    )
    # Done while the long job still holds the default worker, and by the interactive worker.
    assert not (folder / "finished").exists()
    assert long_job.state == "STARTED"
    assert CreditLedger.objects.filter(run=run, deal=deal).exists()
    assert f"{REFRESH_TASK}[{refresh.uuid}] received" in worker.interactive.log.read_text()
    assert f"{REFRESH_TASK}[{refresh.uuid}]" not in worker.log.read_text()

    (folder / "release").touch()
    assert long_job.get(timeout=60) == "released"
    assert f"{BLOCK_TASK}[{long_job.id}] received" in worker.log.read_text()


def test_a_refresh_is_done_while_a_long_job_holds_the_default_worker(
    celery_worker_process, seeded_rows, admin, tmp_path
):
    a_deal_won_while_the_default_worker_is_busy(celery_worker_process, tmp_path, admin)
