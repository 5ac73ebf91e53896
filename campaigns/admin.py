"""Admin screens for channels, rules, campaigns, spend and source categories.

Saves go through campaigns.services so every process sees rule edits at once.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from campaigns import services
from campaigns.forms import ChannelRuleAdminForm
from campaigns.models import (
    Campaign,
    Channel,
    ChannelRule,
    ReclassifyJob,
    SourceCategory,
    Spend,
)
from campaigns.rules import bump_rules_version
from clm.templatetags.clm_csp import swatch


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "is_paid", "is_offline", "colour_swatch", "color", "display_order",
                    "is_active"]  # fmt: skip
    list_editable = ["color", "display_order", "is_active"]
    search_fields = ["name"]

    def formfield_for_dbfield(self, db_field: Any, request: Any, **kwargs: Any) -> Any:
        if db_field.name == "color":
            kwargs["widget"] = forms.TextInput(
                attrs={"size": 8, "placeholder": "#4e79a7", "pattern": "#[0-9a-fA-F]{6}"}
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("Chart colour"))
    def colour_swatch(self, obj: Channel) -> str:
        return swatch(obj.color)

    def save_model(self, request: Any, obj: Channel, form: Any, change: bool) -> None:
        services.channel_save(channel=obj)


@admin.register(ChannelRule)
class ChannelRuleAdmin(admin.ModelAdmin):
    form = ChannelRuleAdminForm
    list_display = ["position", "name", "channel", "conditions_text", "is_active", "updated_at"]
    list_display_links = ["name"]
    list_editable = ["position", "is_active"]
    list_filter = ["channel", "is_active"]
    search_fields = ["name", "note"]
    ordering = ["position", "id"]

    class Media:
        css = {"all": ["clm/admin.css"]}  # the conditions box's font: no inline style (CSP)

    @admin.display(description="conditions")
    def conditions_text(self, obj: ChannelRule) -> str:
        parts = [f"{c.get('field')} {c.get('op')} {c.get('value')}" for c in obj.conditions or []]
        return " and ".join(parts) or "always"

    def changelist_view(self, request: Any, extra_context: dict | None = None) -> Any:
        extra_context = extra_context or {}
        extra_context["bench_url"] = reverse("campaigns:rule-bench")
        response = super().changelist_view(request, extra_context)
        if request.method == "POST":
            # list_editable saves bypass save_model; make every process recompile.
            bump_rules_version()
        return response

    def save_model(self, request: Any, obj: ChannelRule, form: Any, change: bool) -> None:
        services.channel_rule_save(rule=obj)

    def delete_model(self, request: Any, obj: ChannelRule) -> None:
        services.channel_rule_delete(rule=obj)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        super().delete_queryset(request, queryset)
        bump_rules_version()


@admin.register(SourceCategory)
class SourceCategoryAdmin(admin.ModelAdmin):
    list_display = ["source", "category"]
    list_filter = ["category"]
    search_fields = ["source"]

    def save_model(self, request: Any, obj: SourceCategory, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        bump_rules_version()

    def delete_model(self, request: Any, obj: SourceCategory) -> None:
        super().delete_model(request, obj)
        bump_rules_version()


class SpendInline(admin.TabularInline):
    model = Spend
    extra = 1
    fields = ["date", "amount", "currency", "impressions", "clicks", "source"]
    ordering = ["-date"]
    max_num = 1000


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "utm_campaign", "status", "start_date", "end_date"]
    list_filter = ["status", "channel"]
    search_fields = ["name", "utm_campaign"]
    autocomplete_fields = ["owner"]
    inlines = [SpendInline]

    def save_model(self, request: Any, obj: Campaign, form: Any, change: bool) -> None:
        services.campaign_save(campaign=obj)


@admin.register(Spend)
class SpendAdmin(admin.ModelAdmin):
    list_display = ["date", "campaign", "amount", "currency", "impressions", "clicks", "source"]
    list_filter = ["source", "currency", "campaign__channel"]
    search_fields = ["campaign__name", "campaign__utm_campaign"]
    date_hierarchy = "date"
    autocomplete_fields = ["campaign"]


@admin.register(ReclassifyJob)
class ReclassifyJobAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "processed", "total", "changed", "created_at", "finished_at"]
    readonly_fields = [f.name for f in ReclassifyJob._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False
