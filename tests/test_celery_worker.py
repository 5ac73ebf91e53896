"""The production path: a task queued by Django is run by a real Celery worker over Redis."""

import pytest

pytestmark = pytest.mark.services


def test_a_real_celery_worker_runs_the_ping_task(celery_worker_process):
    from clm.tasks import ping

    result = ping.delay()
    assert result.get(timeout=30)["pong"] is True
    assert result.status == "SUCCESS"
