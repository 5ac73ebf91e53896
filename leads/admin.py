"""Admin screens for capture forms and the captured data (raw data read-only)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html

from clm.public_url import public_base_url
from leads import erasure, privacy
from leads.heard_about import form_options
from leads.models import CaptureForm, Erasure, Lead, Submission, Touchpoint, Visitor


def embed_snippet(form: CaptureForm, base: str) -> str:
    """The HTML a site owner pastes into a page: the script tag and a form posting to CLM."""
    capture = base + reverse("leads-api:capture", args=[form.key])
    script = base + static("clm/track.js")
    hp = form.honeypot_field
    heard = ""
    if form.ask_heard_about:
        options = "".join(
            f'<option value="{escape(key)}">{escape(label)}</option>'
            for key, label in form_options(form)
        )
        heard = (
            '  <select name="heard_about"><option value="">How did you hear about us?</option>'
            f'{options}<option value="other">Other</option></select>\n'
            '  <input type="text" name="heard_about_other" maxlength="200" placeholder="Other">\n'
        )
    return (
        f'<script src="{script}" data-clm-endpoint="{base}" defer></script>\n'
        f'<form method="post" action="{capture}" data-clm-form="{form.key}">\n'
        '  <input type="email" name="email" required placeholder="Work email">\n'
        '  <input type="text" name="name" placeholder="Name">\n'
        '  <input type="text" name="company" placeholder="Company">\n'
        f"{heard}"
        f'  <div style="position:absolute;left:-10000px" aria-hidden="true">'
        f'<input type="text" name="{hp}" tabindex="-1" autocomplete="off"></div>\n'
        '  <button type="submit">Send</button>\n'
        "</form>"
    )


@admin.register(CaptureForm)
class CaptureFormAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "assignment", "default_campaign", "hosted_page"]
    list_filter = ["is_active", "assignment"]
    search_fields = ["name", "slug"]
    readonly_fields = ["key", "embed"]

    class Media:
        css = {"all": ["clm/admin.css"]}
        js = ["clm/admin.js"]

    fieldsets = [
        (None, {"fields": ["name", "is_active", "key", "embed"]}),
        ("Hosted page", {"fields": ["slug", "headline", "intro"]}),
        (
            "Fields and consent",
            {"fields": ["required_fields", "custom_fields", "consent_text", "consent_version"]},
        ),
        ("How did you hear about us?", {"fields": ["ask_heard_about", "heard_about_options"]}),
        ("After submit", {"fields": ["success_url", "default_campaign", "assignment", "owner"]}),
        ("Protection", {"fields": ["allowed_origins", "honeypot_field", "min_fill_seconds"]}),
    ]

    def get_form(self, request: Any, obj: Any = None, **kwargs: Any) -> Any:
        self._base = public_base_url(request)
        return super().get_form(request, obj, **kwargs)

    @admin.display(description="Embed snippet")
    def embed(self, obj: CaptureForm) -> str:
        if not obj.pk:
            return "Save the form to get its snippet."
        snippet = embed_snippet(obj, getattr(self, "_base", ""))
        # No inline style or handler (the admin runs under the CSP): static/clm/admin.* do it.
        return format_html(
            '<textarea readonly rows="9" cols="100" class="clm-embed">{}</textarea>', snippet
        )

    @admin.display(description="Hosted page")
    def hosted_page(self, obj: CaptureForm) -> str:
        if not obj.slug:
            return ""
        url = reverse("leads:landing", args=[obj.slug])
        return format_html('<a href="{}" target="_blank">{}</a>', url, url)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "form", "status", "lead", "lead_created", "reason"]
    list_filter = ["status", "consent_ignored", "form"]
    search_fields = ["submission_id", "lead__email"]
    date_hierarchy = "received_at"


@admin.register(Touchpoint)
class TouchpointAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "kind", "lead", "channel", "campaign", "source", "medium"]
    list_filter = ["kind", "late_stitched", "channel"]
    search_fields = ["lead__email", "utm_campaign", "url"]
    list_select_related = ["lead", "channel", "campaign"]
    date_hierarchy = "occurred_at"


@admin.register(Visitor)
class VisitorAdmin(ReadOnlyAdmin):
    list_display = ["id", "lead", "first_seen", "last_seen"]
    search_fields = ["id", "lead__email"]


@admin.action(description="Export the selected people's data (JSON)")
def export_people(modeladmin: Any, request: Any, queryset: Any) -> HttpResponse:
    data = [privacy.person_export(email=lead.email) for lead in queryset]
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="clm-people-export.json"'
    return response


@admin.action(description="Withdraw consent of the selected people (no more exports)")
def withdraw_consent(modeladmin: Any, request: Any, queryset: Any) -> None:
    for lead in queryset:
        privacy.consent_withdraw(email=lead.email)
    modeladmin.message_user(request, f"Consent withdrawn for {queryset.count()} people.")


@admin.action(description="Erase the selected people (right to erasure)")
def erase_people(modeladmin: Any, request: Any, queryset: Any) -> HttpResponse | None:
    if not request.user.is_superuser and not request.user.has_perm("leads.delete_lead"):
        modeladmin.message_user(request, "You may not erase people.", messages.ERROR)
        return None
    queryset = queryset.filter(erased_at__isnull=True)
    if request.POST.get("confirm") != "yes":
        # Erasure cannot be undone: a confirmation page first, as Django's delete action has.
        return TemplateResponse(
            request,
            "admin/leads/lead/erase_confirm.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": "Erase these people?",
                "leads": queryset,
                "opts": modeladmin.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )
    erased = [erasure.person_erase(email=lead.email, by=request.user) for lead in queryset]
    modeladmin.message_user(request, f"Erased {len(erased)} people.", messages.SUCCESS)
    return None


@admin.register(Erasure)
class ErasureAdmin(ReadOnlyAdmin):
    list_display = ["at", "by_label", "lead_id", "email_hash", "counts"]
    search_fields = ["email_hash"]

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "company", "stage", "owner", "created_at"]
    list_filter = ["stage", "form"]
    actions = [export_people, withdraw_consent, erase_people]
    search_fields = ["email", "first_name", "last_name", "company"]
    readonly_fields = [
        "stage", "owner", "first_touch", "creation_touch", "latest_touch", "created_at",
        "consent_given", "consent_version", "consent_text", "consent_at", "consent_page",
        "consent_withdrawn_at", "erased_at", "heard_about_changed_at",
    ]  # fmt: skip

    def save_model(self, request: Any, obj: Lead, form: Any, change: bool) -> None:
        # An answer changed here moves the newest change, as sales' edit does (the dashboards'
        # cached self-reported figures key on it).
        if change and {"heard_about", "heard_about_other"} & set(form.changed_data):
            obj.heard_about_changed_at = timezone.now()
        super().save_model(request, obj, form, change)
