"""What sales did with a lead; offline touches that brought a lead in count in attribution."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from campaigns.models import Campaign, Channel
from crm.models import Activity
from crm.permissions import Actor, ensure_may_change_lead, ensure_may_manage
from crm.services.lifecycle import lead_advance_stage
from leads.models import Lead
from leads.touches import touchpoint_record_offline

Kind, Outcome = Activity.Kind, Activity.Outcome
# Activities that are contact with the lead: they set Lead.last_contacted_at.
CONTACT_KINDS = frozenset({Kind.CALL, Kind.EMAIL, Kind.MEETING, Kind.INBOUND_CALL})
# Attempts that did not reach the person: they do not move a new lead to contacted.
NOT_REACHED = frozenset(
    {
        Outcome.NO_ANSWER,
        Outcome.LEFT_VOICEMAIL,
        Outcome.WRONG_NUMBER,
        Outcome.SENT,
        Outcome.BOUNCED,
        Outcome.NO_SHOW,
    }
)
# Offline activities that may carry a channel and campaign, and the channel they default to.
TOUCH_KINDS: dict[str, str] = {Kind.EVENT: "Event", Kind.INBOUND_CALL: "Sales call"}
# Outcomes offered for each kind (the one-click buttons on the lead page).
OUTCOMES_BY_KIND: dict[str, tuple[str, ...]] = {
    Kind.CALL: (
        Outcome.CONNECTED,
        Outcome.NO_ANSWER,
        Outcome.LEFT_VOICEMAIL,
        Outcome.MEETING_BOOKED,
        Outcome.CALL_BACK,
        Outcome.NOT_INTERESTED,
        Outcome.WRONG_NUMBER,
    ),
    Kind.EMAIL: (
        Outcome.SENT,
        Outcome.REPLIED,
        Outcome.MEETING_BOOKED,
        Outcome.BOUNCED,
        Outcome.NOT_INTERESTED,
    ),
    Kind.MEETING: (Outcome.HELD, Outcome.MEETING_BOOKED, Outcome.NO_SHOW, Outcome.NOT_INTERESTED),
    Kind.NOTE: (),
    Kind.EVENT: (Outcome.CONNECTED, Outcome.MEETING_BOOKED, Outcome.NOT_INTERESTED),
    Kind.INBOUND_CALL: (
        Outcome.CONNECTED,
        Outcome.MEETING_BOOKED,
        Outcome.CALL_BACK,
        Outcome.NOT_INTERESTED,
    ),
}
MAX_DURATION = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)


def _validate(
    *,
    kind: str,
    outcome: str,
    occurred_at: datetime,
    duration: timedelta | None,
    notes: str,
) -> None:
    errors: dict[str, str] = {}
    if kind not in Kind.values:
        errors["kind"] = f"Unknown kind “{kind}”."
    elif outcome and outcome not in OUTCOMES_BY_KIND[kind]:
        errors["outcome"] = f"“{outcome}” is not an outcome of a {Kind(kind).label.lower()}."
    if outcome and outcome not in Outcome.values:
        errors["outcome"] = f"Unknown outcome “{outcome}”."
    if kind == Kind.NOTE and not notes.strip():
        errors["notes"] = "Write the note."
    if occurred_at > timezone.now() + CLOCK_SKEW:
        errors["occurred_at"] = "An activity is logged once it has happened, not ahead."
    if duration is not None and not timedelta(0) <= duration <= MAX_DURATION:
        errors["duration"] = "A duration is between 0 and 24 hours."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def activity_log(
    *,
    lead: Lead,
    kind: str,
    by: Actor,
    outcome: str = "",
    occurred_at: datetime | None = None,
    duration: timedelta | None = None,
    notes: str = "",
    channel: Channel | None = None,
    campaign: Campaign | None = None,
) -> Activity:
    """Log an activity; contact sets last_contacted_at, an event/inbound call may add a touch."""
    ensure_may_change_lead(by, lead)
    occurred_at = occurred_at or timezone.now()
    _validate(kind=kind, outcome=outcome, occurred_at=occurred_at, duration=duration, notes=notes)
    if (channel is not None or campaign is not None) and kind not in TOUCH_KINDS:
        raise ValidationError(
            {"channel": "Only events and inbound calls carry a channel and campaign."}
        )
    if campaign is not None and channel is None:
        channel = Channel.objects.get(name=TOUCH_KINDS[kind])
    activity = Activity(
        lead=lead,
        kind=kind,
        outcome=outcome,
        occurred_at=occurred_at,
        duration=duration,
        notes=notes,
        by=by,
        channel=channel,
        campaign=campaign,
    )
    if channel is not None:
        label = f"{Kind(kind).label}: {campaign.name}" if campaign else Kind(kind).label
        activity.touchpoint = touchpoint_record_offline(
            lead=lead,
            occurred_at=occurred_at,
            channel_name=channel.name,
            campaign_id=campaign.pk if campaign else None,
            title=label,
        )
    activity.save()
    if kind in CONTACT_KINDS:
        lead_contact_times_refresh(lead=lead)
        if outcome not in NOT_REACHED:
            lead_advance_stage(lead=lead, stage=Lead.Stage.CONTACTED, by=by)
    return activity


def lead_contact_times_refresh(*, lead: Lead) -> None:
    """Set the lead's first and last contact times from its contact activities.

    first_contacted_at counts contact at or after capture only (speed to lead starts then);
    last_contacted_at is the latest contact of any time.
    """
    contacts = Activity.objects.filter(lead_id=lead.pk, kind__in=CONTACT_KINDS)
    times = contacts.aggregate(
        last=Max("occurred_at"),
        first=Min("occurred_at", filter=Q(occurred_at__gte=lead.created_at)),
    )
    lead.first_contacted_at, lead.last_contacted_at = times["first"], times["last"]
    Lead.objects.filter(pk=lead.pk).update(
        first_contacted_at=times["first"], last_contacted_at=times["last"]
    )


@transaction.atomic
def activity_update(*, activity: Activity, by: Actor, data: dict[str, Any]) -> Activity:
    """Correct an activity's outcome, duration, notes or (without a touchpoint) its time."""
    ensure_may_change_lead(by, activity.lead)
    allowed = {"outcome", "duration", "notes", "occurred_at"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This field cannot be changed."))
    if (
        "occurred_at" in data
        and activity.touchpoint_id
        and data["occurred_at"] != (activity.occurred_at)
    ):
        raise ValidationError(
            {"occurred_at": "This activity is a touchpoint in attribution; its time is fixed."}
        )
    for name, value in data.items():
        setattr(activity, name, value)
    _validate(
        kind=activity.kind,
        outcome=activity.outcome,
        occurred_at=activity.occurred_at,
        duration=activity.duration,
        notes=activity.notes,
    )
    if data:
        activity.save(update_fields=list(data))
        if "occurred_at" in data and activity.kind in CONTACT_KINDS:
            lead_contact_times_refresh(lead=activity.lead)
    return activity


@transaction.atomic
def activity_delete(*, activity: Activity, by: Actor) -> None:
    """Delete a mistaken activity (managers); one that is an attribution touch is kept."""
    ensure_may_manage(by)
    if by is not None:
        ensure_may_change_lead(by, activity.lead)
    if activity.touchpoint_id:
        raise ValidationError(
            "This activity is a touchpoint that counts in attribution; it cannot be deleted."
        )
    lead, contact = activity.lead, activity.kind in CONTACT_KINDS
    activity.delete()
    if contact:
        lead_contact_times_refresh(lead=lead)
