"""Campaign pages for marketers and admins."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clm import roles


@roles.role_required(roles.ADMIN, roles.MARKETER)
def campaign_list(request: HttpRequest) -> HttpResponse:
    """Every campaign with its channel, budget and dates."""
    return render(request, "campaigns/campaign_list.html")
