"""Pages of the ad-platform conversions (Admins and Marketers): the actions with their counts,
one action's conversions by status, and its export (the platform's CSV or JSON payloads)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from clm import roles
from clm.csvexport import csv_response
from integrations import conversions
from integrations.models import Conversion, ConversionAction

PAGE_SIZE = 100
CSV_PLATFORMS = (ConversionAction.Platform.GOOGLE, ConversionAction.Platform.MICROSOFT)


@roles.role_required(roles.ADMIN, roles.MARKETER)
def conversion_actions(request: HttpRequest) -> HttpResponse:
    """/setup/conversions/: every conversion action with its counts per status."""
    actions = list(ConversionAction.objects.all())
    counts = conversions.action_counts(actions)
    rows = [{"action": a, "counts": counts[a.pk]} for a in actions]
    return render(request, "integrations/conversion_actions.html", {"rows": rows})


@roles.role_required(roles.ADMIN, roles.MARKETER)
def conversion_action(request: HttpRequest, pk: int) -> HttpResponse:
    """/setup/conversions/<id>/: counts, and the conversions of one status (or all)."""
    action = get_object_or_404(ConversionAction, pk=pk)
    status = request.GET.get("status", "")
    if status not in Conversion.Status.values:
        status = ""
    rows = conversions.action_conversions(action=action, status=status or None)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = conversions.action_counts([action])[action.pk]
    statuses = [
        {"value": value, "label": label, "count": counts.get(value, 0)}
        for value, label in Conversion.Status.choices
    ]
    context = {
        "action": action,
        "page": page,
        "status": status,
        "statuses": statuses,
        "total": sum(counts.values()),
        "is_csv": action.platform in CSV_PLATFORMS,
    }
    return render(request, "integrations/conversion_action.html", context)


@roles.role_required(roles.ADMIN, roles.MARKETER)
def conversion_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The action's file: Google's or Microsoft's CSV, or Meta's / LinkedIn's JSON payload,
    of its pending and sent conversions of consenting leads."""
    action = get_object_or_404(ConversionAction, pk=pk)
    slug = f"conversions-{action.platform}-{action.pk}"
    if action.platform in CSV_PLATFORMS:
        preamble, header, rows = conversions.export_csv_rows(action)
        return csv_response(f"{slug}.csv", header, rows, preamble=preamble, bom=False)
    body = conversions.export_payload(action)
    response = JsonResponse(body, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{slug}.json"'
    return response
