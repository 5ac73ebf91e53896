"""manage.py rollups_rebuild: recount the dashboards' daily rollups from their source rows."""

import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Recount the dashboards' daily rollups (crm.DailyCount) from leads, activities, deals."

    def handle(self, *args, **options) -> None:
        from crm import rollups

        started = time.perf_counter()
        rows = rollups.rebuild()
        self.stdout.write(f"{rows:,} rollup rows in {time.perf_counter() - started:.1f} s")
