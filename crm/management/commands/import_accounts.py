"""Import target accounts from a CSV file (name,domains[,tier][,owner][,target])."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.account_import import AccountImportError, accounts_import


class Command(BaseCommand):
    help = (
        "Import target accounts from a CSV file: columns name,domains and optionally tier, "
        "owner (a username), target (yes/no). All or nothing; re-importing changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = accounts_import(data=options["file"].read_bytes(), by=None)
        except AccountImportError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"cannot read {options['file']}: {exc.strerror}") from exc
        self.stdout.write(report.summary())
