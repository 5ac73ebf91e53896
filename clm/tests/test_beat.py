"""The beat schedule: set once the Celery app is finalised, as `celery beat` does first."""

from clm.celery import app


def test_beat_knows_every_periodic_job_once_the_app_is_finalised(settings):
    app.finalize()
    jobs = app.conf.beat_schedule
    assert {
        "attribution-nightly", "outbox-relay", "outbox-prune", "webhook-sweep",
        "segments-refresh", "nurture-dispatch", "insights-train-scoring", "insights-alerts",
    } <= set(jobs)  # fmt: skip
    assert jobs["segments-refresh"]["schedule"] == 60.0 * settings.CLM_SEGMENT_REFRESH_MINUTES
    assert all(job["task"].count(".") >= 2 for job in jobs.values())
