"""Sales pages: the reps' work queue and the sales dashboard."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clm import roles


@roles.role_required(*roles.ANY_ROLE)
def queue(request: HttpRequest) -> HttpResponse:
    """A rep's own leads to work; managers, marketers and admins see everyone's."""
    return render(request, "crm/queue.html")


@roles.role_required(roles.ADMIN, roles.MARKETER, roles.SALES_MANAGER)
def sales_dashboard(request: HttpRequest) -> HttpResponse:
    """Pipeline, rep activity and which sources bring leads that close."""
    return render(request, "crm/sales_dashboard.html")
