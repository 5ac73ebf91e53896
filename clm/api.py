"""What every /api/v1/ resource shares: the one error format, pagination and the schema class.

Every error answer of the API (and of the public capture/track endpoints) has one shape:

    {"code": "invalid", "errors": {"<field>": ["message", ...], "__all__": ["message"]}}

`code` is a stable machine word (invalid, not_authenticated, authentication_failed,
permission_denied, not_found, method_not_allowed, conflict, throttled, ...); `errors` maps a
field to its messages, "__all__" holding the messages about the request as a whole. Errors
of nested input are flattened to one key per field: `rows[3].amount`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

ALL = NON_FIELD_ERRORS  # "__all__", as Django forms and the capture endpoint name it


class Conflict(exceptions.APIException):
    """409: the request clashes with the current state of a resource."""

    status_code = 409
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field": [messages]}, nested keys as `rows[3].amount`."""
    out: dict[str, list[str]] = {}

    def key_for(name: str) -> str:
        if name in (api_settings.NON_FIELD_ERRORS_KEY, ALL):
            return prefix or ALL
        if name.isdigit():  # an item of a list: many=True serializers key errors by index
            return f"{prefix}[{name}]"
        return f"{prefix}.{name}" if prefix else name

    if isinstance(detail, dict):
        for name, value in detail.items():
            for key, messages in flatten_errors(value, key_for(str(name))).items():
                out.setdefault(key, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            if detail:
                out[prefix or ALL] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:  # a valid row of a list has an empty error dict
                    out.update(flatten_errors(item, f"{prefix}[{index}]"))
    else:
        out[prefix or ALL] = [str(detail)]
    return out


def _code_of(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    return str(getattr(exc, "default_code", "error"))


def error_body(code: str, errors: dict[str, list[str]]) -> dict[str, Any]:
    """The one error shape: {"code": ..., "errors": {field: [messages]}}."""
    return {"code": code, "errors": errors}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, then the one error shape. A service's Django ValidationError is a 400."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {ALL: exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, (ProtectedError, RestrictedError)):
        exc = Conflict("Other records still refer to this one; it cannot be deleted.")
    elif isinstance(exc, IntegrityError):
        # A uniqueness race that validation could not see: the same row was written meanwhile.
        exc = Conflict("A conflicting record was written at the same time; retry.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(response.data)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        errors = {ALL: [str(detail or response.status_text)]}
    code = _code_of(exc) if isinstance(exc, exceptions.APIException) else "error"
    response.data = error_body(code, errors)
    return response


class ErrorOutput(serializers.Serializer):
    """The one error shape of the API (see docs/api.md)."""

    code = serializers.CharField(help_text="invalid, not_authenticated, not_found, throttled, ...")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text='Messages per field; "__all__" for the request as a whole.',
    )


class RoleAccess(BasePermission):
    """Roles per verb, declared on the view: `read_roles`, `write_roles`, `delete_roles`.

    The same split the pages use (clm.roles): e.g. everyone reads channels, admins change them.
    """

    message = "Your role may not do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        from clm import roles

        if request.method in SAFE_METHODS:
            allowed = view.read_roles
        elif request.method == "DELETE":
            allowed = getattr(view, "delete_roles", view.write_roles)
        else:
            allowed = view.write_roles
        return roles.has_role(request.user, *allowed)
