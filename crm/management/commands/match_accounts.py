"""Put every existing lead in the account of its corporate domain or company (the backfill)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from crm.services import accounts_match_all


class Command(BaseCommand):
    help = (
        "Match every lead not placed by hand to its account (corporate email domain, then "
        "company). Safe to rerun: unchanged leads change nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = accounts_match_all()
        self.stdout.write(
            f"Matched {counts['leads']} leads: {counts['linked']} linked, {counts['moved']} moved, "
            f"{counts['accounts_created']} accounts created."
        )
