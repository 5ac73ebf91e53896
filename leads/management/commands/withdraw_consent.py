"""manage.py withdraw_consent --email ADDRESS"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from leads.privacy import consent_withdraw


class Command(BaseCommand):
    help = "Record that a person withdrew consent: left out of every export from now on."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", required=True)

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        if consent_withdraw(email=email) is None:
            raise CommandError("No lead with this address.")
        self.stdout.write(self.style.SUCCESS("Consent withdrawn."))
