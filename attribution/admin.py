"""Attribution runs in the admin: read-only, with their partitions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from attribution.models import AttributionRun, RunPartition, ShareLink


class PartitionInline(admin.TabularInline):
    model = RunPartition
    fields = ["index", "lead_id_from", "lead_id_to", "status", "touches", "conversions",
              "seconds", "refreshed_at"]  # fmt: skip
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(AttributionRun)
class AttributionRunAdmin(admin.ModelAdmin):
    list_display = [
        "id", "status", "scope", "model_names", "lookback_days", "data_cutoff", "finished_at",
        "older_rules",
    ]  # fmt: skip
    list_filter = ["status", "scope"]
    readonly_fields = [f.name for f in AttributionRun._meta.fields]
    inlines = [PartitionInline]

    @admin.display(description=_("based on older channel rules"), boolean=True)
    def older_rules(self, obj: AttributionRun) -> bool:
        return obj.based_on_older_rules

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ["label", "dashboard", "created_by", "created_at", "expires_at", "revoked_at",
                    "last_used_at"]  # fmt: skip
    readonly_fields = ["dashboard", "query", "created_by", "created_at", "expires_at",
                       "revoked_at", "last_used_at"]  # fmt: skip
    actions = ["revoke"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # made from the dashboard, where the token is shown once

    @admin.action(description="Revoke the selected links")
    def revoke(self, request: Any, queryset: Any) -> None:
        from attribution.services import share_link_revoke

        for link in queryset:
            share_link_revoke(link=link)
