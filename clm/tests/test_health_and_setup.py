import json

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
    call_command("seed_demo")
    out = capsys.readouterr().out
    for role in roles.ALL_ROLES:
        assert django_user_model.objects.filter(groups__name=role).exists(), role
        assert role in out
    assert "clm-demo" in out
    call_command("seed_demo", "--if-empty")
    assert "skipped" in capsys.readouterr().out


def test_ping_task_runs(db):
    from clm.tasks import ping

    # apply() runs the task here whatever the broker; the worker test covers the real path.
    assert ping.apply().get(timeout=10)["pong"] is True
