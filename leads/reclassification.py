"""Reclassifying stored touchpoints: preview, apply (recording every change), undo.

Leads own touchpoints, so their reclassification lives here; the job and its change log are
campaigns models (ReclassifyJob, ReclassifyChange). Every touch is classified in its visit
by leads.classification, the same code capture uses, so unchanged rules change nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from campaigns.channeling import UNASSIGNED, CompiledRules
from campaigns.models import Channel, ReclassifyChange, ReclassifyJob
from clm import events
from clm.events import TouchpointsReclassified
from leads.classification import FIELDS, Channeled, touchpoints_walk
from leads.models import Touchpoint
from leads.touches import leads_first_touch_sync

CONFIRM_WORD = ReclassifyJob.CONFIRM_WORD


@dataclass
class Preview:
    """What classifying the stored touchpoints with a rule set would change."""

    total: int = 0
    changed: int = 0
    unassigned_before: int = 0
    unassigned_after: int = 0
    # (from channel id, to channel id) -> touches that would move (channel changes only)
    matrix: Counter[tuple[int, int]] = field(default_factory=Counter)
    # (from channel id, to channel id) -> ids of the touches that would move
    moved: dict[tuple[int, int], list[int]] = field(default_factory=lambda: defaultdict(list))
    names: dict[int, str] = field(default_factory=dict)
    all_touches: int = 0  # when only the latest touches were checked: how many are stored
    # (from channel id, to channel id) -> credited revenue (cents) of the touches that move
    revenue: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def moves(self) -> list[tuple[str, str, int]]:
        """(from, to, touches), the largest first."""
        return [
            (self.names.get(a, "?"), self.names.get(b, "?"), n)
            for (a, b), n in self.matrix.most_common()
        ]

    def table(self) -> tuple[list[str], list[tuple[str, list[tuple[int, int] | None]]]]:
        """The channel x channel matrix for a page: the "to" names, then one row per "from"
        channel with (touches, revenue cents) per "to" column (None where nothing moves)."""
        sources = sorted({a for a, _b in self.matrix}, key=lambda i: self.names.get(i, ""))
        targets = sorted({b for _a, b in self.matrix}, key=lambda i: self.names.get(i, ""))
        rows = [
            (
                self.names.get(a, "?"),
                [
                    (self.matrix[(a, b)], self.revenue.get((a, b), 0))
                    if self.matrix.get((a, b))
                    else None
                    for b in targets
                ],
            )
            for a in sources
        ]
        return [self.names.get(b, "?") for b in targets], rows

    def credit_revenue(self, credited: dict[int, int]) -> None:
        """Add up the credited revenue (cents per touch id) of the touches that would move."""
        self.revenue = {
            key: sum(credited.get(touch_id, 0) for touch_id in ids)
            for key, ids in self.moved.items()
        }

    @property
    def partial(self) -> bool:
        return self.all_touches > self.total

    @property
    def channel_changed(self) -> int:
        """Touches whose channel would change (the rest of `changed` keeps its channel)."""
        return sum(self.matrix.values())

    @property
    def revenue_moved(self) -> int:
        return sum(self.revenue.values())


PREVIEW_LATEST = 200_000  # a page answers in seconds; the job itself reads every touch


def reclassify_preview(
    *, compiled: CompiledRules | None = None, latest: int | None = None
) -> Preview:
    """Classify every stored touch (or the `latest` ones) in its visit with `compiled`
    (default: the stored rules) and count what would change, channel by channel."""
    names = dict(Channel.objects.values_list("id", "name"))
    preview = Preview(names=names)
    if latest:
        preview.all_touches = Touchpoint.objects.count()
    for item in touchpoints_walk(compiled=compiled, latest=latest):
        preview.total += 1
        preview.unassigned_before += names.get(item.before.channel_id) == UNASSIGNED
        preview.unassigned_after += names.get(item.after.channel_id) == UNASSIGNED
        if item.changed:
            preview.changed += 1
        key = (item.before.channel_id, item.after.channel_id)
        if key[0] != key[1]:
            preview.matrix[key] += 1
            preview.moved[key].append(item.touch_id)
    return preview


# A job still queued or running this long after it was made lost its worker: it no longer
# blocks a new one.
ABANDONED_AFTER = timedelta(hours=3)


class ReclassifyInProgress(Exception):
    """A reclassification is queued or running: a second would only redo its work."""

    def __init__(self, job: ReclassifyJob) -> None:
        self.job = job
        super().__init__(f"Reclassification #{job.pk} is {job.status}.")


def reclassify_in_progress() -> ReclassifyJob | None:
    """The reclassification queued or running (made within ABANDONED_AFTER), if any."""
    return (
        ReclassifyJob.objects.filter(
            status__in=[ReclassifyJob.Status.QUEUED, ReclassifyJob.Status.RUNNING],
            created_at__gte=timezone.now() - ABANDONED_AFTER,
        )
        .order_by("-id")
        .first()
    )


@transaction.atomic
def reclassify_start(*, started_by: Any = None, confirmation: str) -> ReclassifyJob:
    """Queue a reclassification of every stored touchpoint; `confirmation` must be the word.
    One at a time: while one is queued or running, ReclassifyInProgress (a double click)."""
    from leads.tasks import reclassify_touchpoints  # the task runs this module: a cycle

    if (confirmation or "").strip() != CONFIRM_WORD:
        raise ValueError(f"type {CONFIRM_WORD} to confirm")
    if connection.vendor == "postgresql":
        # Two posts at the same moment must not both see "none running": take turns. (SQLite
        # runs transactions IMMEDIATE: the write lock is taken at the start, so they queue.)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('clm.reclassify_start'))")
    running = reclassify_in_progress()
    if running is not None:
        raise ReclassifyInProgress(running)
    job = ReclassifyJob.objects.create(started_by=started_by)
    transaction.on_commit(lambda: reclassify_touchpoints.delay(job_id=job.pk))
    return job


def _announce(job_id: int) -> None:
    # Announced once the change is committed: subscribers (attribution) see the new channels.
    transaction.on_commit(lambda: events.announce(TouchpointsReclassified(job_id=job_id)))


def _apply(job: ReclassifyJob, changes: list[Any]) -> None:
    """Write one batch of changed touches with their change rows, in one transaction."""
    touches, rows = [], []
    for item in changes:
        old, new = item.before, item.after
        touch = Touchpoint(
            pk=item.touch_id, channel_id=new.channel_id, matched_rule=new.matched_rule,
            source=new.source, medium=new.medium, campaign_id=new.campaign_id,
            self_referral=item.self_referral_after,
        )  # fmt: skip
        touches.append(touch)
        rows.append(
            ReclassifyChange(
                job=job,
                touchpoint_id=item.touch_id,
                old_channel_id=old.channel_id,
                new_channel_id=new.channel_id,
                old_campaign_id=old.campaign_id,
                new_campaign_id=new.campaign_id,
                old_source=old.source,
                new_source=new.source,
                old_medium=old.medium,
                new_medium=new.medium,
                old_matched_rule=old.matched_rule,
                new_matched_rule=new.matched_rule,
                old_self_referral=item.self_referral_before,
                new_self_referral=item.self_referral_after,
            )
        )
    with transaction.atomic():
        ReclassifyChange.objects.bulk_create(rows, batch_size=1000)
        Touchpoint.objects.bulk_update(touches, list(FIELDS), batch_size=1000)
        leads_first_touch_sync(touch_ids=[t.pk for t in touches])


def reclassify_run(*, job_id: int, batch_size: int = 2000) -> ReclassifyJob:
    """Classify every stored touch in its visit with the current rules; write and record
    what changed, in batches, with progress."""
    job = ReclassifyJob.objects.get(pk=job_id)
    if job.status == ReclassifyJob.Status.DONE:
        return job  # idempotent: a redelivered task does nothing twice
    job.status, job.total = ReclassifyJob.Status.RUNNING, Touchpoint.objects.count()
    job.processed = job.changed = 0
    job.save(update_fields=["status", "total", "processed", "changed"])
    ReclassifyChange.objects.filter(job=job).delete()  # a retried job starts over
    try:
        # The walk reads every touch first (what is written never feeds back into it: the
        # walk carries each visit's result itself), then the changes are written in batches.
        changes, n = [], 0
        for n, item in enumerate(touchpoints_walk(), start=1):
            if item.changed:
                changes.append(item)
            if n % batch_size == 0:
                job.processed = n
                job.save(update_fields=["processed"])
        job.processed = n
        for start in range(0, len(changes), batch_size):
            _apply(job, changes[start : start + batch_size])
            job.changed += len(changes[start : start + batch_size])
            job.save(update_fields=["processed", "changed"])
    except Exception as exc:
        job.status, job.error = ReclassifyJob.Status.FAILED, f"{type(exc).__name__}: {exc}"
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        raise
    job.status, job.finished_at = ReclassifyJob.Status.DONE, timezone.now()
    job.save(update_fields=["status", "finished_at", "processed"])
    if job.changed:
        _announce(job.pk)
    return job


@transaction.atomic
def reclassify_undo(*, job: ReclassifyJob, by: Any = None) -> int:
    """Put back what a reclassification changed; how many touches were restored.

    A touch changed again since (by a later reclassification) is left as it is now. Undoing
    twice restores nothing the second time.
    """
    job = ReclassifyJob.objects.select_for_update().get(pk=job.pk)
    if not job.can_undo:
        return 0
    restored = []
    changes = ReclassifyChange.objects.filter(job=job).order_by("touchpoint_id")
    for start in range(0, changes.count(), 2000):
        batch = {c.touchpoint_id: c for c in changes[start : start + 2000]}
        current = Touchpoint.objects.filter(pk__in=list(batch)).only(
            "id", "channel_id", "matched_rule", "source", "medium", "campaign_id",
            "self_referral",
        )  # fmt: skip
        touches = []
        for touch in current:
            change = batch[touch.pk]
            now = (Channeled(touch.channel_id, touch.matched_rule, touch.source, touch.medium,
                             touch.campaign_id), touch.self_referral)  # fmt: skip
            made = (Channeled(change.new_channel_id, change.new_matched_rule, change.new_source,
                              change.new_medium, change.new_campaign_id),
                    change.new_self_referral)  # fmt: skip
            if now != made:
                continue
            touch.channel_id, touch.matched_rule = change.old_channel_id, change.old_matched_rule
            touch.source, touch.medium = change.old_source, change.old_medium
            touch.campaign_id, touch.self_referral = (
                change.old_campaign_id,
                change.old_self_referral,
            )
            touches.append(touch)
        Touchpoint.objects.bulk_update(touches, list(FIELDS), batch_size=1000)
        restored += [t.pk for t in touches]
    leads_first_touch_sync(touch_ids=restored)
    job.undone_at, job.undone_by, job.restored = timezone.now(), by, len(restored)
    job.save(update_fields=["undone_at", "undone_by", "restored"])
    if restored:
        _announce(job.pk)
    return len(restored)
