"""Admin screens of the CRM: the editable lists, and records whose saves go through services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from crm import services
from crm.models import (
    Account,
    AccountContact,
    AccountDomain,
    Activity,
    Deal,
    DealContact,
    DisqualifyReason,
    FreeMailDomain,
    LeadFeedback,
    LeadHistory,
    PipelineStage,
    QualityReason,
    SavedView,
    Task,
)


@admin.register(DisqualifyReason)
class DisqualifyReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "is_active"]
    list_editable = ["order", "is_active"]
    search_fields = ["name"]


@admin.register(QualityReason)
class QualityReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "applies_to", "order", "is_active"]
    list_editable = ["applies_to", "order", "is_active"]
    list_filter = ["applies_to", "is_active"]
    search_fields = ["name"]


@admin.register(PipelineStage)
class PipelineStageAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order", "is_won", "is_lost", "is_active"]
    list_editable = ["order", "is_active"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(LeadHistory)
class LeadHistoryAdmin(admin.ModelAdmin):
    """The audit trail: read-only."""

    list_display = ["at", "lead", "field", "old", "new", "disqualify_reason", "by"]
    list_filter = ["field", "new"]
    search_fields = ["lead__email"]
    list_select_related = ["lead", "by", "disqualify_reason"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _raise_as_form_errors(form: forms.ModelForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class ServiceAdmin(admin.ModelAdmin):
    """Runs the write in the form's validation, so a service's refusal shows as form errors."""

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        base = super().get_form(request, obj, **kwargs)
        admin_self = self

        class ServiceForm(base):  # type: ignore[misc, valid-type]
            def _post_clean(self) -> None:
                super()._post_clean()
                if self.errors:
                    return
                try:
                    # A savepoint: a refusal half-way undoes the whole write.
                    with transaction.atomic():
                        admin_self.write(request=request, form=self, obj=obj)
                except ValidationError as exc:
                    _raise_as_form_errors(self, exc)

        return ServiceForm

    def write(self, *, request: HttpRequest, form: Any, obj: Any) -> None:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The service already wrote it in the form's validation; copy the result back.
        saved = form.saved
        obj.pk = saved.pk
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if k != "_state"})
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        return None


@admin.register(Activity)
class ActivityAdmin(ServiceAdmin):
    list_display = ["occurred_at", "kind", "outcome", "lead", "by", "channel", "campaign"]
    list_filter = ["kind", "outcome", "channel"]
    search_fields = ["lead__email", "notes"]
    list_select_related = ["lead", "by", "channel", "campaign"]
    raw_id_fields = ["lead"]
    date_hierarchy = "occurred_at"
    fields = ["lead", "kind", "outcome", "occurred_at", "duration", "notes", "channel", "campaign"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["lead", "kind", "channel", "campaign"] if obj else []

    def write(self, *, request: HttpRequest, form: Any, obj: Any) -> None:
        data = form.cleaned_data
        if obj is None:
            form.saved = services.activity_log(
                lead=data["lead"],
                kind=data["kind"],
                by=request.user,
                outcome=data.get("outcome", ""),
                occurred_at=data.get("occurred_at"),
                duration=data.get("duration"),
                notes=data.get("notes", ""),
                channel=data.get("channel"),
                campaign=data.get("campaign"),
            )
        else:
            original = Activity.objects.get(pk=obj.pk)
            changed = {k: data[k] for k in form.changed_data if k in data}
            form.saved = services.activity_update(activity=original, by=request.user, data=changed)

    def delete_model(self, request: HttpRequest, obj: Activity) -> None:
        services.activity_delete(activity=obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Activity]) -> None:
        for activity in queryset.filter(touchpoint__isnull=True):
            services.activity_delete(activity=activity, by=request.user)


@admin.register(LeadFeedback)
class LeadFeedbackAdmin(ServiceAdmin):
    """Ratings are added, never edited: a new rating replaces the current one."""

    list_display = ["created_at", "lead", "rating", "reason", "is_current", "by"]
    list_filter = ["rating", "is_current", "reason"]
    search_fields = ["lead__email", "note"]
    list_select_related = ["lead", "reason", "by"]
    raw_id_fields = ["lead"]
    fields = ["lead", "rating", "reason", "note"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def write(self, *, request: HttpRequest, form: Any, obj: Any) -> None:
        data = form.cleaned_data
        form.saved = services.feedback_rate(
            lead=data["lead"],
            rating=data["rating"],
            by=request.user,
            reason=data.get("reason"),
            note=data.get("note", ""),
        )


@admin.register(Deal)
class DealAdmin(ServiceAdmin):
    list_display = ["name", "lead", "amount", "stage", "owner", "expected_close_date", "closed_at"]
    list_filter = ["stage", "owner"]
    search_fields = ["name", "lead__email", "lead__company"]
    list_select_related = ["lead", "stage", "owner"]
    raw_id_fields = ["lead"]
    fields = [
        "lead", "name", "amount", "expected_close_date", "stage", "close_reason", "owner",
        "opportunity_created_at", "closed_at", "created_at",
    ]  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        always = ["opportunity_created_at", "closed_at", "created_at"]
        return ["lead", *always] if obj else always

    def write(self, *, request: HttpRequest, form: Any, obj: Any) -> None:
        data = form.cleaned_data
        if obj is None:
            form.saved = services.deal_create(
                lead=data["lead"],
                name=data["name"],
                by=request.user,
                amount=data["amount"],
                expected_close_date=data.get("expected_close_date"),
                owner=data.get("owner"),
            )
            if data["stage"].is_closed or data["stage"] != form.saved.stage:
                form.saved = services.deal_move_stage(
                    deal=form.saved,
                    stage=data["stage"],
                    by=request.user,
                    reason=data.get("close_reason", ""),
                )
            return
        deal = Deal.objects.select_related("lead", "stage").get(pk=obj.pk)
        plain = {
            k: data[k]
            for k in ("name", "amount", "expected_close_date", "owner")
            if k in form.changed_data
        }
        if plain:
            deal = services.deal_update(deal=deal, by=request.user, data=plain)
        if "stage" in form.changed_data:
            deal = services.deal_move_stage(
                deal=deal, stage=data["stage"], by=request.user, reason=data["close_reason"]
            )
        elif "close_reason" in form.changed_data and deal.closed_at is not None:
            deal = services.deal_close(
                deal=deal, won=deal.stage.is_won, by=request.user, reason=data["close_reason"]
            )
        form.saved = deal

    def delete_model(self, request: HttpRequest, obj: Deal) -> None:
        services.deal_delete(deal=obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Deal]) -> None:
        for deal in queryset.select_related("lead", "stage"):
            services.deal_delete(deal=deal, by=request.user)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "lead", "kind", "assignee", "due_at", "done_at", "reminder_sent_at"]
    list_filter = ["kind"]
    raw_id_fields = ["lead", "assignee", "created_by"]
    readonly_fields = ["reminder_sent_at", "created_at"]
    search_fields = ["title"]


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "shared", "query"]
    list_filter = ["shared"]
    raw_id_fields = ["owner"]


def _run_action(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    write: Callable[[], Any],
    done: Callable[[Any], str],
) -> None:
    """Run an action's service; a refusal becomes an error message, success `done(result)`."""
    try:
        result = write()
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(getattr(exc, "messages", [str(exc)]))
        model_admin.message_user(request, text, messages.ERROR)
        return
    model_admin.message_user(request, done(result))


