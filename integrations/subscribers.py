"""Webhooks as one subscriber of the domain events (clm/events.py).

Each handler turns an event into the webhook payload integrators know (DESIGN.md, unchanged) and
records it with `event_emit`, inside the announcer's transaction, so a webhook is as durable as
the write that caused it. Connected in IntegrationsConfig.ready, after every lower app's
subscribers (`order=WEBHOOK_ORDER`), so a payload sees what they wrote (a new lead's owner).
"""

from __future__ import annotations

from django.conf import settings

from attribution.models import AttributionRun
from clm import events
from clm.events import AccountCreated, DealClosed, LeadCaptured, LeadStageChanged, RunFinished
from integrations.events import endpoints_subscribed, event_emit

WEBHOOK_ORDER = 1000


def webhook_lead_created(event: LeadCaptured) -> None:
    """lead.created, with the owner that assignment (crm, an earlier subscriber) chose."""
    if not endpoints_subscribed("lead.created"):
        return  # the usual case: no payload built, no channel read
    lead, touch = event.lead, event.touch
    event_emit(
        name="lead.created",
        payload={
            "lead_id": lead.pk,
            "email": lead.email,
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "company": lead.company,
            "form": event.form.name,
            "owner": lead.owner_id,
            "channel": touch.channel.name,
            "utm_campaign": touch.utm_campaign,
            "created_at": lead.created_at,
        },
    )


def webhook_lead_stage_changed(event: LeadStageChanged) -> None:
    """lead.stage_changed."""
    event_emit(
        name="lead.stage_changed",
        payload={
            "lead_id": event.lead_id,
            "email": event.email,
            "old_stage": event.old_stage,
            "new_stage": event.new_stage,
            "disqualify_reason": event.disqualify_reason,
            "by": event.by_id,
        },
    )


def webhook_deal_closed(event: DealClosed) -> None:
    """deal.won or deal.lost."""
    event_emit(
        name="deal.won" if event.won else "deal.lost",
        payload={
            "deal_id": event.deal_id,
            "lead_id": event.lead_id,
            "name": event.name,
            "amount": event.amount,
            "currency": settings.CLM_CURRENCY,
            "close_reason": event.close_reason,
            "closed_at": event.closed_at,
            "owner": event.owner_id,
            "by": event.by_id,
        },
    )


def webhook_run_finished(event: RunFinished) -> None:
    """attribution.run_finished, done or failed."""
    run = AttributionRun.objects.get(pk=event.run_id)
    event_emit(
        name="attribution.run_finished",
        payload={
            "run_id": run.pk,
            "status": run.status,
            "scope": run.scope,
            "models": run.model_names,
            "data_cutoff": run.data_cutoff,
            "finished_at": run.finished_at,
            "error": run.error,
        },
    )


def webhook_account_created(event: AccountCreated) -> None:
    """account.created (matched from a lead, imported or added by hand)."""
    event_emit(
        name="account.created",
        payload={"account_id": event.account_id, "name": event.name, "by": event.by_id},
    )


def connect() -> None:
    """Subscribe the webhooks to the domain events (in the announcer's transaction)."""
    events.subscribe(LeadCaptured, webhook_lead_created, order=WEBHOOK_ORDER)
    events.subscribe(LeadStageChanged, webhook_lead_stage_changed, order=WEBHOOK_ORDER)
    events.subscribe(DealClosed, webhook_deal_closed, order=WEBHOOK_ORDER)
    events.subscribe(RunFinished, webhook_run_finished, order=WEBHOOK_ORDER)
    events.subscribe(AccountCreated, webhook_account_created, order=WEBHOOK_ORDER)
