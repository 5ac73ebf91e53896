"""Admin screens: API tokens (revoke only), webhook endpoints, deliveries with their attempts,
ad-platform conversion actions and their conversions (read only, with their attempts).

Saves go through integrations.services and integrations.conversions (URL safety, known events,
no secret in a credentials reference); deliveries are redelivered with an admin action.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from integrations import conversions, services
from integrations.events import EVENTS
from integrations.models import (
    ApiToken,
    Conversion,
    ConversionAction,
    ConversionAttempt,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "read_only", "created_at", "expires_at",
                    "last_used_at", "revoked_at"]  # fmt: skip
    list_filter = ["read_only"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["user", "name", "prefix", "read_only", "created_at", "expires_at",
                       "last_used_at", "revoked_at"]  # fmt: skip
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # users create their own tokens at /accounts/tokens/

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            services.token_revoke(token=token, by=request.user)
        messages.success(request, f"{queryset.count()} token(s) revoked.")


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in EVENTS], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "url" in data and "events" in data:
            try:
                services.webhook_endpoint_validate(url=data["url"], events=data["events"])
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    self.add_error(field, errors)
        return data


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "description", "events", "is_active", "created_at"]
    readonly_fields = ["secret", "created_by", "created_at"]

    def save_model(self, request: Any, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        services.webhook_endpoint_save(endpoint=obj)


class AttemptInline(admin.TabularInline):
    """One row per HTTP try, read only: webhook deliveries and conversion uploads."""

    extra = 0
    can_delete = False
    fields = ["number", "at", "status_code", "response_ms", "error", "response_excerpt"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WebhookAttemptInline(AttemptInline):
    model = WebhookAttempt


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "endpoint", "status", "attempts", "last_status_code",
                    "created_at", "delivered_at"]  # fmt: skip
    list_filter = ["status", "event"]
    search_fields = ["id", "endpoint__url"]
    readonly_fields = ["id", "endpoint", "event", "body", "status", "attempts", "created_at",
                       "next_attempt_at", "last_status_code", "last_error",
                       "delivered_at"]  # fmt: skip
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Redeliver the selected deliveries")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        copies = [services.delivery_redeliver(delivery=d) for d in queryset]
        messages.success(request, f"{len(copies)} delivery(ies) queued again.")


class ConversionActionForm(forms.ModelForm):
    endpoint_url = forms.URLField(
        label=_("endpoint URL"),
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=_("HTTPS address the scheduled upload posts to; empty: CSV download only."),
    )

    class Meta:
        model = ConversionAction
        fields = ["outcome", "platform", "conversion_name", "fixed_value", "currency",
                  "endpoint_url", "credentials_env", "is_active"]  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        candidate = ConversionAction(
            endpoint_url=data.get("endpoint_url") or "",
            credentials_env=data.get("credentials_env") or "",
            currency=data.get("currency") or "",
        )
        try:
            conversions.conversion_action_validate(action=candidate)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return data


@admin.register(ConversionAction)
class ConversionActionAdmin(admin.ModelAdmin):
    form = ConversionActionForm
    list_display = ["conversion_name", "platform", "outcome", "fixed_value", "currency",
                    "endpoint_url", "is_active"]  # fmt: skip
    list_filter = ["platform", "outcome", "is_active"]

    def save_model(self, request: Any, obj: ConversionAction, form: Any, change: bool) -> None:
        conversions.conversion_action_save(action=obj)


class ConversionAttemptInline(AttemptInline):
    model = ConversionAttempt


@admin.register(Conversion)
class ConversionAdmin(admin.ModelAdmin):
    list_display = ["subject", "action", "status", "reason", "occurred_at", "attempts", "sent_at"]
    list_filter = ["status", "action"]
    readonly_fields = ["action", "subject", "lead", "deal", "occurred_at", "value", "currency",
                       "click_id_name", "click_id", "clicked_at", "status", "reason", "attempts",
                       "next_attempt_at", "sent_at", "created_at"]  # fmt: skip
    inlines = [ConversionAttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
