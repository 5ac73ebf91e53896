"""`make bench`: CLM's speed figures on PostgreSQL + Redis with gunicorn, as one table.

Every figure is the median of several rounds. Results are also written to
var/bench/results.json so runs can be compared. Load goes to loopback only.

    .venv/bin/python tests/benchmarks/run.py [--rounds 3] [--seconds 5] [--only capture,...]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clm_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.benchmarks.settings_bench"

Row = tuple[str, str, str]  # (figure, value, note)
SECTIONS: dict[str, Callable[[argparse.Namespace], list[Row]]] = {}
OPT_IN = {"xlarge"}  # sections only `--only` runs: the 10x seed takes about an hour once


def section(name: str) -> Callable:
    def register(fn: Callable[[argparse.Namespace], list[Row]]) -> Callable:
        SECTIONS[name] = fn
        return fn

    return register


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_database() -> None:
    """Create the benchmark database if missing, migrate it."""
    import psycopg2
    from django.conf import settings

    db = settings.DATABASES["default"]
    conn = psycopg2.connect(
        dbname="postgres", user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{db["NAME"]}"')
    conn.close()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_bare_insert (id bigserial PRIMARY KEY, "
            "email text, payload jsonb, created_at timestamptz)"
        )


class Gunicorn:
    """gunicorn serving the app on a free loopback port, for the duration of a `with`."""

    def __init__(self, workers: int = 4, boot_seconds: float = 120) -> None:
        self.port = _free_port()
        self.workers = workers
        self.boot_seconds = boot_seconds
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        logs = ROOT / "var" / "bench"
        logs.mkdir(parents=True, exist_ok=True)
        self.log = open(logs / "gunicorn.log", "a")  # closed in __exit__
        self.proc = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"), "clm.wsgi:application",
                "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                "--worker-class", "sync", "--log-level", "warning",
            ],
            cwd=ROOT, env=dict(os.environ), stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + self.boot_seconds
        while time.monotonic() < deadline:
            try:
                # Our own gunicorn on a loopback http:// address, never a user-given URL.
                health = f"{self.url}/healthz"
                with urllib.request.urlopen(health, timeout=2) as response:  # nosec B310
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not answer /healthz within {self.boot_seconds:.0f} s")

    def __exit__(self, *exc: object) -> None:
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


class Deployed:
    """What runs beside gunicorn in production: the Celery workers (the default one with beat:
    the page-view drainer, the outbox beat job; the `interactive` one) and the outbox relay
    process."""

    def __init__(self, beat: bool = True) -> None:
        self.beat = beat

    def __enter__(self) -> Deployed:
        from tests import faultkit
        from tests.benchmarks.bench_attribution import Worker

        logs = ROOT / "var" / "bench"
        self.worker = Worker(beat=self.beat).__enter__()
        self.relay = faultkit.outbox_relay(dict(os.environ), logs).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.relay.stop()
        self.worker.__exit__(*exc)


def _dataset() -> str:
    from leads.models import Lead

    return f"{Lead.objects.count():,} leads in the database"


def _median_load(url: str, body_for: Callable[[int], bytes], args: argparse.Namespace) -> dict:
    from tests.benchmarks.loadgen import run_load

    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    rounds = [
        run_load(url, body_for, headers=headers, threads=args.threads, seconds=args.seconds)
        for _ in range(args.rounds)
    ]
    bad = sum(r.errors for r in rounds)
    return {
        "rps": statistics.median(r.rps for r in rounds),
        "p50": statistics.median(r.p50_ms for r in rounds),
        "p99": statistics.median(r.p99_ms for r in rounds),
        "errors": bad,
        "statuses": rounds[-1].statuses,
    }


@section("capture")
def bench_capture(args: argparse.Namespace) -> list[Row]:
    """Capture requests/s under gunicorn on PostgreSQL against a bare one-INSERT view (and one
    making as many statements as a capture, raw, in one transaction)."""
    from leads.models import CaptureForm
    from tests.benchmarks.bench_urls import CAPTURE_STATEMENTS

    form, _ = CaptureForm.objects.get_or_create(
        name="Benchmark form", defaults={"min_fill_seconds": 0}
    )
    run_id = int(time.time())

    def capture_body(i: int) -> bytes:
        return json.dumps({
            "email": f"bench{run_id}-{i}@example.com", "first_name": "Bench", "company": "Acme",
            "utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring",
            "landing_url": "https://www.example.com/?gclid=abc", "referrer": "https://www.google.com/",
            # One browser per lead, as in life (ids shared across runs made each visitor a
            # stitch of hundreds of leads, and capture slower with every run).
            "visitor_id": f"benchvisitor{run_id}-{i:07d}",
        }).encode()  # fmt: skip

    def bare_body(i: int) -> bytes:
        return json.dumps(
            {"email": f"bare{run_id}-{i}@example.com", "utm_source": "google"}
        ).encode()

    dataset = _dataset()
    with Deployed(), Gunicorn(workers=args.workers) as server:
        bare = _median_load(f"{server.url}/bench/bare-insert/", bare_body, args)
        floor = _median_load(f"{server.url}/bench/bare-statements/", bare_body, args)
        capture = _median_load(f"{server.url}{form.url}", capture_body, args)
        alone = _median_load(f"{server.url}{form.url}", lambda i: capture_body(10**6 + i),
                             argparse.Namespace(**{**vars(args), "threads": 1}))  # fmt: skip
    ratio = capture["rps"] / bare["rps"] if bare["rps"] else 0
    floor_ratio = floor["rps"] / bare["rps"] if bare["rps"] else 0
    at = f"{args.threads} connections, {dataset}"
    return [
        ("capture req/s", f"{capture['rps']:.0f}", f"{_latency(capture)}; {at}"),
        ("bare INSERT view req/s", f"{bare['rps']:.0f}", f"{_latency(bare)}; {at}"),
        ("capture / bare INSERT", f"{ratio:.2f}", "ratio of req/s (target >= 0.45)"),
        (
            f"{CAPTURE_STATEMENTS} raw INSERTs, one transaction, req/s",
            f"{floor['rps']:.0f}",
            f"{_latency(floor)}; / bare INSERT {floor_ratio:.2f}: the floor of any capture "
            "that stores its rows in the request",
        ),
        ("capture, one client alone", f"{alone['p50']:.1f} ms", f"p50; {_latency(alone)}"),
    ]


def _latency(figures: dict) -> str:
    return f"p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms, non-2xx {figures['errors']}"


@section("outage")
def bench_outage(args: argparse.Namespace) -> list[Row]:
    """Capture latency and req/s with the app's Redis up, stopped and frozen (SIGSTOP).

    Uses a private redis-server on a free port (tests/faultkit.py), never the shared one; an
    outbox relay runs beside gunicorn so what queued during the outage is sent afterwards.
    """
    from leads.models import CaptureForm
    from outbox.models import OutboxMessage
    from tests import faultkit

    form, _ = CaptureForm.objects.get_or_create(
        name="Benchmark form", defaults={"min_fill_seconds": 0}
    )
    run_id = int(time.time())

    def body(i: int) -> bytes:
        return json.dumps({
            "email": f"outage{run_id}-{i}@example.com", "first_name": "Bench",
            "utm_source": "google", "utm_medium": "cpc", "submission_id": f"o{run_id}-{i}",
        }).encode()  # fmt: skip

    redis = faultkit.PrivateRedis().start()
    env = dict(os.environ, REDIS_URL=redis.url)
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    port = faultkit.free_port()
    web = faultkit.gunicorn(env, port, logs, workers=args.workers).start()
    relay = faultkit.outbox_relay(env, logs).start()
    rows: list[Row] = []
    try:
        faultkit.wait_http(f"http://127.0.0.1:{port}/healthz")
        url = f"http://127.0.0.1:{port}{form.url}"
        from tests.benchmarks.loadgen import run_load

        warm = {"Content-Type": "application/json", "Accept": "application/json"}
        run_load(url, lambda i: body(10**7 + i), headers=warm, threads=args.threads, seconds=2)
        phases = [
            ("Redis up", lambda: None, lambda: None),
            ("Redis stopped", redis.stop, redis.start),
            ("Redis frozen (SIGSTOP)", redis.freeze, redis.thaw),
        ]
        for label, fail, recover in phases:
            fail()
            try:
                figures = _median_load(url, body, args)
            finally:
                recover()
            rows.append((f"capture, {label}: req/s", f"{figures['rps']:.0f}", _latency(figures)))
        started = time.monotonic()
        while OutboxMessage.objects.filter(status="pending").exists():
            if time.monotonic() - started > 120:
                break
            time.sleep(0.5)
        left = OutboxMessage.objects.filter(status="pending").count()
        rows.append((
            "outbox drained after the outages", f"{time.monotonic() - started:.1f} s",
            f"{left} messages still pending (relay: manage.py outbox_relay)",
        ))  # fmt: skip
    finally:
        relay.stop()
        web.stop()
        redis.close()
    return rows


@section("track")
def bench_track(args: argparse.Namespace) -> list[Row]:
    """Page-view requests/s (one event per request) against the bare view, then the drain.

    The load runs with no drainer, so the buffer holds every accepted request; then one
    drainer (leads.pageviews.page_views_drain, as the worker runs it) stores them all, timed.
    """
    from django.conf import settings

    from leads import pageviews

    run_id = int(time.time())

    def body(i: int) -> bytes:
        return json.dumps({
            "visitor_id": f"trackvisitor{run_id}-{i % 2000:06d}", "title": "Pricing",
            "url": f"https://www.example.com/page/{i % 50}?utm_source=newsletter&utm_medium=email",
            "referrer": "https://www.example.com/",
        }).encode()  # fmt: skip

    def bare_body(i: int) -> bytes:
        return body(i)

    dataset = _dataset()
    buffered = settings.CLM_TRACK_BUFFER
    if buffered:
        pageviews.page_views_drain()  # start from an empty buffer
    with Gunicorn(workers=args.workers) as server:
        bare = _median_load(f"{server.url}/bench/bare-insert/", bare_body, args)
        arrival_started = time.perf_counter()
        track = _median_load(f"{server.url}/api/v1/track/", body, args)
        arrival_seconds = time.perf_counter() - arrival_started
    ratio = track["rps"] / bare["rps"] if bare["rps"] else 0
    at = f"{args.threads} connections, {dataset}"
    rows = [
        ("track req/s", f"{track['rps']:.0f}", f"{_latency(track)}; {at}"),
        ("bare INSERT view req/s (track)", f"{bare['rps']:.0f}", _latency(bare)),
        ("track / bare INSERT", f"{ratio:.2f}", "ratio of req/s (target >= 0.6)"),
    ]
    if buffered:
        waiting = pageviews.page_views_buffered()
        drain_started = time.perf_counter()
        drained = pageviews.page_views_drain(max_seconds=600)
        drain_seconds = time.perf_counter() - drain_started
        arrival = waiting / arrival_seconds if arrival_seconds else 0
        rate = drained / drain_seconds if drain_seconds else 0
        rows += [
            ("page views drained/s", f"{rate:,.0f}",
             f"{drained:,} buffered requests stored in {drain_seconds:.1f} s by one drainer "
             f"(batches of {settings.CLM_TRACK_BATCH})"),
            ("drained / arrived", f"{rate / arrival if arrival else 0:.0f}x",
             f"they arrived at {arrival:,.0f}/s (all rounds); target >= 20x"),
        ]  # fmt: skip
    return rows


@section("classify")
def bench_classify(args: argparse.Namespace) -> list[Row]:
    """Channel classifications per second on one core (pure classifier, default rules)."""
    from tests.benchmarks.bench_classify import run

    figures = run(count=100_000, rounds=max(3, args.rounds))
    rate = figures.get("median_per_second") or figures.get("per_second") or 0
    return [("classifications/s (1 core)", f"{rate:,.0f}", "target: well above 50,000")]


@section("engine")
def bench_engine(args: argparse.Namespace) -> list[Row]:
    """The pure attribution engine on 1,000,000 synthetic touches, all models."""
    import tracemalloc

    from attribution.engine import MODELS, attribute_all
    from attribution.engine.synthetic import generate

    touches, conversions = generate(100_000, 10.0, 12, seed=7)
    times = []
    peak = 0
    for _ in range(args.rounds):
        tracemalloc.start()
        started = time.perf_counter()
        credits = attribute_all(touches, conversions, MODELS)
        times.append(time.perf_counter() - started)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    return [
        (
            f"engine, {len(MODELS)} models, {len(touches):,} touches",
            f"{statistics.median(times):.2f} s",
            f"{len(conversions):,} conversions, {len(credits):,} credit rows, "
            f"peak {peak / 2**20:.0f} MiB",
        ),
    ]


@section("mix")
def bench_mix(args: argparse.Namespace) -> list[Row]:
    """The marketing mix model: a fit on 2 years x 10 channels of weekly data (the default
    sampler length, all cores the machine gives one process), then the budget optimiser."""
    from mix import engine

    truth = engine.simulate(seed=7, weeks=104, channels=10)
    fits, splits = [], []
    for _ in range(args.rounds):
        started = time.perf_counter()
        mix = engine.fit(truth.spend, truth.outcome, seed=7)
        fits.append(time.perf_counter() - started)
        current = engine.recent_spend(mix)
        started = time.perf_counter()
        proposal = engine.optimise(
            mix, total=float(current.sum()), current=current, lower=current * 0.5,
            upper=current * 2,
        )  # fmt: skip
        splits.append(time.perf_counter() - started)
    table = engine.roas_table(mix)
    true = truth.roas.reindex(table.index)
    inside = int(((table.roas_low <= true) & (true <= table.roas_high)).sum())
    gain = truth.weekly_outcome(proposal.proposed) - truth.weekly_outcome(current)
    rows = []
    try:
        from mix.tests.pymc_reference import pymc_marketing_roas
    except ImportError:  # the compare group is not installed
        pymc_marketing_roas = None
    if pymc_marketing_roas is not None:
        started = time.perf_counter()
        theirs = pymc_marketing_roas(truth, seed=7)
        elapsed = time.perf_counter() - started
        covered = int(((theirs.roas_low <= true) & (true <= theirs.roas_high)).sum())
        rows.append(
            (
                "pymc-marketing fit, same weeks (NUTS, 2 chains x 1,000 steps, 2 cores)",
                f"{elapsed:.1f} s",
                f"ours / theirs: {statistics.median(fits) / elapsed:.2f}x the time; true ROAS "
                f"inside its 90% interval for {covered}/10 channels",
            )
        )
    return [
        (
            "mix model fit, 104 weeks x 10 channels",
            f"{statistics.median(fits):.1f} s",
            f"{len(mix.posterior.draws):,} draws, R-hat max {mix.posterior.rhat_max:.2f}, "
            f"true ROAS inside the 90% interval for {inside}/10 channels; target < 5 min",
        ),
        (
            "mix budget optimiser (SLSQP, 500 draws)",
            f"{statistics.median(splits) * 1000:.0f} ms",
            f"true weekly outcome {gain:+,.0f} vs the current split",
        ),
        *rows,
    ]


@section("libraries")
def bench_libraries(args: argparse.Namespace) -> list[Row]:
    """Engine-only time against marketing-attribution-models and channelattribution."""
    from tests.benchmarks.bench_libraries import run

    return run(rounds=args.rounds)


@section("large")
def bench_large(args: argparse.Namespace) -> list[Row]:
    """The large dataset: seed (once), read, full runs, incremental refresh, dashboards."""
    figures: dict = {}
    rows = _dataset_rows(args, args.large_leads, figures, refresh=True)
    _keep_figures("large", figures)
    return rows


@section("xlarge")
def bench_xlarge(args: argparse.Namespace) -> list[Row]:
    """The 10x dataset (1,000,000 leads, about 10,000,000 touchpoints) in its own database:
    the large section's figures (no refresh rows), each beside the large one with the ratio."""
    from django.conf import settings

    figures: dict = {}
    rows = _dataset_rows(args, settings.BENCH_DATASETS["xlarge"][1], figures, refresh=False)
    _keep_figures("xlarge", figures)
    path = ROOT / "var" / "bench" / "figures-large.json"
    if not path.exists():
        return [*rows, ("xlarge / large", "n/a", "no large figures: run --only large first")]
    return rows + _beside(figures, json.loads(path.read_text()))


