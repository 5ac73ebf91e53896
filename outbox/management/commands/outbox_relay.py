"""`manage.py outbox_relay`: send pending outbox messages to the broker, in a loop."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connection


class Command(BaseCommand):
    help = "Relay pending outbox messages to Celery (a loop; --once for a single pass)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=0.25, help="seconds between passes")
        parser.add_argument("--batch", type=int, default=200, help="messages per pass")

    def handle(self, *args: Any, once: bool, interval: float, batch: int, **opts: Any) -> None:
        from outbox.services import outbox_redeliver, outbox_relay

        stopping = {"now": False}

        def stop(signum: int, frame: Any) -> None:
            stopping["now"] = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        total = 0
        while not stopping["now"]:
            try:
                outbox_redeliver()
                result = outbox_relay(limit=batch)
            except DatabaseError as exc:
                # The database is down or restarting: drop the connection, try again shortly.
                self.stderr.write(f"outbox_relay: database unavailable ({exc}); retrying")
                connection.close()
                time.sleep(interval)
                continue
            total += result.sent
            if result.sent or result.failed:
                self.stdout.write(
                    f"outbox_relay: sent {result.sent}, failed {result.failed}, "
                    f"dead {result.dead} (total sent {total})"
                )
            if once:
                break
            if result.sent < batch or result.failed:
                close_old_connections()
                time.sleep(interval)
