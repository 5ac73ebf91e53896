"""`manage.py score_leads [--no-train] [--insights]`: retrain lead scoring, rescore open leads."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from attribution.selectors import latest_run


class Command(BaseCommand):
    help = "Retrain lead scoring from past outcomes (time-based validation) and score open leads."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--no-train", action="store_true", help="score with the newest stored model only"
        )
        parser.add_argument(
            "--insights",
            action="store_true",
            help="also recompute budget advice, intervals and alerts of the newest run",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from insights.engine import NotEnoughData
        from insights.scoring import leads_score, scoring_train

        if options["no_train"]:
            count = leads_score()
            if not count:
                raise CommandError("no scoring model yet: run without --no-train first")
            self.stdout.write(f"Scored {count:,} open leads with the newest model.")
        else:
            try:
                version = scoring_train()
            except NotEnoughData as exc:
                raise CommandError(f"not enough history to learn from: {exc}") from None
            m = version.metrics
            self.stdout.write(
                self.style.SUCCESS(
                    f"Scoring model v{version.pk}: AUC {m['auc']:.3f} on {m['n_test']:,} held-out "
                    f"leads (trained on {m['n_train']:,}); {version.scored_leads:,} open leads "
                    "scored."
                )
            )
        if options["insights"]:
            from insights.alerts import alerts_check_all
            from insights.budget import insights_for_run

            run = latest_run()
            if run is not None:
                counts = insights_for_run(run_id=run.pk)
                self.stdout.write(f"Insights of run #{run.pk}: {counts}")
            self.stdout.write(f"New alerts: {alerts_check_all()}")
