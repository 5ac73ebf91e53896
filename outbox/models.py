"""The transactional outbox (work to hand to Celery) and the dead letters (work that failed)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    """A Celery task to send, written in the same transaction as the change that needs it.

    The relay sends pending rows to the broker and marks them sent only after the broker took
    them; the task's success marks them done. A message sent but not done in time (the broker
    or a killed worker lost it) is sent again, so a committed change never loses its follow-up
    work, whatever the broker or the workers do.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DONE = "done", "Done (the task ran)"
        DEAD = "dead", "Dead (attempts spent or the task failed)"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    task = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    # Unique when set: enqueueing the same key again adds nothing (an idempotent producer).
    key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The relay's query: due pending rows, oldest first.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status="pending"),
                name="outbox_pending_due",
            ),
            models.Index(fields=["status", "sent_at"], name="outbox_status_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.status} #{self.pk}"


class DeadLetter(models.Model):
    """Work that failed for good: a task whose retries ran out, or an outbox message the relay
    could not send after CLM_OUTBOX_MAX_ATTEMPTS tries. An admin can replay it."""

    class Source(models.TextChoices):
        TASK = "task", "Task failed"
        OUTBOX = "outbox", "Outbox relay failed"

    source = models.CharField(max_length=6, choices=Source.choices)
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    failed_at = models.DateTimeField(default=timezone.now, db_index=True)
    replayed_at = models.DateTimeField(null=True, blank=True)
    replayed_by = models.CharField(max_length=150, blank=True)
    replay = models.ForeignKey(
        OutboxMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-failed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.task} failed {self.failed_at:%Y-%m-%d %H:%M}"
