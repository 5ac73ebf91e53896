"""Reads of segments and nurture: members (within what the viewer may see), counts, stats."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum

from crm.permissions import Viewer
from crm.selectors import current_rating, leads_visible_to
from leads.models import Lead
from nurture.conditions import compile_definition
from nurture.models import (
    EmailSend,
    Enrollment,
    Segment,
    SegmentChange,
    SegmentMembership,
    Sequence,
    Step,
)


def segment_leads(*, definition: Any, viewer: Viewer | None = None) -> QuerySet[Lead]:
    """The leads a definition selects; only those `viewer` may see when a viewer is given.

    Raises nurture.conditions.DefinitionError for an invalid definition.
    """
    base = Lead.objects.all() if viewer is None else leads_visible_to(viewer)
    return base.filter(compile_definition(definition))


def segment_count(*, definition: Any, viewer: Viewer | None = None) -> int:
    """How many leads a definition selects (for the viewer)."""
    return segment_leads(definition=definition, viewer=viewer).count()


def segment_sample(*, definition: Any, viewer: Viewer, limit: int = 10) -> list[Lead]:
    """A few of the leads a definition selects that the viewer may see, newest first."""
    leads = segment_leads(definition=definition, viewer=viewer).select_related("owner")
    return list(leads.order_by("-created_at", "-id")[:limit])


def segment_members(*, segment: Segment, viewer: Viewer) -> QuerySet[Lead]:
    """The segment's current members the viewer may see, with owner, channel and join time."""
    joined = SegmentMembership.objects.filter(segment=segment, lead=OuterRef("pk")).values(
        "joined_at"
    )[:1]
    return (
        segment_leads(definition=segment.definition, viewer=viewer)
        .select_related("owner", "first_touch__channel", "latest_touch__channel")
        .annotate(joined_at=Subquery(joined), current_rating=current_rating())
        .order_by("-created_at", "-id")
    )


def segment_recent_changes(*, segment: Segment, viewer: Viewer, limit: int = 20) -> list[Any]:
    """The newest joins and leaves of leads the viewer may see."""
    return list(
        SegmentChange.objects.filter(segment=segment, lead__in=leads_visible_to(viewer))
        .select_related("lead")
        .order_by("-at", "-id")[:limit]
    )


def segments_with_counts() -> QuerySet[Segment]:
    """Every segment with the number of sequences sending to it."""
    return Segment.objects.annotate(sequence_count=Count("sequences")).order_by("name")


def step_stats(*, sequence_id: int) -> list[Step]:
    """The steps of a sequence with sent, opened, clicked and unsubscribed counts (one query)."""
    return list(
        Step.objects.filter(sequence_id=sequence_id)
        .annotate(
            sent=Count("sends"),
            opened=Count("sends", filter=Q(sends__opened_at__isnull=False)),
            clicked=Count("sends", filter=Q(sends__clicks__gt=0)),
            click_total=Sum("sends__clicks"),
            unsubscribed=Count("sends", filter=Q(sends__unsubscribed_at__isnull=False)),
        )
        .order_by("position")
    )


def enrollment_counts(*, sequence_id: int) -> dict[str, int]:
    """Enrolments of a sequence per status."""
    rows = (
        Enrollment.objects.filter(sequence_id=sequence_id)
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    counts = dict.fromkeys(Enrollment.Status.values, 0)
    counts.update(dict(rows))
    return counts


def recent_sends(*, sequence_id: int, viewer: Viewer, limit: int = 20) -> list[EmailSend]:
    """The newest sends of a sequence to leads the viewer may see."""
    return list(
        EmailSend.objects.filter(step__sequence_id=sequence_id, lead__in=leads_visible_to(viewer))
        .select_related("lead", "step")
        .order_by("-sent_at", "-id")[:limit]
    )


def send_with_lead(*, send_id: int) -> EmailSend | None:
    """A sent nurture email and its lead (the unsubscribe page), or None."""
    return EmailSend.objects.select_related("lead").filter(pk=send_id).first()


def enrollable_sequences() -> QuerySet[Sequence]:
    """Sequences leads may be enrolled in by hand: active or paused, with at least one step."""
    return (
        Sequence.objects.exclude(status=Sequence.Status.DRAFT)
        .filter(steps__isnull=False)
        .distinct()
        .order_by("name")
    )
