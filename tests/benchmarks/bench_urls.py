"""dashboards.urls plus the bare baseline view: parse the body, one INSERT, answer 201."""

import json

from django.db import connection
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


urlpatterns = [
    path("bench/bare-insert/", bare_insert),
    path("", include("dashboards.urls")),
]
