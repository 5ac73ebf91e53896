"""Fast bulk inserts with ids assigned up front: COPY on PostgreSQL, bulk_create elsewhere.

Rows are model instances with their primary keys set, so rows of one table can point to rows
of another before either is written.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def next_ids(model: type[models.Model], count: int) -> range:
    """`count` fresh primary keys for `model` (caller holds the only writer, e.g. seeding)."""
    top = model.objects.aggregate(m=models.Max("pk"))["m"] or 0
    return range(top + 1, top + 1 + count)


def _converter(field: models.Field) -> Any:
    """A fast value -> COPY text function for one field (no per-value Django machinery)."""
    if isinstance(field, models.JSONField):
        return lambda v: r"\N" if v is None else json.dumps(v)
    if isinstance(field, models.DurationField):
        return lambda v: r"\N" if v is None else f"{v.total_seconds()} seconds"
    if isinstance(field, models.BooleanField):
        return lambda v: r"\N" if v is None else ("t" if v else "f")
    if isinstance(field, (models.DateTimeField, models.DateField)):
        return lambda v: r"\N" if v is None else v.isoformat()
    return lambda v: r"\N" if v is None else str(v)


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
    attnames = [field.attname for field in fields]
    converters = [_converter(field) for field in fields]
    for row in rows:
        values = row.__dict__
        writer.writerow(
            [conv(values.get(name)) for name, conv in zip(attnames, converters, strict=True)]
        )
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
    if connection.vendor != "postgresql" or not isinstance(model._meta.pk, models.AutoField):
        return
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        # Table and column names come from the model, never from input.
        top = f"SELECT MAX({pk}) FROM {table}"  # noqa: S608  # nosec B608
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE(({top}), 1))", [table, pk]
        )


def insert_frame(model: type[models.Model], frame: Any, columns: Sequence[str]) -> int:
    """Insert a DataFrame's `columns` (named as the model's column names) into the model's table.

    COPY on PostgreSQL; executemany elsewhere. No model instances are built, so millions of
    rows cost what the database costs. NaN/NA become NULL.
    """
    if frame is None or len(frame) == 0:
        return 0
    table = model._meta.db_table
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    data = frame[list(columns)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            text = copy_text(data)
            if text is None:  # a value the fast path does not write (text that needs quoting)
                buffer = io.StringIO()
                data.to_csv(buffer, index=False, header=False, na_rep="\\N", sep="\t")
                buffer.seek(0)
            else:
                buffer = io.StringIO(text)
            cursor.copy_expert(
                f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\t', "
                "NULL '\\N')",
                buffer,
            )
        else:
            marks = ", ".join(["%s"] * len(columns))
            rows = [
                tuple(None if _missing(v) else _plain(v) for v in row)
                for row in data.itertuples(index=False, name=None)
            ]
            # Identifiers come from the model (quoted); every value is a query parameter.
            sql = f"INSERT INTO {table} ({quoted}) VALUES ({marks})"  # noqa: S608  # nosec B608
            cursor.executemany(sql, rows)
    return len(frame)


NULL = "\\N"
_PLAIN_TEXT = r"^[^\t\n\r\"\\]*$"  # nothing that COPY's csv format would need quoted


def _column_text(values: Any) -> Any:
    """One column as COPY text values (a numpy array of str), or None if not a simple type.

    Vectorised per column: pandas' to_csv formats value by value (a million result rows took
    seconds). Floats are written as their shortest round-trip repr, as to_csv writes them.
    """
    import numpy as np
    import pandas as pd

    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        out = np.where(values.fillna(False).to_numpy(bool), "t", "f").astype(object)
        return np.where(values.isna().to_numpy(), NULL, out)
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        # Formatted once per distinct value (ids and credited shares repeat: 1.0, 0.5 ...).
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        plain = np.asarray(uniques, dtype=np.float64 if dtype.kind == "f" else np.int64)
        if dtype.kind == "f" and not np.isfinite(plain).all():
            return None
        texts = np.array([repr(v) for v in plain.tolist()] + [NULL], dtype=object)
        return texts[np.where(codes < 0, len(plain), codes)]
    if isinstance(dtype, pd.DatetimeTZDtype):
        array = values.dt.tz_convert("UTC").to_numpy("datetime64[us]")
        out = np.datetime_as_string(array, unit="us").astype(object) + "+00:00"
        return np.where(np.isnat(array), NULL, out)
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        # Strings and dates: formatted once per distinct value.
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        texts = []
        for value in uniques:
            if isinstance(value, str):
                text = value
            elif hasattr(value, "isoformat"):
                text = value.isoformat()
            else:
                return None
            texts.append(text)
        table = pd.Series(texts, dtype=object)
        if len(table) and not table.str.match(_PLAIN_TEXT).all():
            return None
        out = np.append(np.array(texts, dtype=object), NULL)
        return out[np.where(codes < 0, len(texts), codes)]
    return None


def copy_text(frame: Any) -> str | None:
    """The frame as COPY text (tab-separated, \\N for NULL), or None when a column holds
    something only to_csv writes safely (text with tabs, quotes or newlines, other types)."""
    columns = []
    for name in frame.columns:
        column = _column_text(frame[name])
        if column is None:
            return None
        columns.append(column.tolist())
    return "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"


def _missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # not a scalar
        return False


def _plain(value: Any) -> Any:
    """numpy scalars and pandas timestamps as plain Python values for the DB driver."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (ValueError, AttributeError):
            pass
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value


def analyze(tables: Sequence[type[models.Model]]) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL; a no-op elsewhere).

    Autovacuum gets there eventually; until then the planner assumes the tables are as small
    as they were, and picks plans that are slow by orders of magnitude.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
