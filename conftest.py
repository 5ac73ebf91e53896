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


def _launch_worker(name: str, options: list[str], env: dict[str, str], log: Path) -> Any:
    """Start `celery worker` on the test database; returns at once (see _wait_ready)."""
    import subprocess
    import sys

    from django.conf import settings

    env = {**env, "DATABASE_URL": _worker_database_url(), "PYTHONUNBUFFERED": "1"}
    with open(log, "w") as out:
        command = [sys.executable, "-m", "celery", "-A", "clm", "worker", *options]
        # The tests' own tasks (tests/worker_tasks.py), e.g. one that holds a worker busy.
        command += ["--include", "tests.worker_tasks"]
        command += ["--without-mingle", "--without-gossip", "--loglevel=INFO", "-n", name]
        proc = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    proc.log = log  # type: ignore[attr-defined]
    return proc


def _wait_ready(procs: list[Any]) -> None:
    """Wait until every worker says it is ready; stop them all and fail if one does not."""
    import time

    # Generous: on a loaded machine importing Django and Celery alone has taken most of a minute.
    deadline = time.monotonic() + 120
    waiting = list(procs)
    while waiting and time.monotonic() < deadline:
        for proc in list(waiting):
            if " ready." in proc.log.read_text():
                waiting.remove(proc)
            elif proc.poll() is not None:
                for other in procs:
                    _stop_worker(other)
                pytest.fail(f"celery worker exited early:\n{proc.log.read_text()[-3000:]}")
        time.sleep(0.2)
    if waiting:
        for other in procs:
            _stop_worker(other)
        pytest.fail(f"celery worker not ready in 120 s:\n{waiting[0].log.read_text()[-3000:]}")


def _start_workers(
    prefix: str, default: list[str], interactive: list[str], env: dict[str, str], logs: Path
) -> Any:
    """The two workers every deployment runs (clm/celery.py): the default one on both queues
    and a dedicated one on `interactive`, started side by side. Returns the default worker's
    Popen with the other as its `interactive` attribute."""
    import os

    main = _launch_worker(
        f"{prefix}-{os.getpid()}@%h", [*default, "-Q", "celery,interactive"], env,
        logs / f"{prefix}-worker.log",
    )  # fmt: skip
    side = _launch_worker(
        f"{prefix}-interactive-{os.getpid()}@%h", [*interactive, "-Q", "interactive"], env,
        logs / f"{prefix}-interactive-worker.log",
    )  # fmt: skip
    main.interactive = side
    _wait_ready([main, side])
    return main


def _stop_worker(proc: Any) -> None:
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def celery_worker_process(transactional_db: Any) -> Any:
    """Real `celery worker` subprocesses on the configured broker, using the test database: the
    default worker (one task at a time, both queues) and the dedicated `interactive` one.

    Skips on the embedded default (no broker). Yields the default worker's Popen (the other is
    its `interactive` attribute); stops both afterwards.
    """
    import os

    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("needs REDIS_URL: a real broker for a real Celery worker")
    proc = _start_workers(
        "test", ["--pool=solo"], ["--pool=solo"], dict(os.environ), Path(settings.VAR_DIR)
    )
    try:
        yield proc
    finally:
        _stop_worker(proc)
        _stop_worker(proc.interactive)


@pytest.fixture
def local_worker(transactional_db: Any, tmp_path: Path) -> Any:
    """`make run`'s background set-up inside a test: real `celery worker` subprocesses (the
    default one and the `interactive` one) with CLM_BACKGROUND=worker on the serverless
    filesystem broker (a folder under tmp_path), using the test database; this process (and its
    live server) sends tasks there, not eagerly.

    Yields the default worker's Popen (the other is its `interactive` attribute); stops both and
    puts the eager configuration back afterwards.
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
        proc = _start_workers("local", ["--concurrency=1"], ["--concurrency=1"], env, tmp_path)
        yield proc
    finally:
        if proc is not None:
            _stop_worker(proc)
            _stop_worker(proc.interactive)
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


DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback",
     "live_server"}
)  # fmt: skip


def _uses_db(item: pytest.Item) -> bool:
    """Whether the test touches the database (pytest-django's marker or fixtures)."""
    names = set(getattr(item, "fixturenames", ()))
    return bool(item.get_closest_marker("django_db") or DATABASE_FIXTURES & names)


def _transactional(item: pytest.Item) -> bool:
    """Whether pytest-django runs the test in its transactional group (it flushes the tables)."""
    names = getattr(item, "fixturenames", ())
    marker = item.get_closest_marker("django_db")
    flagged = bool(
        marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))
    )
    return flagged or "transactional_db" in names or "live_server" in names


# Tests of the pure engines (attribution, insights and mix maths, the channel classifier, the
# demo's known truth): no Django, no database, no settings (lint-imports' "engines are pure"
# contract keeps Django out of the code they test). CI runs them once, on the embedded
# default: on PostgreSQL they could only give the same result (marker `pure`).
PURE_ENGINE_TESTS = (
    "attribution/tests/test_engine_", "insights/tests/test_engine.py", "mix/tests/test_engine",
    "mix/tests/test_demo_truth.py", "campaigns/tests/test_channeling.py",
)  # fmt: skip


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark the tests of the pure engines `pure` (before `-m` selects)."""
    root, path = Path(__file__).resolve().parent, Path(str(item.fspath)).resolve()
    if path.is_relative_to(root) and str(path.relative_to(root)).startswith(PURE_ENGINE_TESTS):
        item.add_marker(pytest.mark.pure)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order for parallel processes that finish together. pytest-django runs database tests,
    then transactional ones, then those without a database; the last come first here instead
    (the engines' statistical tests take up to half a minute each: at the end, one process
    would run them alone while the other waits), and tests marked `long` (the responsive walk:
    minutes each) start first among the transactional tests, so the processes share out the
    short tests after them.

    The fault suite (minutes, private servers) runs only when asked: `make fault`.
    """
    without_db = [item for item in items if not _uses_db(item)]
    if without_db:
        items[:] = without_db + [item for item in items if _uses_db(item)]
    long = [item for item in items if item.get_closest_marker("long") and _transactional(item)]
    if long:
        rest = [item for item in items if item not in long]
        first = next((i for i, item in enumerate(rest) if _transactional(item)), len(rest))
        items[:] = rest[:first] + long + rest[first:]
    if "fault" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="fault suite: run with `make fault` (pytest -m fault)")
    for item in items:
        if item.get_closest_marker("fault"):
            item.add_marker(skip)
