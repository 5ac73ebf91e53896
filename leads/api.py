"""The public capture and track endpoints. Hostile input is assumed everywhere.

Order of checks on a capture post: rate limit (cheap, no database), body size, the form,
origin, parsing, validation, bot checks, idempotency, then one transactional write.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from clm.api import ErrorOutput, error_body
from clm.client import client_ip
from leads import pageviews, selectors, services
from leads.heard_about import answer_of
from leads.models import CaptureForm, Submission
from leads.serializers import CaptureInput, TrackEvent, validate_custom_fields

log = logging.getLogger(__name__)

MAX_FIELDS = 100
MAX_EVENTS = 50


class Rejected(Exception):
    """Stop handling a request with this response."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def rate_limit(request: HttpRequest, scope: str, per_minute: int, cost: int = 1) -> None:
    """A fixed one-minute window per client address, shared by all processes via the cache.

    `cost` is how many units this request uses (track counts events, not requests); a cost of
    0 only checks that the address has not used up its window already.
    """
    window = int(time.time() // 60)
    meta = services.RequestMeta(ip=client_ip(request))
    key = f"rl:{scope}:{meta.ip_hash}:{window}"
    try:
        if cost and hasattr(cache, "incr_window"):  # Redis: one round trip
            over = cache.incr_window(key, cost, 120) > per_minute
        elif cost:
            cache.add(key, 0, 120)
            over = cache.incr(key, cost) > per_minute
        else:
            over = (cache.get(key) or 0) >= per_minute
    except Exception:  # noqa: BLE001 - a cache outage must not stop lead capture
        log.warning("rate limit cache unavailable; %s not limited", scope)
        return
    if over:
        response = _errors({"__all__": ["Too many requests; try again shortly."]}, 429)
        response["Retry-After"] = str(60 - int(time.time()) % 60)
        raise Rejected(response)


def check_size(request: HttpRequest, limit: int) -> None:
    """413 for a body over `limit` bytes, before it is read."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Rejected(_errors({"__all__": ["Bad Content-Length."]}, 400)) from None
    if length > limit:
        raise Rejected(_errors({"__all__": [f"The body is larger than {limit} bytes."]}, 413))


CODES = {
    400: "invalid",
    403: "permission_denied",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
    503: "unavailable",
}


def _errors(errors: dict[str, Any], status: int) -> JsonResponse:
    """The API's one error shape (clm.api): {"code": ..., "errors": {field: [messages]}}."""
    return JsonResponse(error_body(CODES.get(status, "error"), errors), status=status)


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lower-cased."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def _own_origin(request: HttpRequest) -> str:
    try:
        return origin_of(request.build_absolute_uri("/"))
    except Exception:  # noqa: BLE001 - a forged Host header only means "not our origin"
        return ""


ORIGIN_RE = re.compile(r"\Ahttps?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?\Z")


def cors_headers(response: HttpResponse, origin: str) -> HttpResponse:
    """Allow this origin to read the answer; never with credentials. A malformed Origin
    (a forged header with CR/LF, a path, "null") is never echoed."""
    if origin and ORIGIN_RE.match(origin):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = "Retry-After"
        response["Vary"] = "Origin"
    return response


def preflight(request: HttpRequest, allowed: bool) -> HttpResponse:
    """Answer a CORS preflight for an allowed origin, 403 otherwise."""
    origin = request.headers.get("Origin", "")
    if not allowed:
        return HttpResponse(status=403)
    response = HttpResponse(status=204)
    cors_headers(response, origin)
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type, Accept"
    response["Access-Control-Max-Age"] = "86400"
    return response


INVALID_UNICODE = "Contains text that is not valid Unicode (a lone surrogate)"


def _encodable(text: str) -> bool:
    """False for text no database can store as UTF-8 (lone surrogates from JSON escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def flat_payload(request: HttpRequest) -> dict[str, str]:
    """The posted fields as one flat str -> str dict, whatever the content type."""
    content_type = request.content_type or ""
    try:
        if content_type in ("application/json", "text/plain"):
            try:
                data = json.loads(request.body or b"{}")
            except (ValueError, RecursionError):
                raise Rejected(_errors({"__all__": ["The body is not valid JSON."]}, 400)) from None
            if not isinstance(data, dict):
                raise Rejected(_errors({"__all__": ["Send one JSON object of fields."]}, 400))
            items = list(data.items())
        else:
            items = [(k, request.POST.get(k, "")) for k in request.POST]
    except RequestDataTooBig:
        raise Rejected(_errors({"__all__": ["The body is too large."]}, 413)) from None
    except TooManyFieldsSent:
        raise Rejected(_errors({"__all__": ["Too many fields."]}, 400)) from None
    if len(items) > MAX_FIELDS:
        raise Rejected(_errors({"__all__": [f"At most {MAX_FIELDS} fields."]}, 400))
    payload: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for key, value in items:
        key = str(key)[:100]
        if not _encodable(key):
            raise Rejected(_errors({"__all__": [INVALID_UNICODE + " (in a field name)"]}, 400))
        if isinstance(value, (dict, list)):
            errors[key] = ["Must be a single value, not a list or object."]
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        text = "" if value is None else str(value)
        if not _encodable(text):
            errors[key] = [INVALID_UNICODE + "."]
            continue
        payload[key] = text
    if errors:
        raise Rejected(_errors(errors, 400))
    return payload


def wants_json(request: HttpRequest) -> bool:
    """JSON/XHR callers get JSON; a plain HTML form post gets a redirect."""
    accept = request.headers.get("Accept", "")
    return (
        request.content_type == "application/json"
        or "application/json" in accept
        or request.headers.get("X-Requested-With") == "XMLHttpRequest"
    )


# The submission's id only: nothing may tell an anonymous caller whether the address is known.
CAPTURE_OK = inline_serializer("CaptureResult", {"id": serializers.IntegerField()})
ERRORS = ErrorOutput


class PublicEndpoint(APIView):
    """A public, cookie-less endpoint: Rejected answers as given, a database outage as 503
    with Retry-After (clients retry with the same submission_id), CORS on every answer."""

    authentication_classes: list = []  # public: no cookies honoured, so no CSRF either
    permission_classes = [AllowAny]
    parser_classes: list = []  # bodies are parsed by hand
    _cors_origin = ""

    def perform_content_negotiation(self, request: Any, force: bool = False) -> Any:
        # Answers are built by hand (JSON or a redirect): an odd Accept header must not turn
        # a valid submission into a 406.
        return super().perform_content_negotiation(request, force=True)

    def cors_origin(self, request: HttpRequest) -> str:
        """The origin allowed to read this answer ("" for none)."""
        return request.headers.get("Origin", "")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self._cors_origin = self.cors_origin(request)
        try:
            return super().dispatch(request, *args, **kwargs)
        except Rejected as rejected:
            return cors_headers(rejected.response, self._cors_origin)
        except (OperationalError, DatabaseError):
            log.exception("%s failed: database unavailable", type(self).__name__)
            response = _errors({"__all__": ["Temporarily unavailable; retry."]}, 503)
            response["Retry-After"] = "5"
            return cors_headers(response, self._cors_origin)


class CaptureView(PublicEndpoint):
    """POST /api/v1/capture/<form_key>/: a landing-page form submission.

    Every answer is readable by the posting page (never with credentials), so track.js can
    show errors and honour Retry-After; success needs the origin check to pass first.
    """

    def _form(self, request: HttpRequest, form_key: str) -> CaptureForm:
        form = selectors.capture_form_by_key(form_key)
        if form is None:
            raise Rejected(_errors({"__all__": ["Unknown or inactive form."]}, 404))
        origin = request.headers.get("Origin", "")
        if origin and origin.lower() not in selectors.form_origins(form, _own_origin(request)):
            raise Rejected(_errors({"__all__": ["This origin may not post to this form."]}, 403))
        return form

    @extend_schema(exclude=True)
    def options(self, request: HttpRequest, form_key: str) -> HttpResponse:
        form = selectors.capture_form_by_key(form_key)
        origin = request.headers.get("Origin", "").lower()
        allowed = form is not None and origin in selectors.form_origins(form, _own_origin(request))
        return preflight(request, allowed)

    @extend_schema(
        request=CaptureInput,
        responses={
            201: CAPTURE_OK,
            303: OpenApiResponse(description="plain HTML post: redirect to the success URL"),
            400: ERRORS,
            403: ERRORS,
            404: ERRORS,
            409: ERRORS,
            413: ERRORS,
            429: ERRORS,
            503: ERRORS,
        },
        auth=[],
        summary="Capture a form submission",
    )
    def post(self, request: HttpRequest, form_key: str) -> HttpResponse:
        rate_limit(request, "capture", settings.CLM_CAPTURE_RATE_PER_MINUTE)
        check_size(request, settings.CLM_CAPTURE_MAX_BYTES)
        form = self._form(request, form_key)
        payload = flat_payload(request._request)  # Django's request: parsed by hand
        meta = services.RequestMeta(
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:400],
            origin=request.headers.get("Origin", "")[:300],
        )
        as_json = wants_json(request)

        serializer = CaptureInput(data=payload)
        valid = serializer.is_valid()
        custom, custom_errors = validate_custom_fields(form, payload)
        heard_about, heard_about_other, answer_errors = answer_of(form, payload)
        errors = {**(serializer.errors if not valid else {}), **custom_errors, **answer_errors}
        if errors:
            services.submission_reject(
                form=form,
                form_key=form.key,
                payload=payload,
                status=Submission.Status.REJECTED,
                reason=json.dumps(errors, default=str)[:2000],
                meta=meta,
            )
            return self._invalid(request, form, errors, as_json)
        data = serializer.validated_data

        bot_reason = self._bot_check(form, payload, data)
        if bot_reason:
            # Kept for review (Setup, Suspected spam): "not spam" captures it then.
            held = services.submission_reject(
                form=form,
                form_key=form.key,
                payload=payload,
                status=Submission.Status.SPAM,
                reason=bot_reason,
                meta=meta,
            )
            # Bots get the answer a person gets, so they learn nothing.
            return self._success(request, form, held.pk, as_json)

        try:
            result = services.submission_capture(
                form=form,
                data=dict(data),
                custom=custom,
                payload=payload,
                meta=meta,
                answer=(heard_about, heard_about_other),
            )
        except services.IdempotencyConflict:
            conflict = {"submission_id": ["This submission_id was used with a different payload."]}
            return cors_headers(_errors(conflict, 409), self._cors_origin)
        return self._success(request, form, result.submission_id, as_json)

    @staticmethod
    def _bot_check(form: CaptureForm, payload: dict[str, str], data: Any) -> str:
        if form.honeypot_field and payload.get(form.honeypot_field, "").strip():
            return f"honeypot field {form.honeypot_field!r} filled"
        elapsed = data.get("clm_elapsed_ms")
        if elapsed is not None and elapsed < form.min_fill_seconds * 1000:
            return f"filled in {elapsed} ms (minimum {form.min_fill_seconds} s)"
        return ""

    def _success(
        self,
        request: HttpRequest,
        form: CaptureForm,
        submission_id: int,
        as_json: bool,
    ) -> HttpResponse:
        if as_json:
            response = JsonResponse({"id": submission_id}, status=201)
            return cors_headers(response, self._cors_origin)
        url = form.success_url or reverse("leads:thanks")
        return HttpResponseRedirect(url, status=303)

    def _invalid(
        self, request: HttpRequest, form: CaptureForm, errors: dict, as_json: bool
    ) -> HttpResponse:
        if as_json:
            return cors_headers(_errors(errors, 400), self._cors_origin)
        return render(
            request,
            "leads/capture_error.html",
            {"errors": errors, "form": form, "back": _safe_back_link(request)},
            status=400,
        )


class TrackView(PublicEndpoint):
    """POST /api/v1/track/: page-view events from track.js (one event or a list)."""

    def cors_origin(self, request: HttpRequest) -> str:
        origin = request.headers.get("Origin", "")
        return origin if origin.lower() in self._allowed(request) else ""

    @staticmethod
    def _allowed(request: HttpRequest) -> set[str]:
        return selectors.track_origins() | {_own_origin(request)}

    @extend_schema(exclude=True)
    def options(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("Origin", "").lower()
        return preflight(request, origin in self._allowed(request))

    @extend_schema(
        request=TrackEvent(many=True),
        responses={
            202: inline_serializer("TrackAccepted", {"accepted": serializers.IntegerField()}),
            400: ERRORS,
            403: ERRORS,
            413: ERRORS,
            415: ERRORS,
            429: ERRORS,
            503: ERRORS,
        },
        auth=[],
        summary="Record page views",
    )
    def post(self, request: HttpRequest) -> HttpResponse:
        rate_limit(request, "track", settings.CLM_TRACK_RATE_PER_MINUTE, cost=0)
        check_size(request, settings.CLM_TRACK_MAX_BYTES)
        origin = request.headers.get("Origin", "")
        if origin and not self._cors_origin:
            raise Rejected(_errors({"__all__": ["This origin may not send page views."]}, 403))
        if request.content_type not in ("application/json", "text/plain"):
            raise Rejected(
                _errors({"__all__": ["Send JSON (application/json or text/plain)."]}, 415)
            )
        try:
            body = json.loads(request.body or b"null")
        except (ValueError, RecursionError):
            raise Rejected(_errors({"__all__": ["The body is not valid JSON."]}, 400)) from None
        events = body if isinstance(body, list) else [body]
        if not events or len(events) > MAX_EVENTS:
            raise Rejected(_errors({"__all__": [f"Send 1 to {MAX_EVENTS} events."]}, 400))
        # Counted per event: one request carries up to MAX_EVENTS page views.
        rate_limit(request, "track", settings.CLM_TRACK_RATE_PER_MINUTE, cost=len(events))
        cleaned, errors = [], {}
        for index, event in enumerate(events):
            if not isinstance(event, dict):
                errors[str(index)] = ["Each event must be a JSON object."]
                continue
            serializer = TrackEvent(data=event)
            if serializer.is_valid():
                cleaned.append(dict(serializer.validated_data))
            else:
                errors[str(index)] = [
                    f"{k}: {' '.join(map(str, v))}" for k, v in serializer.errors.items()
                ]
        if errors:
            raise Rejected(_errors(errors, 400))
        stored = pageviews.page_views_accept(events=cleaned, received_at=timezone.now())
        return cors_headers(JsonResponse({"accepted": stored}, status=202), self._cors_origin)


def _safe_back_link(request: HttpRequest) -> str:
    """The Referer as a link back to the form, only when it is a plain http(s) URL."""
    referer = request.headers.get("Referer", "")[:2000]
    parts = urlsplit(referer)
    if parts.scheme in ("http", "https") and parts.netloc and referer.isprintable():
        return referer
    return ""
