"""The browser tests' seed_demo copy puts back exactly the database seed_demo left."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from leads.models import Lead
from tests import demo_data

pytestmark = pytest.mark.django_db(transaction=True)


def contents() -> dict[str, tuple[int, Any]]:
    """Rows and largest id (as text: some are UUIDs) of every table."""
    out = {}
    with connection.cursor() as cursor:
        for table in demo_data._tables():
            columns = [
                c.name for c in connection.introspection.get_table_description(cursor, table)
            ]
            top = "MAX(CAST(id AS TEXT))" if "id" in columns else "NULL"
            cursor.execute(f'SELECT COUNT(*), {top} FROM "{table}"')  # noqa: S608  # nosec B608
            out[table] = tuple(cursor.fetchone())
    return out


def test_a_second_call_puts_back_the_first_calls_database(
    seeded_rows: Any, celery_eager: Any
) -> None:
    args = ("--leads", "20", "--seed", "5")
    demo_data.seed_demo(*args)
    seeded = contents()
    last = Lead.objects.order_by("-pk").first().pk
    assert seeded["leads_lead"][0] == 20
    moment = Lead.objects.first().created_at
    Lead.objects.all().delete()
    Lead.objects.create(email="late@example.com", created_at=moment)
    demo_data.seed_demo(*args)
    assert contents() == seeded
    # The sequences are back too: a new row takes an id after the copy's, never one of them.
    after = Lead.objects.create(email="next@example.com", created_at=moment)
    assert after.pk > last
