"""Admin lists of outbox messages (read-only) and dead letters (with a replay action)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from outbox.models import DeadLetter, OutboxMessage
from outbox.services import dead_letter_replay


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the outbox services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "task", "status", "attempts", "created_at", "sent_at", "next_attempt_at"]
    list_filter = ["status", "task"]
    search_fields = ["task", "key", "uuid"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    date_hierarchy = "created_at"


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = ["id", "task", "source", "error_short", "failed_at", "replayed_at"]
    list_filter = ["source", "task", ("replayed_at", admin.EmptyFieldListFilter)]
    search_fields = ["task", "task_id", "error"]
    readonly_fields = [f.name for f in DeadLetter._meta.fields]
    actions = ["replay"]

    @admin.display(description="error")
    def error_short(self, obj: DeadLetter) -> str:
        return obj.error[:120]

    @admin.action(description="Replay: queue the task again")
    def replay(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        count = dead_letter_replay(dead_letters=queryset, by=request.user.get_username())
        skipped = queryset.count() - count
        note = f" ({skipped} already replayed, skipped)" if skipped else ""
        self.message_user(request, f"{count} dead letter(s) queued again{note}.", messages.SUCCESS)