def _dataset_rows(
    args: argparse.Namespace, leads: int, figures: dict, *, refresh: bool
) -> list[Row]:
    """Seed (once), read the journeys, a full run in one process and on 2 Celery workers, the
    deal-won refreshes (with `refresh`), the dashboards; `figures` gets the numbers."""
    from tests.benchmarks import bench_attribution as large

    figures["load_before"] = os.getloadavg()
    rows = large.ensure_large_dataset(leads, figures)
    read_rows, read_seconds = large.read_touches(args, figures)
    rows += read_rows
    rows += large.full_run_in_process(args, read_seconds, figures)
    with large.Worker():
        rows += large.full_run_on_workers(args, figures)
    if refresh:
        # As deployed: the relay process hands the deal's refresh to the worker (settings_bench
        # leaves the outbox to it, as docker compose does).
        with Deployed(beat=False):
            rows += large.incremental_refresh(args)
        rows += large.refresh_in_process(args)
    rows += large.dashboard_times(args, figures)
    figures["load_after"] = os.getloadavg()
    rows.append(("machine load (1, 5, 15 min)", " / ".join(f"{x:.1f}" for x in figures[
        "load_after"]), "uptime's load average after the section (2 cores, shared)"))  # fmt: skip
    return rows


def _keep_figures(dataset: str, figures: dict) -> None:
    """The section's numbers in var/bench/figures-<dataset>.json, for the other to compare."""
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    figures = {**figures, "at": datetime.now(UTC).isoformat()}
    (out / f"figures-{dataset}.json").write_text(json.dumps(figures, indent=2, default=str))


