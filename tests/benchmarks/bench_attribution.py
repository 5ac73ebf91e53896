"""Benchmark sections on the large dataset: seeding, reading, full run, refresh, dashboards."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
Row = tuple[str, str, str]


def ensure_large_dataset(leads: int, figures: dict[str, Any] | None = None) -> list[Row]:
    """Seed `leads` demo leads (about 10 touchpoints each) unless the database has them.

    The seeding time is kept in var/bench/ per database, so a reused dataset still reports it."""
    from django.core.management import call_command
    from django.db import connection

    from leads.models import Lead, Touchpoint

    figures = {} if figures is None else figures
    stored = ROOT / "var" / "bench" / f"seed-{connection.settings_dict['NAME']}.json"
    have = Lead.objects.count()
    if have >= leads * 0.95:
        touches = Touchpoint.objects.count()
        rows = [("dataset", f"{have:,} leads", f"{touches:,} touchpoints (reused)")]
        seeded = json.loads(stored.read_text()) if stored.exists() else None
        if seeded:
            rows.append(_seed_row(seeded, "when it was seeded"))
            figures["seed_seconds"] = seeded["seconds"]
    else:
        _wipe()
        call_command("seed_demo", "--users-only")
        started = time.perf_counter()
        call_command("seed_demo", "--leads", str(leads), "--seed", "11", "--no-run")
        seconds = time.perf_counter() - started
        have, touches = Lead.objects.count(), Touchpoint.objects.count()
        seeded = {"seconds": seconds, "touches": touches, "load": os.getloadavg()[0]}
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_text(json.dumps(seeded))
        figures["seed_seconds"] = seconds
        rows = [("dataset", f"{have:,} leads", f"{touches:,} touchpoints"), _seed_row(seeded, "")]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
    figures.update(leads=have, touches=touches, db_bytes=size)
    note = "pg_database_size before this section's runs (with the runs of earlier sections)"
    rows.append(("database size", f"{size / 2**30:.1f} GiB", note))
    return rows


def _seed_row(seeded: dict[str, Any], when: str) -> Row:
    rate = seeded["touches"] / seeded["seconds"]
    note = f"{rate:,.0f} touchpoints/s; load average {seeded.get('load', 0):.1f} {when}"
    return ("seed_demo (COPY)", f"{seeded['seconds']:.0f} s", note.strip())


def _wipe() -> None:
    from django.db import connection

    tables = [
        "attribution_creditledger", "attribution_attributionresult", "attribution_runpartition",
        "attribution_attributionrun", "crm_activity", "crm_leadfeedback", "crm_leadhistory",
        "crm_deal", "leads_touchpoint", "leads_submission", "leads_visitor", "leads_lead",
        "campaigns_spend",
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


def read_touches(
    args: argparse.Namespace, figures: dict[str, Any] | None = None
) -> tuple[list[Row], float]:
    """Time to read every journey touchpoint out of PostgreSQL into a DataFrame."""
    from django.utils import timezone

    from attribution.selectors import journey_touches

    times, rows = [], 0
    for _ in range(args.rounds):
        started = time.perf_counter()
        frame = journey_touches(lead_from=0, lead_to=None, cutoff=timezone.now())
        times.append(time.perf_counter() - started)
        rows = len(frame)
    median = statistics.median(times)
    if figures is not None:
        figures.update(read_seconds=median, journey_touches=rows)
    return [("read journey touchpoints", f"{median:.2f} s", f"{rows:,} rows into pandas")], median


def full_run_in_process(
    args: argparse.Namespace, read_seconds: float, figures: dict[str, Any] | None = None
) -> list[Row]:
    """A full run of all models, eager in a fresh process: wall time and peak memory."""
    code = (
        "import django, os, time, resource, json;"
        "os.environ['DJANGO_SETTINGS_MODULE']='tests.benchmarks.settings_bench';"
        "django.setup();"
        "from clm.celery import app; app.conf.task_always_eager=True;"
        "from attribution import services;"
        "t=time.perf_counter(); run=services.run_create(start=False);"
        "from attribution.tasks import attribution_run; attribution_run.delay(run_id=run.pk);"
        "run.refresh_from_db();"
        "print(json.dumps({'s': time.perf_counter()-t, 'status': run.status,"
        " 'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 'timings': run.timings}))"
    )
    times, peaks, timings = [], [], {}
    for _ in range(args.rounds):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ),
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if result["status"] != "done":
            raise RuntimeError(f"full run ended {result['status']}: {out.stderr[-2000:]}")
        times.append(result["s"])
        peaks.append(result["rss"] / 1024)
        timings = result["timings"]
    median = statistics.median(times)
    if figures is not None:
        figures.update(run_seconds=median, run_rss_mib=max(peaks), run_timings=timings)
    return [
        ("full run, 10 models, 1 process", f"{median:.1f} s", f"peak RSS {max(peaks):,.0f} MiB"),
        ("full run / read touchpoints", f"{median / read_seconds:.1f}x", "ratio of times"),
        *run_breakdown(timings),
    ]


def run_breakdown(timings: dict[str, Any]) -> list[Row]:
    """Where a full run's time went (last round): read, group, each model and milestone,
    write, summary. Partition steps are summed over partitions (CPU time of the stages)."""
    steps: dict[str, float] = timings.get("steps", {})
    models: dict[str, float] = {}
    milestones: dict[str, float] = {}
    grouping = 0.0
    for name, seconds in steps.items():
        parts = name.split(" ")
        if len(parts) != 3:  # read, group results and ledger, write
            continue
        _, milestone, step = parts
        milestones[milestone] = milestones.get(milestone, 0.0) + seconds
        if step in ("journeys", "paths"):
            grouping += seconds
        else:
            models[step] = models.get(step, 0.0) + seconds
    rows: list[Row] = [
        ("  read (journey touches, conversions)", f"{steps.get('read', 0):.2f} s", "all tasks"),
        ("  group (journeys and paths)", f"{grouping:.2f} s", "per milestone, count + credit"),
    ]
    rows += [
        (f"  model {model}", f"{seconds:.2f} s", "counts + credits, all milestones")
        for model, seconds in sorted(models.items(), key=lambda item: -item[1])
    ]
    rows += [
        (f"  milestone {milestone}", f"{seconds:.2f} s", "group + models")
        for milestone, seconds in sorted(milestones.items())
    ]
    rows += [
        ("  results and ledger rows", f"{steps.get('group results and ledger', 0):.2f} s",
         "grouped per partition, key and day"),
        ("  write (COPY)", f"{steps.get('write', 0):.2f} s", "results + ledger + per-lead credits"),
        ("    of which per-lead credits", f"{steps.get('write of which lead credits', 0):.2f} s",
         "LeadCredit rows: deleted and written"),
        ("  reduce (global effects)", f"{timings.get('reduce_seconds', 0):.2f} s", "Markov"),
        ("  summary", f"{timings.get('summary_seconds', 0):.2f} s", "day and month rows"),
    ]  # fmt: skip
    return rows


def ensure_finished_run(args: argparse.Namespace) -> list[Row]:
    """One finished full run for the dashboards to read; made in process if there is none."""
    from attribution.models import AttributionRun

    if AttributionRun.objects.filter(status="done").exists():
        return []
    return full_run_in_process(argparse.Namespace(**{**vars(args), "rounds": 1}), 1.0)[:1]


class Worker:
    """The Celery workers of a deployment on the bench broker: the default one (prefork, 2
    processes, both queues) and the dedicated one of short jobs (`-Q interactive`, 1 process;
    clm/celery.py); with `beat`, the beat schedule runs inside the default one (celery worker
    -B), as in production."""

    def __init__(self, beat: bool = False) -> None:
        self.beat = beat

    def __enter__(self) -> Worker:
        from clm.celery import app

        # Jobs an earlier section queued (an xlarge run's follow-ups, say) would run here
        # against this section's database and take its cores: every section starts empty.
        app.control.purge()
        log = ROOT / "var" / "bench" / "worker.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.out = open(log, "w")
        self.out_interactive = open(log.with_name("worker-interactive.log"), "w")
        common = [sys.executable, "-m", "celery", "-A", "clm", "worker", "--without-mingle",
                  "--without-gossip", "--loglevel=WARNING"]  # fmt: skip
        self.proc = subprocess.Popen(
            [*common, "--concurrency=2", "-Q", "celery,interactive", "-n", "bench@%h",
             *(["-B", "-s", str(log.parent / "celerybeat-schedule")] if self.beat else [])],
            cwd=ROOT, env=dict(os.environ), stdout=self.out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.interactive = subprocess.Popen(
            [*common, "--concurrency=1", "-Q", "interactive", "-n", "bench-interactive@%h"],
            cwd=ROOT, env=dict(os.environ), stdout=self.out_interactive, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(app.control.ping(timeout=1.0)) >= 2:
                return self
        raise RuntimeError("the Celery workers did not both answer within 60 s")

    def __exit__(self, *exc: object) -> None:
        for proc in (self.proc, self.interactive):
            proc.terminate()
        for proc in (self.proc, self.interactive):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.out.close()
        self.out_interactive.close()


def full_run_on_workers(
    args: argparse.Namespace, figures: dict[str, Any] | None = None
) -> list[Row]:
    """A full run through a real Celery worker (2 processes), 4 partitions."""
    from attribution import services
    from attribution.models import AttributionRun

    times = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        run = services.run_create()
        while True:
            run.refresh_from_db()
            if run.status in (AttributionRun.Status.DONE, AttributionRun.Status.FAILED):
                break
            time.sleep(0.2)
        if run.status != "done":
            raise RuntimeError(f"run {run.pk} failed: {run.error}")
        times.append(time.perf_counter() - started)
    parts = run.partitions.count()
    tasks = len(services.run_batches(run=run))
    if figures is not None:
        figures.update(workers_seconds=statistics.median(times), partitions=parts, tasks=tasks)
    return [
        (
            "full run on Celery (2 workers)",
            f"{statistics.median(times):.1f} s",
            f"{tasks} tasks a stage (sized by touches) over {parts} partitions of <= 5,000 leads",
        )
    ]


def incremental_refresh(args: argparse.Namespace) -> list[Row]:
    """Time from a deal marked won until the dashboard's data reflects it."""
    from django.core.cache import cache
    from django.db import transaction
    from django.db.models import Max

    from crm.hooks import REFRESH_TASK
    from crm.models import Deal
    from crm.services import deal_close
    from outbox.models import OutboxMessage

    times = []
    # One round more than timed: the first wakes the freshly started worker and relay (their
    # first task imports and connects), which is start-up, not a refresh.
    for round_ in range(args.rounds + 1):
        deal = Deal.objects.filter(stage__is_won=False, stage__is_lost=False).select_related("lead")
        deal = deal.order_by("id").first()
        if deal is None:
            return [("incremental refresh", "n/a", "no open deal left")]
        before = cache.get("attribution:refreshed-at")
        queued = OutboxMessage.objects.aggregate(m=Max("id"))["m"] or 0
        started = time.perf_counter()
        with transaction.atomic():
            deal_close(deal=deal, won=True, by=None)
        # Done when every refresh the close queued has run (a close may queue more than one;
        # a late one must not count for the next round) and the dashboards' mark moved.
        refreshes = OutboxMessage.objects.filter(pk__gt=queued, task=REFRESH_TASK)
        while (
            cache.get("attribution:refreshed-at") == before
            or refreshes.exclude(status=OutboxMessage.Status.DONE).exists()
        ):
            if time.perf_counter() - started > 120:
                raise RuntimeError("no refresh within 120 s")
            time.sleep(0.02)
        if round_:
            times.append(time.perf_counter() - started)
    return [
        (
            "deal won -> dashboard data",
            f"{statistics.median(times):.2f} s",
            "through the outbox and a Celery worker: per-lead refresh of each scope's run",
        )
    ]


