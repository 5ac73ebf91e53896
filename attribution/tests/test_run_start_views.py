"""Recompute from the dashboard: the status endpoint its page polls and the one-run guard.

In these tests (django_db, no transaction) on_commit callbacks do not run, so a started run
stays queued, as it does while a real worker has not taken it yet.
"""

from __future__ import annotations

import pytest

from attribution import services
from attribution.models import AttributionRun, RunPartition
from attribution.tests.factories import lead_with_journey, won_deal

pytestmark = pytest.mark.django_db

START = "/dashboards/runs/start/"
STATUS = "/dashboards/status.json"
JSON = {"HTTP_ACCEPT": "application/json"}


def test_status_reports_the_run_in_progress_with_its_percent_done(client, marketer):
    for i in range(8):
        lead_with_journey(f"p{i}@x.io", ["Email"])
    run = services.run_create(partitions=4, start=False)
    AttributionRun.objects.filter(pk=run.pk).update(status=AttributionRun.Status.RUNNING)
    parts = list(RunPartition.objects.filter(run=run).order_by("index"))
    assert len(parts) == 4 and {"markov", "shapley"} <= set(run.model_names)
    RunPartition.objects.filter(pk=parts[0].pk).update(status=RunPartition.Status.DONE)
    RunPartition.objects.filter(pk=parts[1].pk).update(status=RunPartition.Status.COUNTED)
    client.force_login(marketer)

    response = client.get(STATUS)

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["latest_run"] is None
    # Two stages (count, credit) per partition: 2 + 1 of 8 steps done.
    assert body["running"] == {
        "id": run.pk, "status": "running", "percent": 37, "partitions": 4,
        "partitions_done": 1, "error": "",
        # The banner's words follow the run's state, not the page's first paint.
        "banner": f"Attribution run #{run.pk} is running",
    }  # fmt: skip


def test_status_is_for_dashboard_viewers_only(client, rep):
    assert client.get(STATUS).status_code == 302  # anonymous: to the login page
    client.force_login(rep)
    assert client.get(STATUS).status_code == 403


def test_the_dashboards_script_starts_one_run_and_a_second_click_gets_409(client, marketer):
    client.force_login(marketer)

    first = client.post(START, **JSON)
    second = client.post(START, **JSON)

    assert first.status_code == 202
    run = AttributionRun.objects.get()
    assert first.json()["run"]["id"] == run.pk
    assert first.json()["run"]["status"] == "queued"
    assert first.json()["detail"] == f"Attribution run #{run.pk} started."
    assert first.json()["run"]["banner"] == f"Attribution run #{run.pk} is queued"
    assert second.status_code == 409
    assert second.json()["running"]["id"] == run.pk
    assert second.json()["detail"] == "A run is in progress already."
    assert AttributionRun.objects.count() == 1
    assert run.created_by == marketer


def test_a_plain_form_post_twice_starts_one_run_and_says_so(client, marketer):
    client.force_login(marketer)
    back = "/dashboards/marketing/?range=30d"

    first = client.post(START, {"next": back})
    second = client.post(START, {"next": back}, follow=True)

    assert first.status_code == 302 and first["Location"] == back
    assert AttributionRun.objects.count() == 1
    assert "A run is in progress already." in second.content.decode()


def test_the_button_is_disabled_while_a_run_is_active_and_enabled_after(client, marketer):
    client.force_login(marketer)
    run = services.run_create(partitions=1, start=False)

    page = client.get("/dashboards/marketing/").content.decode()
    assert 'id="recompute" disabled' in page
    assert f'data-running="{run.pk}"' in page

    AttributionRun.objects.filter(pk=run.pk).update(status=AttributionRun.Status.DONE)
    page = client.get("/dashboards/marketing/").content.decode()
    assert 'id="recompute" disabled' not in page
    assert 'id="recompute"' in page


def test_only_admins_and_marketers_start_runs(client, manager):
    client.force_login(manager)
    assert client.post(START, **JSON).status_code == 403
    assert client.get(START).status_code in (403, 405)
    assert not AttributionRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_without_a_worker_the_run_is_done_when_the_answer_comes(client, seeded_rows, celery_eager):
    from clm import roles
    from clm.services import user_create

    lead = lead_with_journey("eager@x.io", ["Email", "Paid Search"])
    won_deal(lead, "100.00")
    user = user_create(username="m", role=roles.MARKETER, password="pw-for-tests-123")
    client.force_login(user)

    response = client.post(START, **JSON)

    assert response.status_code == 202
    assert response.json()["run"]["status"] == "done"
    assert response.json()["run"]["percent"] == 100
    assert client.get(STATUS).json()["running"] is None
