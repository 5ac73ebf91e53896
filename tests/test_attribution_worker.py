"""A full attribution through a real Celery worker on Redis, 4 partitions, equals eager."""

import pytest

from attribution import services
from attribution.models import AttributionRun
from attribution.tests.factories import lead_with_journey, won_deal
from attribution.tests.test_runs import _by_key

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
]


def test_a_run_on_a_real_worker_with_4_partitions_equals_the_eager_single_partition_run(
    celery_worker_process, seeded_rows
):
    import time

    channels = ["Paid Search", "Email", "Organic Search", "Paid Social", "Direct", "Referral"]
    for i in range(24):
        path = [channels[(i + k) % len(channels)] for k in range(1 + i % 4)]
        lead = lead_with_journey(f"w{i}@x.io", path)
        if i % 3 == 0:
            won_deal(lead, f"{100 + i}.00")
    from clm.celery import app

    app.conf.task_always_eager = True
    try:
        eager = services.run_create(partitions=1)
    finally:
        app.conf.task_always_eager = False
    eager.refresh_from_db()
    assert eager.status == "done"

    remote = services.run_create(partitions=4)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        remote.refresh_from_db()
        if remote.status in ("done", "failed"):
            break
        time.sleep(0.5)
    assert remote.status == "done", remote.error
    assert remote.partitions.filter(status="done").count() == 4
    assert _by_key(remote) == _by_key(eager)
    assert AttributionRun.objects.filter(status="done").count() == 2
