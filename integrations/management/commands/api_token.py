"""manage.py api_token USERNAME --name NAME [--read-only] [--days N]: print a new API token."""

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from integrations.services import token_create


class Command(BaseCommand):
    help = "Create a personal API token for a user and print it (shown this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")
        parser.add_argument("--read-only", action="store_true")
        parser.add_argument("--days", type=int, help="expire after this many days")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}")
        days = options["days"]
        new = token_create(
            user=user,
            name=options["name"],
            read_only=options["read_only"],
            expires_at=timezone.now() + timedelta(days=days) if days else None,
        )
        self.stdout.write(new.raw)