def _beside(xl: dict, large: dict) -> list[Row]:
    """xlarge against large, figure by figure: the values and xlarge / large."""

    def ratio(key: str, unit: str, scale: float = 1.0, digits: int = 1) -> Row | None:
        if key not in xl or key not in large:
            return None
        a, b = xl[key] * scale, large[key] * scale
        return (f"xlarge / large: {key.replace('_', ' ')}", f"{a / b:.2f}x" if b else "n/a",
                f"{a:,.{digits}f} {unit} vs {b:,.{digits}f} {unit}")  # fmt: skip

    rows = [
        ratio("leads", "leads", digits=0), ratio("touches", "touchpoints", digits=0),
        ratio("journey_touches", "journey touches", digits=0),
        ratio("db_bytes", "GiB", 1 / 2**30), ratio("seed_seconds", "s", digits=0),
        ratio("read_seconds", "s", digits=2), ratio("run_seconds", "s"),
        ratio("run_rss_mib", "MiB", digits=0), ratio("workers_seconds", "s"),
    ]  # fmt: skip
    for name in ("marketing dashboard", "sales dashboard", "ROI API"):
        if name in xl and name in large:
            for kind in ("warm", "after_lead", "cold", "settled"):
                if kind not in xl[name] or kind not in large[name]:
                    continue
                a, b = xl[name][kind], large[name][kind]
                rows.append((f"xlarge / large: {name}, {kind}", f"{a / b:.2f}x" if b else "n/a",
                             f"{a:.0f} ms vs {b:.0f} ms"))  # fmt: skip
    load = large.get("load_after", ["?"])[0]
    rows.append(("large figures from", large.get("at", "?")[:16],
                 f"load {load} then; var/bench/figures-large.json"))  # fmt: skip
    return [row for row in rows if row is not None]


