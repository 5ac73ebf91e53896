import json

import pytest
from django.core.management import call_command
from django.test import override_settings

from clm import roles


def test_healthz_reports_every_service_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert all(check["ok"] for check in body["checks"].values())


@override_settings(
    CELERY_TASK_ALWAYS_EAGER=False,
    CELERY_BROKER_URL="redis://127.0.0.1:1/0",
)
def test_healthz_answers_503_naming_the_broker_when_it_is_down(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"]["ok"] is True


def test_seed_demo_creates_one_user_per_role_and_prints_logins(db, capsys, django_user_model):
    call_command("seed_demo", "--users-only")
    out = capsys.readouterr().out
    for role in roles.ALL_ROLES:
        assert django_user_model.objects.filter(groups__name=role).exists(), role
        assert role in out
    assert "clm-demo" in out


def _snapshot():
    from crm.models import Deal
    from leads.models import Lead, Touchpoint

    return (
        list(Lead.objects.order_by("id").values_list("email", "stage", "created_at")),
        list(Deal.objects.order_by("id").values_list("amount", "stage__slug", "closed_at")),
        Touchpoint.objects.count(),
    )


@pytest.mark.django_db(transaction=True)
def test_seed_demo_tells_a_story_and_the_same_seed_gives_the_same_data(
    capsys, celery_eager, seeded_rows
):
    from attribution.models import AttributionRun
    from attribution.selectors import roi_rows
    from crm.models import Deal
    from leads.models import Lead

    call_command("seed_demo", "--leads", "150", "--seed", "7")
    first = _snapshot()
    assert Lead.objects.count() == 150
    assert Lead.objects.filter(owner__isnull=False).count() == 150
    assert Deal.objects.filter(stage__is_won=True).exists()
    # One run of every model in each scope: contacts and accounts.
    assert sorted(AttributionRun.objects.values_list("scope", "status")) == [
        ("account", "done"),
        ("contact", "done"),
    ]
    run = AttributionRun.objects.get(scope="contact")
    rows = {r.name: r for r in roi_rows(run=run, model="linear")}
    assert rows["Paid Search"].spend > 0 and rows["Paid Search"].revenue > 0
    assert "Demo data loaded" in capsys.readouterr().out
    call_command("seed_demo", "--if-empty")
    assert "skipped" in capsys.readouterr().out

    from django.core.management import CommandError

    with pytest.raises(CommandError, match="has leads already"):
        call_command("seed_demo", "--leads", "10")
    _wipe()
    call_command("seed_demo", "--leads", "150", "--seed", "7")
    again = _snapshot()
    assert [row[:2] for row in again[0]] == [row[:2] for row in first[0]]
    assert [row[:2] for row in again[1]] == [row[:2] for row in first[1]]
    assert again[2] == first[2]


def _wipe():
    from attribution.models import AttributionRun
    from campaigns.models import Campaign
    from leads.models import Lead, Submission, Visitor

    AttributionRun.objects.all().delete()
    Lead.objects.all().delete()
    Visitor.objects.all().delete()
    Submission.objects.all().delete()
    Campaign.objects.all().delete()


def test_ping_task_runs(db):
    from clm.tasks import ping

    # apply() runs the task here whatever the broker; the worker test covers the real path.
    assert ping.apply().get(timeout=10)["pong"] is True


def test_healthz_names_a_down_database_without_its_host_port_or_error_text(client, db, caplog):
    from unittest import mock

    from django.db import OperationalError

    leak = 'connection to server at "db.internal" (10.0.0.7), port 5432 failed: Connection refused'
    with mock.patch("clm.views._database", side_effect=OperationalError(leak)):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["failing"] == ["database"]
    assert body["checks"]["database"] == {"ok": False, "status": "down"}
    text = response.content.decode()
    for secret in ("db.internal", "10.0.0.7", "5432", "refused", "OperationalError"):
        assert secret not in text
    # The detail is in the server's log, for whoever runs it.
    assert "db.internal" in caplog.text


def test_healthz_names_a_down_cache_without_the_redis_address(client, db, caplog):
    from unittest import mock

    leak = "Error 111 connecting to redis.internal:6379. Connection refused."
    with mock.patch("clm.views.cache.set", side_effect=ConnectionError(leak)):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["failing"] == ["cache"]
    assert body["checks"]["cache"] == {"ok": False, "status": "down"}
    assert "redis.internal" not in response.content.decode()
    assert "6379" not in response.content.decode()
    assert "redis.internal" in caplog.text
