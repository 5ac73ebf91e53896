"""Checksums of an attribution run's stored output, to prove two runs identical to the cent.

Results (per partition index), summary (summed per key, day and month rows), ledger and
effects are each hashed in a canonical order, without the run's or partitions' ids, so two
runs on the same data and cutoff compare equal whatever code wrote them. Conversions and
shares are rounded (1e-6 and 1e-9) before hashing, cents are exact.

    .venv/bin/python tests/benchmarks/run_checksums.py --run [--cutoff ISO]  # a fresh run
    .venv/bin/python tests/benchmarks/run_checksums.py --id RUN_ID           # a stored run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _digest(rows: list[tuple[Any, ...]]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(repr(row).encode())
        h.update(b"\n")
    return f"{h.hexdigest()[:16]} ({len(rows):,} rows)"


def _round_effects(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _round_effects(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_round_effects(v) for v in value]
    return value


def checksums(run_id: int) -> dict[str, str]:
    """Checksums of a stored run's results, summary (day, month), ledger and effects."""
    from django.db.models import Sum

    from attribution.models import (
        AttributionResult,
        AttributionRun,
        AttributionSummary,
        CreditLedger,
        RunPartition,
    )

    run = AttributionRun.objects.get(pk=run_id)
    index = dict(RunPartition.objects.filter(run=run).values_list("pk", "index"))
    key = ("model", "milestone", "channel_id", "campaign_id", "day")
    results = sorted(
        (index[p], m, s, ch, ca, d.isoformat(), f"{c:.6f}", v)
        for p, m, s, ch, ca, d, c, v in AttributionResult.objects.filter(run=run).values_list(
            "partition_id", *key, "conversions", "value_cents"
        )
    )
    out = {"results": _digest(results)}
    for name, monthly in (("summary days", False), ("summary months", True)):
        rows = (
            AttributionSummary.objects.filter(run=run, monthly=monthly)
            .values_list(*key)
            .annotate(c=Sum("conversions"), v=Sum("value_cents"))
            .order_by()
        )
        out[name] = _digest(
            sorted(
                (m, s, ch, ca, d.isoformat(), f"{c:.6f}", v)
                for m, s, ch, ca, d, c, v in rows
                if abs(c) > 1e-9 or v != 0  # a refreshed key may sum to nothing
            )
        )
    ledger_columns = (
        "partition_id", "model", "deal_id", "lead_id", "touch_lead_id", "touchpoint_id",
        "channel_id", "campaign_id", "touch_at", "position", "journey_length", "share",
        "value_cents",
    )  # fmt: skip
    ledger = sorted(
        (index[row[0]], *row[1:8], row[8].isoformat(), row[9], row[10], f"{row[11]:.9f}", row[12])
        for row in CreditLedger.objects.filter(run=run).values_list(*ledger_columns)
    )
    out["ledger"] = _digest(ledger)
    effects = json.dumps(_round_effects(run.effects), sort_keys=True)
    out["effects"] = hashlib.sha256(effects.encode()).hexdigest()[:16]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--id", type=int, help="a stored run")
    parser.add_argument("--run", action="store_true", help="make a full run (eager) first")
    parser.add_argument("--cutoff", help="the fresh run's data cutoff (ISO 8601)")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clm_bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.benchmarks.settings_bench")
    import django

    django.setup()
    run_id = args.id
    record: dict[str, Any] = {}
    if args.run:
        from datetime import datetime

        from clm.celery import app

        app.conf.task_always_eager = True
        from attribution import services
        from attribution.tasks import attribution_run

        cutoff = datetime.fromisoformat(args.cutoff) if args.cutoff else None
        started = time.perf_counter()
        run = services.run_create(start=False, data_cutoff=cutoff)
        attribution_run.delay(run_id=run.pk)
        run.refresh_from_db()
        record["seconds"] = round(time.perf_counter() - started, 1)
        record["status"] = run.status
        run_id = run.pk
    if run_id is None:
        parser.error("give --id or --run")
    record["run"] = run_id
    record.update(checksums(run_id))
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
