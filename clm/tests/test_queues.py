"""Two Celery queues (clm/celery.py): the short jobs a person waits on go to `interactive`,
every long job stays on the default queue, and a worker started without -Q takes both."""

import logging
from types import SimpleNamespace

import pytest

from clm.celery import INTERACTIVE_TASKS, _warn_without_interactive_queue, app


def queue_of(task: str) -> str:
    return app.amqp.router.route({}, task)["queue"].name


def test_a_deals_refresh_and_the_outbox_relay_go_to_the_interactive_queue():
    app.loader.import_default_modules()
    assert set(INTERACTIVE_TASKS) <= set(app.tasks)  # a renamed task would fall back silently
    assert queue_of("attribution.tasks.attribution_refresh_lead") == "interactive"
    assert queue_of("outbox.tasks.outbox_relay") == "interactive"


@pytest.mark.parametrize(
    "task",
    [
        "attribution.tasks.attribution_run",
        "attribution.tasks.attribution_batch_count",
        "attribution.tasks.attribution_batch_credit",
        "attribution.tasks.attribution_reduce",
        "attribution.tasks.attribution_finish",
        "attribution.tasks.attribution_nightly",
        "insights.tasks.insights_after_run",
        "insights.tasks.insights_score_lead",
        "insights.tasks.insights_train_scoring",
        "mix.tasks.mix_fit",
        "campaigns.tasks.reclassify_touchpoints",
        "crm.tasks.rollups_refresh",
        "crm.tasks.rollups_rebuild",
        "leads.tasks.page_views_drain",
        "leads.tasks.submission_follow_up",
        "integrations.tasks.webhook_deliver",
        "nurture.tasks.segments_refresh",
    ],
)
def test_long_jobs_outside_calls_and_capture_jobs_stay_on_the_default_queue(task):
    assert queue_of(task) == "celery"


def test_a_worker_started_without_a_queue_option_consumes_both_queues():
    """A deployment still starting its worker as before (`celery -A clm worker`, no -Q) runs
    the interactive tasks too: nothing is routed to a queue that no worker reads."""
    assert set(app.amqp.queues.consume_from) == {"celery", "interactive"}


def a_worker_reading(*queues: str) -> SimpleNamespace:
    consume_from = {name: app.amqp.queues[name] for name in queues}
    return SimpleNamespace(app=SimpleNamespace(amqp=SimpleNamespace(
        queues=SimpleNamespace(consume_from=consume_from))))  # fmt: skip


def test_a_worker_started_on_the_default_queue_alone_warns_that_refreshes_need_another(caplog):
    with caplog.at_level(logging.WARNING, logger="clm.celery"):
        _warn_without_interactive_queue("w1@host", a_worker_reading("celery"))
    assert "w1@host does not consume the 'interactive' queue" in caplog.text
    assert "attribution.tasks.attribution_refresh_lead" in caplog.text


@pytest.mark.parametrize("queues", [("celery", "interactive"), ("interactive",)])
def test_workers_reading_the_interactive_queue_start_without_a_warning(caplog, queues):
    with caplog.at_level(logging.WARNING, logger="clm.celery"):
        _warn_without_interactive_queue("w1@host", a_worker_reading(*queues))
    assert caplog.text == ""
