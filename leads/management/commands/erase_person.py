"""manage.py erase_person --email ADDRESS [--by USERNAME] [--yes]"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from leads.erasure import person_erase


class Command(BaseCommand):
    help = "Erase (anonymise) every row that identifies a person; attribution totals stay."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--by", default="", help="username recorded as the eraser")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args: Any, email: str, by: str, yes: bool, **options: Any) -> None:
        user = None
        if by:
            user = get_user_model().objects.filter(username=by).first()
            if user is None:
                raise CommandError(f"No user {by!r}.")
        if not yes:
            answer = input(f"Erase every personal row of {email}? This cannot be undone [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing erased.")
        result = person_erase(email=email, by=user)
        if result.lead_id is None and not result.counts.get("submissions"):
            self.stdout.write("No data about this address; the request is logged.")
        summary = ", ".join(f"{n} {kind}" for kind, n in result.counts.items())
        self.stdout.write(self.style.SUCCESS(f"Erased (erasure #{result.erasure.pk}): {summary}"))
