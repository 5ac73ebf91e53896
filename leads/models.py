"""Visitors, touchpoints, leads, capture forms and the raw submissions they receive."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from leads.heard_about import options_errors


def normalise_email(email: str) -> str:
    """The one stored form of an address: trimmed, lower-cased (one lead per person)."""
    return str(email or "").strip().lower()


def new_form_key() -> str:
    """An unguessable public key for a capture form."""
    return secrets.token_urlsafe(18)


class CaptureForm(models.Model):
    """A form on a landing page that posts to /api/v1/capture/<key>/."""

    class Assignment(models.TextChoices):
        ROUND_ROBIN = "round_robin", "Round-robin among active reps"
        FIXED_OWNER = "fixed_owner", "Always the form's owner"
        UNASSIGNED = "unassigned", "Leave unassigned"

    name = models.CharField(max_length=120)
    key = models.CharField(max_length=64, unique=True, default=new_form_key, editable=False)
    slug = models.SlugField(
        max_length=80, unique=True, null=True, blank=True, help_text="Hosted page at /l/<slug>/"
    )
    headline = models.CharField(max_length=200, blank=True)
    intro = models.TextField(blank=True, help_text="Text shown above the form on the hosted page.")
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text='Origins allowed to post with JavaScript, e.g. ["https://www.example.com"].',
    )
    custom_fields = models.JSONField(
        default=list,
        blank=True,
        help_text='Extra fields: [{"name": "budget", "label": "Budget", "type": "number", '
        '"required": false}]. Types: text, email, number, choice, checkbox.',
    )
    required_fields = models.JSONField(
        default=list, blank=True, help_text='Built-in fields required besides email, e.g. ["name"].'
    )
    success_url = models.URLField(max_length=500, blank=True)
    consent_text = models.TextField(blank=True)
    consent_version = models.CharField(max_length=40, blank=True)
    default_campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.SET_NULL, null=True, blank=True
    )
    assignment = models.CharField(
        max_length=20, choices=Assignment.choices, default=Assignment.ROUND_ROBIN
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    honeypot_field = models.CharField(max_length=40, default="website")
    min_fill_seconds = models.PositiveIntegerField(
        default=2, help_text="Posts faster than this after the page loaded are treated as bots."
    )
    ask_heard_about = models.BooleanField(
        default=False,
        help_text="Ask “How did you hear about us?” (the options below, plus “Other” with text).",
    )
    heard_about_options = models.JSONField(
        default=list,
        blank=True,
        help_text='[{"key": "podcast", "label": "Podcast"}, ...]; empty: the default list.',
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problems = options_errors(self.heard_about_options)
        if problems:
            raise ValidationError({"heard_about_options": problems})

    @property
    def url(self) -> str:
        return f"/api/v1/capture/{self.key}/"


class Visitor(models.Model):
    """A browser, known by the first-party id track.js keeps in a cookie."""

    id = models.CharField(max_length=64, primary_key=True)
    lead = models.ForeignKey(
        "Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="visitors"
    )
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return self.id


class Lead(models.Model):
    """A person who left their contact details; one per normalised email."""

    class Stage(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified (SQL)")
        OPPORTUNITY = "opportunity", _("Opportunity")
        CUSTOMER = "customer", _("Customer")
        DISQUALIFIED = "disqualified", _("Disqualified")

    # Stored normalised (normalise_email): unique case-insensitively, by the constraint below.
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    company = models.CharField(max_length=200, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    form = models.ForeignKey(
        CaptureForm, on_delete=models.SET_NULL, null=True, blank=True, related_name="leads"
    )
    # Lifecycle and owner are written by crm.services only.
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_leads",
    )
    first_touch = models.ForeignKey(
        "Touchpoint", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The first touch's channel and campaign, copied here by the services that set first_touch
    # or change a touchpoint's channel/campaign, so per-source aggregates over every lead need
    # no join to the (much larger) touchpoint table.
    first_channel = models.ForeignKey(
        "campaigns.Channel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    first_campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    creation_touch = models.ForeignKey(
        "Touchpoint", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    latest_touch = models.ForeignKey(
        "Touchpoint", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # "How did you hear about us?": the first answer given (an option key or "other" with its
    # text), or what sales set on the lead page (heard_about_edited_at), which no post changes.
    heard_about = models.CharField(max_length=40, blank=True, db_index=True)
    heard_about_other = models.CharField(max_length=200, blank=True)
    heard_about_edited_at = models.DateTimeField(null=True, blank=True)
    # When an existing lead's answer last changed (a later post's first answer, or sales'
    # edit): the dashboards' cached self-reported figures key on its maximum.
    heard_about_changed_at = models.DateTimeField(null=True, blank=True)
    consent_given = models.BooleanField(default=False)
    consent_version = models.CharField(max_length=40, blank=True)
    consent_text = models.TextField(blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_page = models.URLField(max_length=2000, blank=True)
    # Set when the person withdrew consent: they are left out of every export from then on.
    consent_withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Set when the person's data was erased (leads.erasure.person_erase): the row stays,
    # anonymised, so deals, touchpoints and attribution totals do not change.
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    # Kept by the CRM's activity services so speed-to-lead needs no scan of activities.
    first_contacted_at = models.DateTimeField(
        null=True, blank=True, help_text="First contact by sales at or after capture."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="lead_email_unique_ci",
                violation_error_message=_("A lead with this email address already exists."),
            )
        ]
        indexes = [
            models.Index(fields=["owner", "stage", "-created_at"]),
            # Leads waiting for a first contact (a small share): the sales dashboard's list.
            models.Index(
                fields=["created_at"],
                condition=models.Q(stage="new", last_contacted_at__isnull=True),
                name="lead_waiting_idx",
            ),
            # Time to first contact: the sales dashboard reads the leads of one bucket of it
            # to find exact medians (crm.contact_times.contact_medians).
            models.Index(
                models.ExpressionWrapper(
                    models.F("first_contacted_at") - models.F("created_at"),
                    output_field=models.DurationField(),
                ),
                name="lead_time_to_contact_idx",
            ),
            # The dashboards' data version reads MAX(heard_about_edited_at) on every view: a
            # scan of every lead without it (30 ms at 100,000 leads); few leads have one.
            models.Index(
                fields=["heard_about_edited_at"],
                condition=models.Q(heard_about_edited_at__isnull=False),
                name="lead_heard_edited_idx",
            ),
            models.Index(
                fields=["heard_about_changed_at"],
                condition=models.Q(heard_about_changed_at__isnull=False),
                name="lead_heard_changed_idx",
            ),
            # The marketing dashboard's "Other" answers of a period, read from this index alone
            # on PostgreSQL (at 1,000,000 leads the heap reads of the year's 22,000 took 80 ms).
            models.Index(
                fields=["created_at"],
                include=["heard_about_other", "first_channel", "first_campaign"],
                condition=models.Q(heard_about="other"),
                name="lead_other_answer_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        self.email = normalise_email(self.email)

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email


class Submission(models.Model):
    """A raw form post as received, kept whatever happened to it."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected (invalid)"
        SPAM = "spam", "Spam (bot check)"

    form = models.ForeignKey(
        CaptureForm, on_delete=models.SET_NULL, null=True, related_name="submissions"
    )
    form_key = models.CharField(max_length=64, db_index=True)
    received_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.TextField(blank=True)
    payload = models.JSONField(default=dict)
    payload_hash = models.CharField(max_length=64)
    # NULL, not "", when absent: the unique constraint below ignores NULLs.
    submission_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    lead = models.ForeignKey(
        Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="submissions"
    )
    lead_created = models.BooleanField(default=False)
    user_agent = models.CharField(max_length=400, blank=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    origin = models.CharField(max_length=300, blank=True)
    heard_about = models.CharField(max_length=40, blank=True)
    heard_about_other = models.CharField(max_length=200, blank=True)
    # Set by the follow-up task (owner notified ...) that the outbox queues with the capture.
    followed_up_at = models.DateTimeField(null=True, blank=True)
    # The post said consent=yes for a person who had withdrawn consent: not re-granted.
    consent_ignored = models.BooleanField(default=False)
    # Suspected spam an admin marked "not spam": captured then, like any post (status accepted).
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["form_key", "submission_id"],
                condition=models.Q(submission_id__isnull=False),
                name="submission_unique_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.form_key} {self.received_at:%Y-%m-%d %H:%M} {self.status}"


class Touchpoint(models.Model):
    """One interaction on a journey: a page view, a form submission, an offline touch."""

    class Kind(models.TextChoices):
        PAGE_VIEW = "page_view", _("Page view")
        FORM_SUBMIT = "form_submit", _("Form submission")
        OFFLINE = "offline", _("Offline touch")
        EMAIL_CLICK = "email_click", _("Email click")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="touchpoints"
    )
    visitor = models.ForeignKey(
        Visitor, on_delete=models.SET_NULL, null=True, blank=True, related_name="touchpoints"
    )
    submission = models.ForeignKey(
        Submission, on_delete=models.SET_NULL, null=True, blank=True, related_name="touchpoints"
    )
    url = models.URLField(max_length=2000, blank=True)
    referrer = models.URLField(max_length=2000, blank=True)
    title = models.CharField(max_length=300, blank=True)
    utm_source = models.CharField(max_length=255, blank=True)
    utm_medium = models.CharField(max_length=255, blank=True)
    utm_campaign = models.CharField(max_length=255, blank=True)
    utm_term = models.CharField(max_length=255, blank=True)
    utm_content = models.CharField(max_length=255, blank=True)
    click_ids = models.JSONField(default=dict, blank=True)
    # What the classifier concluded: the effective source/medium, the channel and the rule.
    source = models.CharField(max_length=255, blank=True)
    medium = models.CharField(max_length=255, blank=True)
    self_referral = models.BooleanField(default=False)
    # Joined to a lead that already existed, by an anonymous post (capture stitching a visitor,
    # track), with a time before the lead was created: nobody vouches for it, so it is kept
    # but never becomes the lead's first touch and counts in no attribution journey.
    late_stitched = models.BooleanField(default=False)
    channel = models.ForeignKey(
        "campaigns.Channel", on_delete=models.PROTECT, related_name="touchpoints"
    )
    matched_rule = models.CharField(max_length=40, blank=True)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="touchpoints",
    )

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["lead", "occurred_at"]),
            models.Index(fields=["visitor", "occurred_at"]),
            models.Index(fields=["channel", "occurred_at"]),
            models.Index(fields=["campaign", "occurred_at"]),
            models.Index(
                fields=["utm_campaign"],
                condition=models.Q(campaign__isnull=True) & ~models.Q(utm_campaign=""),
                name="touch_untracked_campaign",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d %H:%M}"


class Erasure(models.Model):
    """A record that a person's data was erased: who did it and when, never who it was.

    `email_hash` is an HMAC of the normalised email under SECRET_KEY, so a later request about
    the same address can be matched without keeping the address.
    """

    email_hash = models.CharField(max_length=64, db_index=True)
    lead_id = models.BigIntegerField(null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    by_label = models.CharField(max_length=150, blank=True, help_text="Who, as it was then.")
    at = models.DateTimeField()
    counts = models.JSONField(default=dict, help_text="Rows erased or anonymised, per kind.")

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"erasure {self.at:%Y-%m-%d %H:%M} ({self.email_hash[:12]})"
