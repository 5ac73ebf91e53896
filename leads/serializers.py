"""Input validation for the public capture and track endpoints (hostile input assumed)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from rest_framework import serializers

from leads.models import CaptureForm

VISITOR_ID_RE = re.compile(r"\A[A-Za-z0-9_.-]{8,64}\Z")
TRUTHY = {"1", "true", "on", "yes", "y", "checked"}
CLICK_ID_FIELDS = ("gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "ttclid", "li_fat_id")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# Fields track.js adds that are not lead data.
META_FIELDS = ("visitor_id", "submission_id", "clm_elapsed_ms", "referrer", "landing_url")


def _no_control_chars(value: str) -> str:
    if "\x00" in value:
        raise serializers.ValidationError("Contains a NUL character.")
    return value


class CaptureInput(serializers.Serializer):
    """The built-in fields of a capture post; custom fields are checked against the form."""

    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.RegexField(
        r"^[0-9+().\-\s/x]*$", max_length=40, required=False, allow_blank=True,
        error_messages={"invalid": "Enter a phone number: digits, spaces and + ( ) - / only."},
    )  # fmt: skip
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    message = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    consent = serializers.CharField(max_length=10, required=False, allow_blank=True)
    referrer = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    landing_url = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    visitor_id = serializers.RegexField(
        VISITOR_ID_RE, required=False, allow_blank=True,
        error_messages={"invalid": "visitor_id must be 8-64 letters, digits, '_', '.' or '-'."},
    )  # fmt: skip
    submission_id = serializers.RegexField(
        r"\A[A-Za-z0-9_.:-]{1,100}\Z", required=False, allow_blank=True,
        error_messages={"invalid": "submission_id must be 1-100 letters, digits, '_.:-'."},
    )  # fmt: skip
    clm_elapsed_ms = serializers.IntegerField(required=False, min_value=0, max_value=10**10)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in UTM_FIELDS:
            self.fields[name] = serializers.CharField(
                max_length=255, required=False, allow_blank=True
            )
        for name in CLICK_ID_FIELDS:
            self.fields[name] = serializers.CharField(
                max_length=500, required=False, allow_blank=True
            )
        for field in self.fields.values():
            if isinstance(field, serializers.CharField):
                field.validators.append(_no_control_chars)

    def validate_email(self, value: str) -> str:
        return value.strip().lower()

    def validate_consent(self, value: str) -> bool:
        return value.strip().lower() in TRUTHY


def validate_custom_fields(form: CaptureForm, data: Any) -> tuple[dict[str, Any], dict]:
    """Check the form's custom fields and required built-ins; return (values, errors)."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name in form.required_fields or []:
        if name == "name":
            present = any(str(data.get(k, "")).strip() for k in ("name", "first_name"))
        else:
            present = bool(str(data.get(name, "")).strip())
        if not present:
            errors.setdefault(name, []).append("This field is required.")
    for spec in form.custom_fields or []:
        name = str(spec.get("name", ""))
        if not name:
            continue
        raw = data.get(name, "")
        raw = raw if isinstance(raw, str) else str(raw) if raw is not None else ""
        raw = raw.strip()
        kind = spec.get("type", "text")
        if not raw:
            if spec.get("required") and kind != "checkbox":
                errors.setdefault(name, []).append("This field is required.")
            if kind == "checkbox":
                if spec.get("required"):
                    errors.setdefault(name, []).append("This box must be ticked.")
                values[name] = False
            continue
        if "\x00" in raw or len(raw) > 1000:
            errors.setdefault(name, []).append("At most 1000 characters, no NUL.")
            continue
        if kind == "number":
            try:
                number = Decimal(raw)
            except InvalidOperation:
                errors.setdefault(name, []).append("Enter a number.")
                continue
            if not number.is_finite() or abs(number) >= Decimal("1e15"):
                errors.setdefault(name, []).append("Enter a number.")
                continue
            values[name] = str(number)
        elif kind == "checkbox":
            values[name] = raw.lower() in TRUTHY
        elif kind == "choice":
            choices = [str(c) for c in spec.get("choices", [])]
            if raw not in choices:
                errors.setdefault(name, []).append(f"Choose one of: {', '.join(choices)}.")
                continue
            values[name] = raw
        elif kind == "email":
            try:
                values[name] = serializers.EmailField().run_validation(raw)
            except serializers.ValidationError:
                errors.setdefault(name, []).append("Enter a valid email address.")
        else:
            values[name] = raw
    return values, errors


class TrackEvent(serializers.Serializer):
    """One page view from track.js."""

    visitor_id = serializers.RegexField(VISITOR_ID_RE)
    url = serializers.CharField(max_length=2000)
    referrer = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    ts = serializers.IntegerField(required=False, min_value=0, max_value=10**14)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, serializers.CharField):
                field.validators.append(_no_control_chars)
