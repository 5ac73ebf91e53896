"""Marketing / ROI pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clm import roles


@roles.role_required(roles.ADMIN, roles.MARKETER, roles.SALES_MANAGER)
def marketing_dashboard(request: HttpRequest) -> HttpResponse:
    """Which channels and campaigns pay: ROI per channel and campaign from the latest run."""
    return render(request, "attribution/marketing_dashboard.html")
