"""Private servers for fault injection: a PostgreSQL cluster and a Redis of our own.

Each lives in a temporary directory on a free loopback port, so stopping, freezing or
restarting them never touches the machine's shared PostgreSQL (5432) or Redis (6379).
Used by the fault suite (tests/test_fault.py, `make fault`) and `make bench --only outage`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path(os.environ.get("CLM_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready within {seconds:.0f} s")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivatePostgres:
    """initdb into a temp dir (as the postgres user when run as root), pg_ctl on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="clm-fault-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"

    def _as_postgres(self, *command: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                              "-w", "-t", "60", *args),
            check=True, capture_output=True,
        )  # fmt: skip

    def start(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o755)  # noqa: S103  # nosec B103 - the postgres user reads its socket dir
        subprocess.run(
            self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                              "-A", "trust", "--no-sync", "-E", "UTF8"),
            check=True, capture_output=True,
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=60 -c shared_buffers=64MB"
        )
        self._pg_ctl("-o", options, "start")
        _wait(lambda: _port_open(self.port), 90, "private PostgreSQL")
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc",
             "CREATE DATABASE clm_fault"],
            check=True, capture_output=True,
        )  # fmt: skip
        return self

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/clm_fault"

    def restart(self, mode: str = "immediate") -> float:
        """Restart (immediate = a crash: no checkpoint, WAL replay on start); returns seconds."""
        started = time.monotonic()
        self._pg_ctl("-m", mode, "restart")
        _wait(lambda: _port_open(self.port), 120, "private PostgreSQL after restart")
        return time.monotonic() - started

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """redis-server on a free port with an append-only file (what a broker must have: a
    message the outbox handed over survives a Redis restart)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="clm-fault-redis-"))
        self.proc: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.dir),
             "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait(lambda: _port_open(self.port), 60, "private Redis")
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """A clean stop (SIGTERM: the append-only file is complete)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(30)

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def app_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of the app processes under test."""
    env = dict(os.environ)
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CLM_ENV"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="clm.settings",
        DEBUG="false",
        DB_CONNECT_TIMEOUT="2",
        CLM_CAPTURE_RATE_PER_MINUTE="100000000",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=timeout,
    )  # fmt: skip
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


class Service:
    """One app process (gunicorn, celery worker, outbox relay) in its own process group."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.command, self.env = name, command, env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.killed = False  # on purpose: a supervisor leaves it down

    def start(self) -> Service:
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group: no goodbye, no acknowledgements."""
        self.killed = True
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def children(self) -> list[int]:
        if not self.proc:
            return []
        found = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(p) for p in found.stdout.split()]

    def stop(self) -> None:
        self.killed = True
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def gunicorn(env: dict[str, str], port: int, log_dir: Path, workers: int = 3) -> Service:
    return Service(
        "gunicorn",
        [str(ROOT / ".venv/bin/gunicorn"), "clm.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--timeout", "30", "--log-level", "warning"],
        env, log_dir,
    )  # fmt: skip


def celery_worker(
    env: dict[str, str], log_dir: Path, name: str, concurrency: int = 2,
    queues: str = "celery,interactive",
) -> Service:  # fmt: skip
    """A prefork worker; by default the default one (both queues, clm/celery.py), with
    queues="interactive" and concurrency=1 the dedicated worker of short jobs."""
    return Service(
        name,
        [sys.executable, "-m", "celery", "-A", "clm", "worker", "--pool=prefork",
         f"--concurrency={concurrency}", "-Q", queues, "--without-mingle", "--without-gossip",
         "--loglevel=WARNING", "-n", f"{name}-{os.getpid()}@%h"],
        env, log_dir,
    )  # fmt: skip


def outbox_relay(env: dict[str, str], log_dir: Path, name: str = "relay") -> Service:
    return Service(
        name, [sys.executable, "manage.py", "outbox_relay", "--interval", "0.5"], env, log_dir
    )


def wait_http(url: str, seconds: float = 180) -> None:
    import urllib.request

    def up() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2):  # nosec B310 - our loopback http URL
                return True
        except OSError as exc:
            return getattr(exc, "code", 0) in (200, 503)

    _wait(up, seconds, url)
