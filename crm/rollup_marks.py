"""Which days of the rollups (crm.rollups) need a recount: every write that changes what a
day counts marks that day, a RollupMark row in the writer's own transaction.

Saves and deletes of leads, activities, ratings, stage changes and deals are marked by the
receivers below: those rows are written by four apps (leads, crm, the admin, the API) and a
receiver sees them all. Bulk updates that bypass save() (reassignment, first-touch changes)
call `mark_leads` themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from django.db.models import CharField, QuerySet, Value, signals
from django.utils import timezone

from crm.models import Activity, DailyCount, Deal, LeadFeedback, LeadHistory, RollupMark
from leads.models import Lead

Kind = DailyCount.Kind
# Lead fields the rollups group by: a change of one re-counts every day the lead is in.
LEAD_DIMENSIONS = frozenset(
    {"first_channel", "first_campaign", "owner", "first_touch", "heard_about"}
)
# Kinds counted on a lead's capture day: what marks its LEAD day marks these too.
CAPTURE_DAY_KINDS = (Kind.CONTACT, Kind.ANSWER, Kind.ANSWER_WON)
# Past this many leads a change marks every day instead of looking the days up.
MANY_LEADS = 5000


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


def day_of(moment: datetime) -> date:
    """The day a timestamp counts on: its date in the deployment's time zone (as day_bounds)."""
    return timezone.localdate(moment, timezone.get_default_timezone())


def mark_days(marks: Iterable[tuple[str, date | None]]) -> None:
    """Mark (kind, day) pairs for recomputation, in one insert (day None: every day)."""
    rows = [RollupMark(kind=kind, day=day) for kind, day in set(marks)]
    if rows:
        RollupMark.objects.bulk_create(rows)


def mark(kind: str, days: Iterable[date | None]) -> None:
    """Mark days of `kind` for recomputation (None: every day)."""
    mark_days((kind, day) for day in days)


def mark_moments(kind: str, moments: Iterable[datetime | None]) -> None:
    """Mark the days of these timestamps (None entries are skipped)."""
    mark(kind, {day_of(m) for m in moments if m is not None})


def mark_all() -> None:
    """Mark every day of every kind: the next refresh rebuilds all rollups."""
    for kind in Kind.values:
        mark(kind, [None])


def mark_leads(lead_ids: Iterable[int]) -> None:
    """Mark every day on which one of these leads is counted, after a change of its first-touch
    channel or campaign or its owner (the rollups group by them)."""
    ids = sorted(set(lead_ids))
    if not ids:
        return
    if len(ids) > MANY_LEADS:
        mark_all()
        return

    def moments(model: Any, kind: str, at: str, **where: Any) -> QuerySet[Any]:
        return model.objects.filter(**where).annotate(k=_text(kind)).values_list("k", at).order_by()

    days = moments(Lead, Kind.LEAD, "created_at", pk__in=ids).union(
        moments(Activity, Kind.ACTIVITY, "occurred_at", lead_id__in=ids),
        moments(Deal, Kind.DEAL, "closed_at", lead_id__in=ids, closed_at__isnull=False),
        moments(LeadHistory, Kind.STAGE, "at", lead_id__in=ids, field=LeadHistory.Field.STAGE),
    )  # one query; UNION drops repeated timestamps
    marks = {(kind, day_of(moment)) for kind, moment in days}
    mark_days(
        marks | {(k, day) for kind, day in marks if kind == Kind.LEAD for k in CAPTURE_DAY_KINDS}
    )


def mark_answers(lead_ids: Iterable[int]) -> None:
    """Mark the capture days of leads whose "How did you hear about us?" answer changed."""
    moments = Lead.objects.filter(pk__in=set(lead_ids)).values_list("created_at", flat=True)
    days = {day_of(moment) for moment in moments}
    mark_days((kind, day) for day in days for kind in (Kind.ANSWER, Kind.ANSWER_WON))


