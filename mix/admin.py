from typing import Any

from django.contrib import admin

from mix import services
from mix.models import ChannelBound, Control, LiftTest, MixModelRun


@admin.register(LiftTest)
class LiftTestAdmin(admin.ModelAdmin):
    """Measured lifts: the next fit takes each in as evidence for its channel and weeks."""

    list_display = ("channel", "outcome", "start", "end", "lift", "low", "high", "note")
    list_filter = ("outcome", "channel")

    def save_model(self, request: Any, obj: LiftTest, form: Any, change: bool) -> None:
        services.lift_test_save(test=obj)


@admin.register(Control)
class ControlAdmin(admin.ModelAdmin):
    """A launch, a price change: its dates get their own effect in the next fit."""

    list_display = ("name", "start", "end")

    def save_model(self, request: Any, obj: Control, form: Any, change: bool) -> None:
        services.control_save(control=obj)


@admin.register(ChannelBound)
class ChannelBoundAdmin(admin.ModelAdmin):
    """Each channel's least and most weekly spend for the optimiser's proposals."""

    list_display = ("channel", "min_weekly", "max_weekly")

    def save_model(self, request: Any, obj: ChannelBound, form: Any, change: bool) -> None:
        services.bound_save(bound=obj)


@admin.register(MixModelRun)
class MixModelRunAdmin(admin.ModelAdmin):
    list_display = ("__str__", "outcome", "attribution_model", "status", "progress", "finished_at")
    list_filter = ("status", "outcome")
    readonly_fields = [f.name for f in MixModelRun._meta.get_fields() if f.concrete]

    def has_add_permission(self, request: Any) -> bool:
        return False
