"""`manage.py import_spend FILE [--source S] [--create-campaigns] [--currency USD]`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from campaigns.spend_import import SpendImportError, import_spend


class Command(BaseCommand):
    help = (
        "Import daily ad spend from a CSV: generic date,campaign,cost[,impressions,clicks] or a "
        "Google Ads, Meta Ads, Microsoft Advertising or LinkedIn Campaign Manager cost export. "
        "All or nothing; re-importing changes nothing."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="path to the CSV file ('-' for standard input)")
        parser.add_argument("--source", help="upsert key for these rows (default: the layout)")
        parser.add_argument(
            "--create-campaigns",
            action="store_true",
            help="register campaigns the file names but CLM does not know yet",
        )
        parser.add_argument("--currency", help="currency when the file names none")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["file"]
        if name == "-":
            import sys

            data = sys.stdin.buffer.read()
        else:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"no such file: {name}")
            data = path.read_bytes()
        started = time.perf_counter()
        try:
            report = import_spend(
                data,
                source=options["source"],
                create_campaigns=options["create_campaigns"],
                currency=options["currency"],
            )
        except SpendImportError as exc:
            raise CommandError(exc.report.summary()) from None
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(f"{report.summary()} in {elapsed:.2f}s"))
