"""Fixtures shared by every app's tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# clm.roles imports Django's auth; imported lazily so pure tests run with -p no:django.


@pytest.fixture(autouse=True)
def _fast_password_hashing(request: pytest.FixtureRequest) -> None:
    if not request.config.pluginmanager.has_plugin("django"):
        return  # pure tests run with -p no:django
    settings = request.getfixturevalue("settings")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Page views are stored by the request unless a test turns the buffer on (leads.pageviews).
    settings.CLM_TRACK_BUFFER = False
    # Rate-limit counters, rule versions and round-robin turns must not leak between tests.
    _clear_cache()


def _clear_cache() -> None:
    from django.core.cache import cache
    from django.core.cache.backends.redis import RedisCache

    from clm.localcache import forget

    forget()
    if not isinstance(cache, RedisCache):
        cache.clear()
        return
    # FLUSHDB would also wipe Celery's queues on the same Redis database: delete our keys only.
    type(cache).reset_breaker() if hasattr(type(cache), "reset_breaker") else None
    client = cache._cache.get_client(None, write=True)
    keys = list(client.scan_iter(match=f"{cache.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    """Create a user of a role: make_user(roles.SALES_REP, username="rep1")."""
    from clm.services import user_create

    counter = {"n": 0}

    def make(role: str, username: str | None = None, **extra: Any) -> Any:
        counter["n"] += 1
        name = username or f"{role.lower().replace(' ', '_')}{counter['n']}"
        return user_create(username=name, role=role, password="pw-for-tests-123", **extra)

    return make


@pytest.fixture
def admin(make_user: Callable[..., Any]) -> Any:
    from clm import roles

    return make_user(roles.ADMIN, username="the_admin")


@pytest.fixture
def marketer(make_user: Callable[..., Any]) -> Any:
    from clm import roles

    return make_user(roles.MARKETER, username="the_marketer")


@pytest.fixture
def manager(make_user: Callable[..., Any]) -> Any:
    from clm import roles

    return make_user(roles.SALES_MANAGER, username="the_manager")


@pytest.fixture
def rep(make_user: Callable[..., Any]) -> Any:
    from clm import roles

    return make_user(roles.SALES_REP, username="rep_a")


@pytest.fixture
def other_rep(make_user: Callable[..., Any]) -> Any:
    from clm import roles

    return make_user(roles.SALES_REP, username="rep_b")


def _worker_database_url() -> str:
    """The test database as a DATABASE_URL, for a worker subprocess."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("postgresql"):
        auth = f"{db['USER']}:{db['PASSWORD']}" if db["PASSWORD"] else db["USER"]
        return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"sqlite:///{Path(db['NAME']).resolve()}"


def _start_worker(name: str, options: list[str], env: dict[str, str], log: Path) -> Any:
    """Start `celery worker` on the test database and wait until it says it is ready."""
    import subprocess
    import sys
    import time

    from django.conf import settings

    env = {**env, "DATABASE_URL": _worker_database_url(), "PYTHONUNBUFFERED": "1"}
    with open(log, "w") as out:
        command = [sys.executable, "-m", "celery", "-A", "clm", "worker", *options]
        command += ["--without-mingle", "--without-gossip", "--loglevel=INFO", "-n", name]
        proc = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    proc.log = log  # type: ignore[attr-defined]
    # Generous: on a loaded machine importing Django and Celery alone has taken most of a minute.
    deadline = time.monotonic() + 120
    while " ready." not in log.read_text() and time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"celery worker exited early:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    if " ready." not in log.read_text():
        _stop_worker(proc)
        pytest.fail(f"celery worker not ready in 120 s:\n{log.read_text()[-3000:]}")
    return proc


def _stop_worker(proc: Any) -> None:
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def celery_worker_process(transactional_db: Any) -> Any:
    """A real `celery worker` subprocess on the configured broker, using the test database.

    Skips on the embedded default (no broker). Yields the Popen; stops the worker afterwards.
    """
    import os

    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("needs REDIS_URL: a real broker for a real Celery worker")
    log = Path(settings.VAR_DIR) / "test-celery-worker.log"
    proc = _start_worker(f"test-{os.getpid()}@%h", ["--pool=solo"], dict(os.environ), log)
    try:
        yield proc
    finally:
        _stop_worker(proc)


@pytest.fixture
def local_worker(transactional_db: Any, tmp_path: Path) -> Any:
    """`make run`'s background set-up inside a test: a real `celery worker` subprocess with
    CLM_BACKGROUND=worker on the serverless filesystem broker (a folder under tmp_path), using
    the test database; this process (and its live server) sends tasks there, not eagerly.

    Yields the Popen; stops the worker and puts the eager configuration back afterwards.
    """
    import os

    from clm.celery import app

    broker = tmp_path / "broker"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_URL"))}
    env.update(CLM_BACKGROUND="worker", CLM_BROKER_DIR=str(broker))
    saved = {
        k: app.conf[k]
        for k in ("broker_url", "broker_transport", "result_backend", "task_always_eager")
    }
    saved_options = dict(app.conf.broker_transport_options)

    def reset_connections() -> None:
        app._pool = None
        app.amqp._producer_pool = None
        app._backend_cache = None
        app._local.__dict__.pop("backend", None)

    app.conf.update(
        broker_url="filesystem://",
        broker_transport="clm.broker:Transport",
        result_backend=(broker / "results").as_uri(),
        task_always_eager=False,
        broker_transport_options={
            **saved_options,
            "data_folder_in": str(broker / "queue"),
            "data_folder_out": str(broker / "queue"),
            "control_folder": str(broker / "control"),
        },
    )
    reset_connections()
    proc = None
    try:
        proc = _start_worker(
            f"local-{os.getpid()}@%h", ["--concurrency=1"], env, tmp_path / "worker.log"
        )
        yield proc
    finally:
        if proc is not None:
            _stop_worker(proc)
        app.conf.update(**saved, broker_transport_options=saved_options)
        reset_connections()


@pytest.fixture
def celery_eager() -> Any:
    """Run Celery tasks in-process for this test, also when a real broker is configured."""
    from clm.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before


@pytest.fixture
def seeded_rows(transactional_db: Any) -> None:
    """The rows migrations seed (roles, channels and rules, pipeline stages, reasons).

    A transactional test flushes them for the tests after it, and serialized_rollback cannot
    bring them back once Playwright's event loop runs. The seeds are idempotent, so tests that
    need them run them again.
    """
    from importlib import import_module

    from django.apps import apps

    from campaigns.models import Channel
    from clm.roles import sync_role_permissions

    sync_role_permissions()
    if not Channel.objects.exists():
        import_module("campaigns.migrations.0002_default_channel_group").install(apps, None)
    import_module("crm.migrations.0002_seed_pipeline_and_reasons").seed(apps, None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fault suite (minutes, private servers) runs only when asked: `make fault`."""
    if "fault" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="fault suite: run with `make fault` (pytest -m fault)")
    for item in items:
        if item.get_closest_marker("fault"):
            item.add_marker(skip)