# --- Receivers: saves and deletes of the source rows ------------------------------------------


def _lead_saved(sender: Any, instance: Lead, created: bool, update_fields: Any, **kw: Any) -> None:
    if created:
        day = day_of(instance.created_at)
        mark_days([(Kind.LEAD, day)] + ([(Kind.ANSWER, day)] if instance.heard_about else []))
    elif update_fields is None or LEAD_DIMENSIONS.intersection(update_fields):
        mark_leads([instance.pk])


def _lead_deleted(sender: Any, instance: Lead, **kw: Any) -> None:
    # Its activities, deals, ratings and history go with it and mark their own days.
    day = day_of(instance.created_at)
    mark_days([(Kind.LEAD, day)] + [(kind, day) for kind in CAPTURE_DAY_KINDS])


def _captured(instance: Activity | LeadFeedback) -> list[date]:
    """The capture day of the row's lead: from the lead already loaded, else one query."""
    if type(instance).lead.is_cached(instance):
        return [day_of(instance.lead.created_at)]
    moments = Lead.objects.filter(pk=instance.lead_id).values_list("created_at", flat=True)
    return [day_of(moment) for moment in moments]


def _remember(field: str) -> Callable[..., None]:
    """A pre_save receiver keeping the stored value of `field`, whose old day needs a recount."""

    def receiver(sender: Any, instance: Any, raw: bool = False, **kw: Any) -> None:
        instance._rollup_old = (
            sender.objects.filter(pk=instance.pk).values_list(field, flat=True).first()
            if instance.pk
            else None
        )

    return receiver


def _activity_changed(sender: Any, instance: Activity, **kw: Any) -> None:
    moments = (instance.occurred_at, getattr(instance, "_rollup_old", None))
    mark_days(
        [(Kind.ACTIVITY, day_of(m)) for m in moments if m is not None]
        # Activities decide the lead's first contact: its capture day's contact buckets.
        + [(Kind.CONTACT, day) for day in _captured(instance)]
    )


def _deal_changed(sender: Any, instance: Deal, **kw: Any) -> None:
    moments = (instance.closed_at, getattr(instance, "_rollup_old", None))
    mark_days(
        [(Kind.DEAL, day_of(m)) for m in moments if m is not None]
        # Won deals by answer count on their lead's capture day.
        + [(Kind.ANSWER_WON, day) for day in _captured(instance)]
    )


def _feedback_changed(sender: Any, instance: LeadFeedback, **kw: Any) -> None:
    mark(Kind.LEAD, _captured(instance))


def _history_changed(sender: Any, instance: LeadHistory, **kw: Any) -> None:
    if instance.field == LeadHistory.Field.STAGE:
        mark_moments(Kind.STAGE, [instance.at])


def connect() -> None:
    """Connect the receivers (CrmConfig.ready)."""
    uid = "crm.rollups"
    signals.post_save.connect(_lead_saved, sender=Lead, dispatch_uid=f"{uid}.lead")
    signals.post_delete.connect(_lead_deleted, sender=Lead, dispatch_uid=f"{uid}.lead")
    for model, field, changed in (
        (Activity, "occurred_at", _activity_changed),
        (Deal, "closed_at", _deal_changed),
    ):
        signals.pre_save.connect(_remember(field), sender=model, weak=False,
                                 dispatch_uid=f"{uid}.{model.__name__}")  # fmt: skip
        signals.post_save.connect(changed, sender=model, dispatch_uid=f"{uid}.{model.__name__}")
        signals.post_delete.connect(changed, sender=model, dispatch_uid=f"{uid}.{model.__name__}")
    for model, changed in ((LeadFeedback, _feedback_changed), (LeadHistory, _history_changed)):
        signals.post_save.connect(changed, sender=model, dispatch_uid=f"{uid}.{model.__name__}")
        signals.post_delete.connect(changed, sender=model, dispatch_uid=f"{uid}.{model.__name__}")