@section("dashboards")
def bench_dashboards(args: argparse.Namespace) -> list[Row]:
    """Dashboard server times only, on the large dataset (seeded and run once if missing)."""
    from tests.benchmarks import bench_attribution as large

    rows = large.ensure_large_dataset(args.large_leads)
    rows += large.ensure_finished_run(args)
    rows += large.dashboard_times(args)
    return rows


@section("firstpaint")
def bench_first_paint(args: argparse.Namespace) -> list[Row]:
    """Time to first paint of the marketing dashboard in Chromium, demo data, warm cache.

    gunicorn serves the app; a marketer logs in through the form; one visit warms the browser
    cache (plotly.min.js) and the dashboard cache, then each round is a fresh navigation whose
    first-contentful-paint the browser reports. Run alone: make bench BENCH_ARGS="--only
    firstpaint".
    """
    from django.core.management import call_command
    from playwright.sync_api import sync_playwright

    from attribution.models import AttributionRun
    from leads.models import Lead
    from tests.benchmarks.bench_attribution import Worker

    if not Lead.objects.exists():
        call_command("seed_demo", verbosity=0)
    if not AttributionRun.objects.filter(status="done").exists():
        with Worker():  # the demo's attribution run was queued for a worker
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                if AttributionRun.objects.filter(status="done").exists():
                    break
                time.sleep(2)
    chromium = os.environ.get("CLM_CHROMIUM", "/usr/bin/chromium")
    paints, loads, charts, served = [], [], [], []
    with Gunicorn(workers=2, boot_seconds=120) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.goto(f"{server.url}/accounts/login/")
        page.fill("#id_username", "marketer")
        page.fill("#id_password", "clm-demo")
        page.click("main button[type=submit]")
        page.wait_for_load_state("networkidle")
        url = f"{server.url}/dashboards/marketing/"
        page.goto(url)  # warm: browser cache, dashboard cache
        page.wait_for_selector("[data-figure] .main-svg", timeout=60_000)
        for _ in range(max(args.rounds, 5)):
            page.goto("about:blank")
            started = time.perf_counter()
            page.goto(url, wait_until="commit")
            page.wait_for_selector("[data-figure] .main-svg", timeout=60_000)
            charts.append(time.perf_counter() - started)
            timing = page.evaluate(
                "() => ({fcp: (performance.getEntriesByName('first-contentful-paint')[0]"
                " || {}).startTime, load: performance.getEntriesByType('navigation')[0]"
                ".domContentLoadedEventEnd, served: performance.getEntriesByType('navigation')[0]"
                ".responseEnd})"
            )
            paints.append(timing["fcp"] / 1000)
            loads.append(timing["load"] / 1000)
            served.append(timing["served"] / 1000)
        browser.close()
    return [
        (
            "marketing dashboard: first paint",
            f"{statistics.median(paints):.2f} s",
            "Chromium, demo data, warm cache, loopback (first-contentful-paint); target < 1 s",
        ),
        (
            "marketing dashboard: HTML received",
            f"{statistics.median(served):.2f} s",
            "responseEnd: the server's part of the first paint (dashboard cache warm)",
        ),
        (
            "marketing dashboard: DOM ready",
            f"{statistics.median(loads):.2f} s",
            "domContentLoadedEventEnd (plotly is requested after the first paint)",
        ),
        (
            "marketing dashboard: first chart drawn",
            f"{statistics.median(charts):.2f} s",
            "from navigation to the first plotly chart in the viewport",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--large-leads", type=int, default=100_000, help="leads in the large dataset"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated sections: " + ", ".join(SECTIONS) + " (xlarge only alone, never "
        "by default: 1,000,000 leads in the database <bench db>_xl)",
    )
    args = parser.parse_args()
    chosen = [s for s in args.only.split(",") if s] or [s for s in SECTIONS if s not in OPT_IN]
    if "xlarge" in chosen:
        if chosen != ["xlarge"]:
            parser.error("xlarge runs alone (its own database): --only xlarge")
        os.environ["CLM_BENCH_DATASET"] = "xlarge"  # settings_bench: the database <name>_xl
    subprocess.run(["bash", str(ROOT / "scripts/services-up.sh")], check=True, capture_output=True)
    import django

    django.setup()
    ensure_database()
    results: list[Row] = []
    for name in chosen:
        print(f"... {name}", file=sys.stderr, flush=True)
        results += SECTIONS[name](args)
    width = max(len(r[0]) for r in results)
    vwidth = max(len(r[1]) for r in results)
    print(f"\nCLM benchmarks ({os.cpu_count()} cores, {args.rounds} rounds, median of rounds)")
    print(f"{'figure':<{width}}  {'value':>{vwidth}}  note")
    print(f"{'-' * width}  {'-' * vwidth}  ----")
    for figure, value, note in results:
        print(f"{figure:<{width}}  {value:>{vwidth}}  {note}")
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    record = {
        "at": datetime.now(UTC).isoformat(),
        "cores": os.cpu_count(),
        "rounds": args.rounds,
        "rows": [{"figure": f, "value": v, "note": n} for f, v, n in results],
    }
    (out / "results.json").write_text(json.dumps(record, indent=2))
    print(f"\nwritten to {out / 'results.json'}")


if __name__ == "__main__":
    main()
