from django.contrib import admin

from nurture.models import EmailSend, Enrollment, Segment, SegmentChange, Sequence, Step


class StepInline(admin.StackedInline):
    model = Step
    extra = 0


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "member_count", "refreshed_at"]
    readonly_fields = ["member_count", "refreshed_at", "created_by"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        from nurture.services import segment_save

        segment_save(
            segment=obj if change else None,
            name=obj.name,
            description=obj.description,
            definition=obj.definition,
            by=request.user,
        )


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "segment", "status"]
    inlines = [StepInline]


@admin.register(SegmentChange)
class SegmentChangeAdmin(admin.ModelAdmin):
    list_display = ["segment", "lead", "kind", "at"]
    list_filter = ["kind", "segment"]
    raw_id_fields = ["lead"]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ["sequence", "lead", "status", "next_position", "next_due_at"]
    list_filter = ["status", "sequence"]
    raw_id_fields = ["lead"]


@admin.register(EmailSend)
class EmailSendAdmin(admin.ModelAdmin):
    list_display = ["step", "lead", "sent_at", "opened_at", "clicks", "unsubscribed_at"]
    raw_id_fields = ["lead", "enrollment"]
