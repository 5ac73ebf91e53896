"""Load deterministic demo data: `manage.py seed_demo [--if-empty]`."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clm import roles
from clm.services import user_create

DEMO_PASSWORD = "clm-demo"  # noqa: S105 - demo logins are printed on purpose
DEMO_USERS = [
    ("admin", roles.ADMIN, "Ada", "Admin"),
    ("marketer", roles.MARKETER, "Maya", "Marketer"),
    ("manager", roles.SALES_MANAGER, "Sam", "Manager"),
    ("rep1", roles.SALES_REP, "Riley", "Rep"),
    ("rep2", roles.SALES_REP, "Robin", "Rep"),
    ("rep3", roles.SALES_REP, "Rowan", "Rep"),
]


class Command(BaseCommand):
    help = "Load demo data (users of every role, and the data later apps add)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the database has users"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        if options["if_empty"] and User.objects.exists():
            self.stdout.write("Database already has data; seed_demo skipped.")
            self._print_logins()
            return
        taken = set(
            User.objects.filter(username__in=[u[0] for u in DEMO_USERS]).values_list(
                "username", flat=True
            )
        )
        if taken:
            raise CommandError(f"demo users exist already: {', '.join(sorted(taken))}")
        with transaction.atomic():
            for username, role, first, last in DEMO_USERS:
                user_create(
                    username=username,
                    role=role,
                    password=DEMO_PASSWORD,
                    first_name=first,
                    last_name=last,
                    email=f"{username}@demo.clm.local",
                )
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self._print_logins()

    def _print_logins(self) -> None:
        self.stdout.write(f"Demo logins (password '{DEMO_PASSWORD}' for all):")
        for username, role, *_ in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {role}")
