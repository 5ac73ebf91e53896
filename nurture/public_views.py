"""The public end of nurture emails: click redirects, the open pixel, unsubscribe (a page with
a button, and the RFC 8058 one-click POST).

No login: each link carries a signed token. A click only redirects to the destination signed
into its token, never to an address from the query string.
"""

from __future__ import annotations

import base64

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from nurture import selectors, services, tokens

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _read(token: str, salt: str) -> object:
    try:
        return tokens.read(token, salt=salt)
    except signing.BadSignature:
        raise Http404("unknown link") from None


@never_cache
def click(request: HttpRequest, token: str) -> HttpResponse:
    """Record the click (an Email touchpoint on the lead) and go on to the tagged destination."""
    value = _read(token, tokens.CLICK_SALT)
    if not isinstance(value, dict) or not isinstance(value.get("u"), str):
        raise Http404("unknown link")
    url = value["u"]
    if not url.startswith(("https://", "http://")):
        raise Http404("unknown link")
    services.send_record_click(send_id=int(value["s"]), url=url)
    return HttpResponseRedirect(url)


@never_cache
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """A 1x1 GIF; counts an open of the email it is in."""
    try:
        send_id = int(tokens.read(token, salt=tokens.OPEN_SALT))
    except (signing.BadSignature, TypeError, ValueError):
        send_id = None
    if send_id is not None:
        services.send_record_open(send_id=send_id)
    return HttpResponse(PIXEL, content_type="image/gif")


# The signed token in the address authenticates the POST, as in RFC 8058's one-click POST
# (body "List-Unsubscribe=One-Click") that mail clients send without a CSRF cookie.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with an Unsubscribe button; link scanners that prefetch it change nothing.
    POST (the button, or a mail client's one-click POST): marketing consent withdrawn, no
    further nurture email."""
    try:
        send_id = int(_read(token, tokens.UNSUBSCRIBE_SALT))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise Http404("unknown link") from None
    if request.method == "POST":
        lead = services.send_unsubscribe(send_id=send_id)
        if lead is None:
            raise Http404("unknown link")
        return render(request, "nurture/unsubscribed.html", {"email": lead.email})
    send = selectors.send_with_lead(send_id=send_id)
    if send is None:
        raise Http404("unknown link")
    done = send.unsubscribed_at is not None or send.lead.consent_withdrawn_at is not None
    context = {"email": send.lead.email, "unsubscribed": done}
    return render(request, "nurture/unsubscribe.html", context)
