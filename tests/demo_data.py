"""seed_demo for transactional tests, once per test process and arguments.

A browser test's demo data takes seed_demo 10 to 20 s (two attribution runs, the scoring
model, the budget advice, a mix model fit). Tests that ask for the same arguments get the same
database (the seed is deterministic), so the first call keeps a copy of the whole database
it left and later calls put that copy back: on SQLite with the backup API, on PostgreSQL by
truncating every table, copying the rows back and setting the sequences where they were.

Only where nothing else holds the database: a test inside a transaction (pytest-django's
plain `db`) runs seed_demo itself, and so does every first call.
"""

from __future__ import annotations

import io
import sqlite3
from typing import Any

from django.core.management import call_command
from django.db import connection, transaction

_copies: dict[tuple[str, ...], Any] = {}
# Django's own bookkeeping, which neither flush nor seed_demo changes.
_KEPT = {"django_migrations"}


def seed_demo(*args: str) -> None:
    """call_command("seed_demo", *args), or the copy of what it left the last time."""
    if connection.in_atomic_block:
        call_command("seed_demo", *args, stdout=io.StringIO())
        return
    key = (connection.vendor, connection.settings_dict["NAME"], *args)
    copy = _copies.get(key)
    if copy is None:
        call_command("seed_demo", *args, stdout=io.StringIO())
        _copies[key] = _take()
    else:
        _put_back(copy)


def _tables() -> list[str]:
    return sorted(set(connection.introspection.table_names()) - _KEPT)


def _take() -> Any:
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        copy = sqlite3.connect(":memory:", check_same_thread=False)
        connection.connection.backup(copy)
        return copy
    rows: dict[str, bytes] = {}
    with connection.cursor() as cursor:
        for table in _tables():
            buffer = io.BytesIO()
            cursor.copy_expert(f'COPY "{table}" TO STDOUT', buffer)
            rows[table] = buffer.getvalue()
        cursor.execute(
            "SELECT schemaname, sequencename, last_value FROM pg_sequences"
            " WHERE schemaname = current_schema()"
        )
        sequences = cursor.fetchall()
    return rows, sequences


def _put_back(copy: Any) -> None:
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        copy.backup(connection.connection)
        return
    rows, sequences = copy
    with transaction.atomic(), connection.cursor() as cursor:
        tables = _tables()
        cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables))
        for table in tables:
            if rows.get(table):
                cursor.copy_expert(f'COPY "{table}" FROM STDIN', io.BytesIO(rows[table]))
        for schema, name, last in sequences:
            if last is None:
                cursor.execute(f'ALTER SEQUENCE "{schema}"."{name}" RESTART')
            else:
                cursor.execute("SELECT setval(%s, %s, true)", [f'"{schema}"."{name}"', last])
