"""Segments (dynamic lead lists), their recorded memberships, and nurture email sequences."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


def default_definition() -> dict:
    return {"op": "and", "rules": []}


class Segment(models.Model):
    """A dynamic list of leads: the leads that match `definition` (see nurture.conditions)."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    definition = models.JSONField(_("definition"), default=default_definition)
    member_count = models.PositiveIntegerField(default=0, help_text="At the last refresh.")
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SegmentMembership(models.Model):
    """A lead in a segment as of the last refresh."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    joined_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "lead"], name="segment_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.lead_id}"


class SegmentChange(models.Model):
    """A lead joining or leaving a segment, found by a refresh."""

    class Kind(models.TextChoices):
        JOINED = "joined", _("Joined")
        LEFT = "left", _("Left")

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="changes")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["segment", "-at"])]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.kind} {self.segment_id}"


class Sequence(models.Model):
    """Nurture emails sent one after another to the consenting leads of a segment."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(
        _("slug"), max_length=80, unique=True, help_text=_("utm_campaign of its links.")
    )
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="sequences")
    utm_source = models.SlugField(
        _("utm_source"), max_length=60, default="nurture", help_text=_("utm_source of its links.")
    )
    from_email = models.EmailField(
        _("from address"), blank=True, help_text=_("Empty: the site's DEFAULT_FROM_EMAIL.")
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Step(models.Model):
    """One email of a sequence, sent `delay` after the previous one (or after enrolment)."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(
        _("body"),
        help_text=_(
            "Plain text. Merge fields: {{ first_name }}, {{ last_name }}, {{ email }}, "
            "{{ company }}. Links: https://... or [label](https://...)."
        ),
    )
    delay_days = models.PositiveSmallIntegerField(
        _("delay (days)"), default=0, validators=[MaxValueValidator(365)]
    )
    delay_hours = models.PositiveSmallIntegerField(
        _("delay (hours)"), default=0, validators=[MaxValueValidator(23)]
    )

    class Meta:
        ordering = ["sequence", "position"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "position"], name="step_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.sequence_id}#{self.position} {self.subject}"


class Enrollment(models.Model):
    """A lead going through a sequence: the next step and when it is due."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        STOPPED = "stopped", _("Stopped (no consent)")

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="enrollments")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    next_position = models.PositiveSmallIntegerField(default=1)
    next_due_at = models.DateTimeField(null=True, blank=True)
    enrolled_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sequence", "lead"], name="enrollment_unique")
        ]
        indexes = [models.Index(fields=["status", "next_due_at"])]

    def __str__(self) -> str:
        return f"{self.sequence_id}:{self.lead_id} {self.status}"


class EmailSend(models.Model):
    """One nurture email sent to one lead, with what the lead did with it."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="sends")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="sends")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    opens = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["step", "lead"], name="send_once_per_step")]

    def __str__(self) -> str:
        return f"send {self.pk}"


class EmailClick(models.Model):
    """A click on a link of a nurture email, and the Email touchpoint it made."""

    send = models.ForeignKey(EmailSend, on_delete=models.CASCADE, related_name="click_rows")
    url = models.URLField(max_length=2000)
    clicked_at = models.DateTimeField()
    touchpoint = models.ForeignKey(
        "leads.Touchpoint", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-clicked_at"]

    def __str__(self) -> str:
        return f"click {self.send_id} {self.url[:60]}"
