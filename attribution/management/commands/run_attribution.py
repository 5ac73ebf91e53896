"""`manage.py run_attribution [--model M ...] [--start D --end D] [--lookback N]`."""

from __future__ import annotations

import time
from datetime import datetime
from datetime import time as dtime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from attribution import engine, selectors, services
from attribution.models import AttributionRun


class Command(BaseCommand):
    help = "Run a full attribution (all models by default) and show its progress."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--model", action="append", choices=engine.MODELS, help="repeat for several"
        )
        parser.add_argument("--lookback", type=int, default=90, help="lookback window, days")
        parser.add_argument("--end", help="data cut-off day YYYY-MM-DD (default: now)")
        parser.add_argument("--start", help="print ROI from this day (YYYY-MM-DD)")
        parser.add_argument("--partitions", type=int, help="lead-id partitions")
        parser.add_argument("--no-wait", action="store_true", help="queue it and return")
        parser.add_argument(
            "--scope",
            choices=AttributionRun.Scope.values,
            default=AttributionRun.Scope.CONTACT,
            help="contact: each deal over its lead's touches; account: over its buyers' touches",
        )
        parser.add_argument(
            "--people",
            choices=AttributionRun.People.values,
            default=AttributionRun.People.BUYING_GROUP,
            help="account scope: the deal's buying group (default) or its whole account",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = None
        start = end = None
        try:
            if options["end"]:
                end = datetime.strptime(options["end"], "%Y-%m-%d").date()
                cutoff = timezone.make_aware(datetime.combine(end, dtime.max))
            if options["start"]:
                start = datetime.strptime(options["start"], "%Y-%m-%d").date()
            run = services.run_start(
                models=options["model"] or engine.MODELS,
                lookback_days=options["lookback"],
                data_cutoff=cutoff,
                partitions=options["partitions"],
                start=False,
                scope=options["scope"],
                account_people=options["people"],
            )
        except (ValueError, services.RunInProgress) as exc:
            raise CommandError(str(exc)) from None
        from attribution.tasks import attribution_run

        self.stdout.write(f"Run #{run.pk} ({run.scope} scope): {', '.join(run.model_names)}")
        attribution_run.delay(run_id=run.pk)  # eager without a broker: runs here and now
        if options["no_wait"]:
            return
        self._wait(run)
        run.refresh_from_db()
        if run.status != AttributionRun.Status.DONE:
            raise CommandError(f"run #{run.pk} {run.status}: {run.error}")
        self.stdout.write(
            self.style.SUCCESS(f"Run #{run.pk} done in {run.timings.get('seconds', 0):.1f}s")
        )
        model = run.model_names[0]
        rows = selectors.roi_rows(run=run, model=model, start=start, end=end)
        self.stdout.write(f"\nROI by channel ({model}):")
        self.stdout.write(
            f"  {'channel':<26}{'spend':>12}{'leads':>9}{'deals':>8}{'revenue':>14}  ROI"
        )
        for row in rows:
            roi = "—" if row.roi is None else f"{row.roi:.0%}"
            self.stdout.write(
                f"  {row.name:<26}{row.spend:>12,.2f}{row.leads:>9.1f}{row.deals:>8.1f}"
                f"{row.revenue:>14,.2f}  {roi}"
            )

    def _wait(self, run: AttributionRun) -> None:
        width = 30
        while True:
            run.refresh_from_db()
            progress = selectors.run_progress(run)
            filled = int(width * progress["percent"] / 100)
            bar = "#" * filled + "-" * (width - filled)
            self.stdout.write(f"\r[{bar}] {progress['percent']:3d}% {run.status:<8}", ending="")
            self.stdout.flush()
            if run.status in (AttributionRun.Status.DONE, AttributionRun.Status.FAILED):
                self.stdout.write("")
                return
            time.sleep(0.5)