def refresh_in_process(args: argparse.Namespace) -> list[Row]:
    """A deal won, then its refresh timed in this process: per lead (what the task runs), the
    whole partition recomputed as before for comparison, and the per-lead refresh again with
    nothing new. The deal is changed through the ORM, so no task is queued for it."""
    from django.db.models import Q
    from django.utils import timezone

    from attribution import selectors, services
    from attribution.models import LeadCredit, LeadMark, RunPartition
    from crm.models import Deal, PipelineStage

    run = selectors.latest_run()
    if run is None:
        return [("deal won -> refreshed credits, in process", "n/a", "no finished run")]
    won = PipelineStage.objects.filter(is_won=True).order_by("order", "id").first()
    per_lead, partition, unchanged, steps, written = [], [], [], {}, {}
    part = None
    for _ in range(args.rounds):
        deal = (
            Deal.objects.filter(stage__is_won=False, stage__is_lost=False)
            .filter(Q(opportunity_created_at__isnull=False))
            .order_by("id")
            .first()
        )
        if deal is None:
            return [("deal won -> refreshed credits, in process", "n/a", "no open deal left")]
        Deal.objects.filter(pk=deal.pk).update(stage=won, closed_at=timezone.now())
        started = time.perf_counter()
        services.refresh_lead(lead_id=deal.lead_id)
        per_lead.append(time.perf_counter() - started)
        part = (
            RunPartition.objects.filter(run=run, lead_id_from__lte=deal.lead_id)
            .order_by("-lead_id_from")
            .first()
        )
        result = services.lead_credit_refresh(
            run=run, part=part, lead_id=deal.lead_id, cutoff=timezone.now()
        )
        unchanged.append(result["seconds"])
        written = {k: v for k, v in result.items() if k not in ("timings", "seconds")}
        # The steps of a refresh that moved something: undo the win, re-credit, time the win.
        Deal.objects.filter(pk=deal.pk).update(stage=deal.stage, closed_at=deal.closed_at)
        services.lead_credit_refresh(
            run=run, part=part, lead_id=deal.lead_id, cutoff=timezone.now()
        )
        Deal.objects.filter(pk=deal.pk).update(stage=won, closed_at=timezone.now())
        steps = services.lead_credit_refresh(
            run=run, part=part, lead_id=deal.lead_id, cutoff=timezone.now()
        )
        started = time.perf_counter()
        services.partition_credit(partition_id=part.pk, cutoff=timezone.now())
        partition.append(time.perf_counter() - started)
    leads = part.lead_id_to - part.lead_id_from if part.lead_id_to else "open-ended"
    moved = ", ".join(f"{k} {v}" for k, v in steps.items() if k not in ("timings", "seconds"))
    return [
        (
            "deal won -> refreshed credits, in process (per lead)",
            f"{statistics.median(per_lead) * 1000:.0f} ms",
            "the latest finished run of each scope; the lead's rows only; steps of one: "
            + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in steps["timings"].items())
            + f"; rows written: {moved}",
        ),
        (
            "same deal, whole partition recomputed (before)",
            f"{statistics.median(partition):.1f} s",
            f"contact run, partition of {leads} leads",
        ),
        (
            "per-lead refresh again, nothing new",
            f"{statistics.median(unchanged) * 1000:.0f} ms",
            f"rows written: {', '.join(f'{k} {v}' for k, v in written.items())}",
        ),
        (
            "per-lead credit rows of the run",
            f"{LeadCredit.objects.filter(run=run).count():,}",
            "LeadCredit rows (opportunity and deal milestones) and "
            f"{LeadMark.objects.filter(run=run).count():,} LeadMark rows written by the full run",
        ),
    ]