@admin.register(FreeMailDomain)
class FreeMailDomainAdmin(admin.ModelAdmin):
    """The free-mail providers whose addresses never group people ("yahoo.*": any suffix)."""

    list_display = ["pattern"]
    search_fields = ["pattern"]


class AccountDomainInline(admin.TabularInline):
    model = AccountDomain
    extra = 0
    readonly_fields = ["domain"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ServiceAdmin):
    """Accounts; the actions merge the ticked accounts, saves go through crm.services."""

    list_display = ["name", "owner", "is_target", "tier", "created_at"]
    list_filter = ["is_target", "tier"]
    search_fields = ["name", "domains__domain"]
    raw_id_fields = ["owner"]
    fields = ["name", "owner", "is_target", "tier"]
    inlines = [AccountDomainInline]
    actions = ["merge_into_oldest"]

    def write(self, *, request: HttpRequest, form: Any, obj: Any) -> None:
        data = form.cleaned_data
        if obj is None:
            form.saved = services.account_create(by=request.user, **data)
        else:
            form.saved = services.account_update(
                account=Account.objects.get(pk=obj.pk), by=request.user, **data
            )

    @admin.action(description="Merge the selected accounts into the oldest of them")
    def merge_into_oldest(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        accounts = list(queryset.order_by("pk"))
        if len(accounts) < 2:
            self.message_user(request, "Select two accounts or more to merge.", messages.ERROR)
            return
        _run_action(
            self,
            request,
            lambda: services.account_merge(
                target=accounts[0], sources=accounts[1:], by=request.user
            ),
            lambda target: f"Merged {len(accounts) - 1} accounts into {target.name}.",
        )


@admin.register(AccountContact)
class AccountContactAdmin(admin.ModelAdmin):
    """Who is in which account; the action splits the ticked people off into a new account."""

    list_display = ["lead", "account", "matched_by", "at"]
    list_filter = ["matched_by"]
    search_fields = ["lead__email", "account__name"]
    list_select_related = ["lead", "account"]
    actions = ["split_off"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Split the selected people (and their deals) into a new account")
    def split_off(self, request: HttpRequest, queryset: QuerySet[AccountContact]) -> None:
        rows = list(queryset.select_related("account"))
        accounts = {row.account for row in rows}
        if len(accounts) != 1:
            self.message_user(request, "Select people of one account.", messages.ERROR)
            return
        (account,) = accounts
        _run_action(
            self,
            request,
            lambda: services.account_split(
                account=account,
                name=f"{account.name} (split)",
                lead_ids=[row.lead_id for row in rows],
                by=request.user,
            ),
            lambda new: f"Moved {len(rows)} people to the new account {new.name}.",
        )


@admin.register(DealContact)
class DealContactAdmin(admin.ModelAdmin):
    list_display = ["deal", "lead", "role", "is_primary"]
    list_filter = ["role", "is_primary"]
    raw_id_fields = ["deal", "lead"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
