"""What crm does when leads announces something (clm/events.py), in the announcer's transaction:
a new lead gets its owner before anyone else hears of it, and touch changes mark the rollups."""

from __future__ import annotations

from clm import events, roles
from clm.events import LeadCaptured, LeadDetailsChanged, LeadsTouchesChanged
from crm import rollup_marks, selectors
from crm.services import account_match_lead, account_match_new_lead, lead_assign_new
from leads.models import Lead

# Assignment runs before every other subscriber of a capture: the lead.created webhook and the
# owner's notification read the owner it sets.
ASSIGNMENT_ORDER = 10
# The account is known before the lead.created webhook and scoring hear of the lead.
ACCOUNT_ORDER = 20


def assign_captured_lead(event: LeadCaptured) -> None:
    """Give the new lead its owner by the form's rule."""
    lead_assign_new(lead=event.lead, form=event.form)


def match_captured_lead(event: LeadCaptured) -> None:
    """Put the new lead in the account of its corporate domain or company."""
    account_match_new_lead(lead=event.lead)


def match_changed_lead(event: LeadDetailsChanged) -> None:
    """A lead's company was filled in: its account may now be known."""
    if "company" in event.fields:
        account_match_lead(lead=Lead.objects.get(pk=event.lead_id))


def mark_changed_answer(event: LeadDetailsChanged) -> None:
    """A lead's answer changed: its capture day's self-reported counts need a recount."""
    if "heard_about" in event.fields:
        rollup_marks.mark_answers([event.lead_id])


def mark_touched_leads(event: LeadsTouchesChanged) -> None:
    """Mark the rollup days of leads whose first touch changed."""
    rollup_marks.mark_leads(event.lead_ids)


def connect() -> None:
    """Subscribe crm to the events of leads (CrmConfig.ready)."""
    events.subscribe(LeadCaptured, assign_captured_lead, order=ASSIGNMENT_ORDER)
    events.subscribe(LeadCaptured, match_captured_lead, order=ACCOUNT_ORDER)
    events.subscribe(LeadDetailsChanged, match_changed_lead)
    events.subscribe(LeadDetailsChanged, mark_changed_answer)
    events.subscribe(LeadsTouchesChanged, mark_touched_leads)
    # Follow-ups due now: the reminder in the app, beside "My day" in the navigation.
    roles.register_nav_badge("crm:my-day", selectors.due_task_count)
