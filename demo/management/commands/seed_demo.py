"""Load deterministic demo data: `manage.py seed_demo [--size small|medium|large] [--leads N]
[--seed S] [--if-empty]`."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clm import roles
from clm.services import user_create
from demo import generator as demo
from leads.models import Lead
from mix import services as mix_services

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
    help = "Load demo data: users of every role, campaigns, spend, leads, journeys, deals, a run."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the database has leads"
        )
        parser.add_argument("--size", choices=list(demo.SIZES), default="small")
        parser.add_argument("--leads", type=int, help="number of leads (overrides --size)")
        parser.add_argument(
            "--seed", type=int, default=42, help="random seed (same seed, same data)"
        )
        parser.add_argument("--users-only", action="store_true", help="only the demo users")
        parser.add_argument(
            "--no-run", action="store_true", help="skip the attribution run at the end"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Lead.objects.exists():
            self.stdout.write("Database already has data; seed_demo skipped.")
            self._print_logins()
            return
        leads = options["leads"] or demo.SIZES[options["size"]]
        if leads < 1 or leads > 2_000_000:
            raise CommandError("--leads must be between 1 and 2,000,000")
        self._ensure_users()
        if options["users_only"]:
            self._print_logins()
            return
        if Lead.objects.exists():
            raise CommandError("the database has leads already; seed_demo adds to empty ones only")
        started = time.perf_counter()
        self.stdout.write(f"Generating demo data: {leads:,} leads (seed {options['seed']}) ...")
        try:
            counts = demo.generate(
                leads=leads, seed=options["seed"], log=self.stdout.write, run=not options["no_run"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not options["no_run"]:
            counts["mix_model_fit"] = self._queue_mix_fit()
        summary = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded in {time.perf_counter() - started:.1f}s: {summary}"
            )
        )
        self._print_logins()

    def _queue_mix_fit(self) -> int:
        """Queue one marketing mix model fit of the demo (the worker runs it)."""
        marketer = get_user_model().objects.filter(username="marketer").first()
        try:
            run = mix_services.run_start(created_by=marketer)
        except mix_services.RunInProgress as exc:
            run = exc.run
        self.stdout.write(f"  marketing mix model fit #{run.pk} queued")
        return run.pk

    @transaction.atomic
    def _ensure_users(self) -> None:
        User = get_user_model()
        taken = set(User.objects.values_list("username", flat=True))
        for username, role, first, last in DEMO_USERS:
            if username in taken:
                continue
            user_create(
                username=username,
                role=role,
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                email=f"{username}@demo.clm.local",
            )

    def _print_logins(self) -> None:
        self.stdout.write(f"Demo logins (password '{DEMO_PASSWORD}' for all):")
        for username, role, *_ in DEMO_USERS:
            self.stdout.write(f"  {username:<10} {role}")
