"""dashboards.urls plus the bare baseline views: parse the body, one INSERT (or as many
statements as a capture makes, in one transaction), answer 201."""

import json

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare_insert(request: HttpRequest) -> JsonResponse:
    data = json.loads(request.body)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_bare_insert (email, payload, created_at) "
            "VALUES (%s, %s, now()) RETURNING id",
            [data.get("email", ""), json.dumps(data)],
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)


# What a capture of a new lead with an owner sends: 12 statements and a commit (README).
CAPTURE_STATEMENTS = 12


@csrf_exempt
def bare_statements(request: HttpRequest) -> JsonResponse:
    """The floor of a capture done in the request: its number of one-row INSERTs, raw SQL
    (no ORM, no validation, no logic), in one transaction."""
    data = json.loads(request.body)
    payload = json.dumps(data)
    with transaction.atomic(), connection.cursor() as cursor:
        for _ in range(CAPTURE_STATEMENTS):
            cursor.execute(
                "INSERT INTO bench_bare_insert (email, payload, created_at) "
                "VALUES (%s, %s, now()) RETURNING id",
                [data.get("email", ""), payload],
            )
            (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)


urlpatterns = [
    path("bench/bare-insert/", bare_insert),
    path("bench/bare-statements/", bare_statements),
    path("", include("dashboards.urls")),
]
