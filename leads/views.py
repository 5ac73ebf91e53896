"""Hosted landing pages for teams without their own site."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt

from leads.models import CaptureForm


def landing_page(request: HttpRequest, slug: str) -> HttpResponse:
    """/l/<slug>/: a headline, a text and the form, posting to the public capture API."""
    form = get_object_or_404(CaptureForm, slug=slug, is_active=True)
    response = render(request, "leads/landing.html", {"form": form, "fields": form.custom_fields})
    success = urlsplit(form.success_url) if form.success_url else None
    if success and success.scheme in ("http", "https") and success.netloc:
        # A plain (no-JS) post is answered with a redirect to the success URL, which the
        # browser checks against form-action too.
        response._csp_update = {"form-action": [f"{success.scheme}://{success.netloc}"]}  # type: ignore[attr-defined]
    return response


@csrf_exempt  # reached by a 303 after a cross-site post; it only renders static text
def thanks(request: HttpRequest) -> HttpResponse:
    """The default page a plain HTML post lands on."""
    return render(request, "leads/thanks.html")