def _first_view(client: Any, url: str, *, recount: bool, new_lead: bool = False) -> float:
    """Median of 3 first views after a data change. Without `new_lead`: no cached figures;
    with `recount`, today's rollups of every kind still to recount (as right after a capture,
    a call, a won deal and a stage change), else already recounted by the beat. With
    `new_lead`: the page was seen, then a lead was captured (a new data version for the page,
    today's rollups to recount; the run's own figures stay cached); the leads are deleted after."""
    from django.core.cache import cache
    from django.utils import timezone

    from crm import rollup_marks
    from crm.models import DailyCount
    from leads.models import Lead

    times, made = [], []
    for n in range(3):
        if new_lead:
            client.get(url)
            made.append(
                Lead.objects.create(
                    email=f"bench-new-{n}@example.com", created_at=timezone.now()
                ).pk
            )
        else:
            cache.clear()
        if recount or new_lead:
            for kind in DailyCount.Kind.values:
                rollup_marks.mark(kind, [timezone.localdate()])
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    if made:
        Lead.objects.filter(pk__in=made).delete()
    return statistics.median(times)


def dashboard_times(args: argparse.Namespace, figures: dict[str, Any] | None = None) -> list[Row]:
    """Server time of the dashboards on this dataset (test client, no network)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="marketer"))
    rows = []
    for name, url in (
        ("marketing dashboard", "/dashboards/marketing/?range=365d"),
        ("sales dashboard", "/crm/dashboard/?range=365d"),
        ("ROI API", "/api/v1/reports/roi/?model=markov"),
    ):
        client.get(url)  # warm the process (templates, catalogs, imports) before timing

        cold, settled, after_lead = (
            _first_view(client, url, recount=True),
            _first_view(client, url, recount=False),
            _first_view(client, url, recount=True, new_lead=True),
        )
        samples = []
        for _ in range(max(10, args.rounds * 5)):
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
        samples.sort()
        p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
        note = (
            f"p95 {p95:.0f} ms; first view after a new lead {after_lead:.0f} ms; with nothing "
            f"cached {cold:.0f} ms, {settled:.0f} ms once the beat has recounted the rollups "
            "(medians of 3)"
        )
        rows.append((f"{name} server time", f"{statistics.median(samples):.0f} ms", note))
        if figures is not None:
            figures[name] = {"warm": statistics.median(samples), "cold": cold, "settled": settled,
                             "after_lead": after_lead}  # fmt: skip
    return rows
