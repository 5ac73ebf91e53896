"""Fast bulk inserts with ids assigned up front: COPY on PostgreSQL, bulk_create elsewhere.

Rows are model instances with their primary keys set, so rows of one table can point to rows
of another before either is written.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, models


def next_ids(model: type[models.Model], count: int) -> range:
    """`count` fresh primary keys for `model` (caller holds the only writer, e.g. seeding)."""
    top = model.objects.aggregate(m=models.Max("pk"))["m"] or 0
    return range(top + 1, top + 1 + count)


def _cell(value: Any) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, Decimal, int, float)):
        return str(value)
    if isinstance(value, timedelta):
        return f"{value.total_seconds()} seconds"
    return str(value)


def insert(model: type[models.Model], rows: Sequence[models.Model], batch_size: int = 5000) -> int:
    """Insert instances (primary keys set) as fast as the database allows."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        model.objects.bulk_create(rows, batch_size=batch_size)
        return len(rows)
    fields = list(model._meta.concrete_fields)
    for field in fields:
        # auto_now / auto_now_add are applied by pre_save in bulk_create; do the same here.
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for row in rows:
                if getattr(row, field.attname) is None:
                    field.pre_save(row, add=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", quotechar='"', lineterminator="\n")
    for row in rows:
        writer.writerow(
            [_cell(field.get_db_prep_value(getattr(row, field.attname), connection))
             if not isinstance(field, models.JSONField) else _cell(getattr(row, field.attname))
             for field in fields]
        )  # fmt: skip
    buffer.seek(0)
    table = model._meta.db_table
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\t', "
            f"NULL '\\N', QUOTE '\"')",
            buffer,
        )
    return len(rows)


def reset_sequence(model: type[models.Model]) -> None:
    """After inserting explicit ids on PostgreSQL, move the id sequence past them."""
    if connection.vendor != "postgresql":
        return
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        # Table and column names come from the model, never from input.
        top = f"SELECT MAX({pk}) FROM {table}"  # noqa: S608
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(({top}), 1))", [table, pk]
        )
