from django.contrib import admin

from attribution.selectors import latest_run
from insights.models import Alert, AlertSubscription, BudgetBound, BudgetPlan, ScoringModel


class BudgetBoundInline(admin.TabularInline):
    model = BudgetBound
    extra = 1


@admin.register(BudgetPlan)
class BudgetPlanAdmin(admin.ModelAdmin):
    """The frame of budget advice: period, total and per-channel bounds."""

    list_display = ("__str__", "total_budget", "max_change", "updated_at")
    inlines = [BudgetBoundInline]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        from insights.hooks import queue_insights_after_run

        run = latest_run()
        if run is not None:  # the advice follows the new bounds without waiting for a run
            queue_insights_after_run(run_id=run.pk)


@admin.register(AlertSubscription)
class AlertSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "kinds")


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = (
        "title", "kind", "created_at", "resolved_at", "dismissed_at", "snoozed_until",
        "assigned_to",
    )  # fmt: skip
    list_filter = ("kind", "resolved_at", "dismissed_at")
    readonly_fields = (
        "kind", "key", "title", "detail", "data", "created_at", "dismissed_at", "dismissed_by",
        "snoozed_at", "snoozed_by", "assigned_at", "assigned_by",
    )  # fmt: skip


@admin.register(ScoringModel)
class ScoringModelAdmin(admin.ModelAdmin):
    list_display = ("__str__", "trained_at", "auc", "labelled_leads", "scored_leads")
    readonly_fields = (
        "spec",
        "metrics",
        "calibration",
        "trained_at",
        "labelled_leads",
        "scored_leads",
    )
