"""Domain events: how a lower app lets higher apps react without importing them.

A lower app announces what happened, `events.announce(DealClosed(...))`; higher apps subscribe
in their `AppConfig.ready`, `events.subscribe(DealClosed, handler)`. Calls go down the layers,
events go up (README, "Architecture").

Two delivery moments, chosen by the subscriber:

- `Moment.IN_TRANSACTION` (the default): the handler runs at once, inside the announcer's
  transaction. For work that must be as durable as the write that caused it and roll back with
  it: a lead's owner, rollup marks, webhook deliveries and outbox rows. Such a handler must not
  talk to the network; it records work (the outbox) that is sent after commit.
- `Moment.AFTER_COMMIT`: the handler runs once the announcer's transaction commits (at once in
  autocommit), through `transaction.on_commit`; a rolled-back write never announces.

Handlers of one event run in order of `order` (lower first), then of subscription, so a
subscriber can rely on an earlier one (the lead.created webhook reads the owner that assignment
set). An exception in an in-transaction handler fails the write, like the direct call it
replaces; an after-commit handler's exception is logged and does not reach the caller.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of every domain event: a fact, in the past tense, carrying ids and plain values."""


@dataclass(frozen=True)
class CampaignSaved(Event):
    """A campaign was created or changed; stored touches with its UTM values may now be its."""

    campaign_id: int
    utm_campaign: str
    utm_source: str = ""
    utm_medium: str = ""


@dataclass(frozen=True)
class LeadCaptured(Event):
    """A capture created a new lead, in the capture's transaction.

    It carries the rows the capture holds (a leads.models Lead, CaptureForm and the creating
    Touchpoint; clm cannot name their types) so subscribers need no query. Subscribers run in
    order on the same Lead: assignment (crm, first) sets its owner, which the lead.created
    webhook (integrations, last) reads.
    """

    lead: Any
    form: Any
    touch: Any


@dataclass(frozen=True)
class LeadDetailsChanged(Event):
    """A lead's details changed after its capture: a later post filled its company or gave its
    first "How did you hear about us?" answer, or sales set the answer (`fields` names them)."""

    lead_id: int
    fields: tuple[str, ...]


@dataclass(frozen=True)
class AccountCreated(Event):
    """crm created an account (matched from a lead, imported or added by hand)."""

    account_id: int
    name: str
    by_id: int | None = None


@dataclass(frozen=True)
class LeadsTouchesChanged(Event):
    """These leads' first or latest touch was rewritten (the rollups group by first touch)."""

    lead_ids: tuple[int, ...]


@dataclass(frozen=True)
class LeadStageChanged(Event):
    """A lead moved from `old_stage` to `new_stage` (by a user, or None for the system)."""

    lead_id: int
    email: str
    old_stage: str
    new_stage: str
    disqualify_reason: str | None = None
    by_id: int | None = None


@dataclass(frozen=True)
class DealClosed(Event):
    """A deal was won (`won`) or lost."""

    deal_id: int
    lead_id: int
    won: bool
    name: str = ""
    amount: Decimal | None = None
    close_reason: str = ""
    closed_at: datetime | None = None
    owner_id: int | None = None
    by_id: int | None = None


@dataclass(frozen=True)
class RunFinished(Event):
    """An attribution run ended: done (`succeeded`, its results stored) or failed."""

    run_id: int
    succeeded: bool


@dataclass(frozen=True)
class TouchpointsReclassified(Event):
    """A reclassification job changed (or undid) the channel of stored touchpoints."""

    job_id: int


@dataclass(frozen=True)
class PersonErasing(Event):
    """A person is being erased (leads.erasure.person_erase), inside its one transaction with
    their leads locked; leads has cleared its submissions and touchpoints.

    `person` is the erasure's leads.redaction.Person. Each subscriber erases its own rows about
    `person.lead_ids`: it first adds the values it finds there (`person.add`), so the texts of
    the apps after it lose them too, names those rows in `person.rows` and the ids its outbox
    messages carry in `person.ids`, then clears them and counts them in `counts` ("deals": 2).
    After the subscribers, leads erases the outbox, the admin log and any text left naming them.
    `at` is the erasure's time (rows that record when they changed take it).
    """

    person: Any
    counts: dict[str, int]
    at: datetime


@dataclass(frozen=True)
class PersonExporting(Event):
    """A person's data is being exported (leads.privacy.person_export): each subscriber adds
    its rows about the lead `lead_id` to `data`, one key per section."""

    lead_id: int
    data: dict[str, Any]


class Moment(enum.Enum):
    IN_TRANSACTION = "in_transaction"
    AFTER_COMMIT = "after_commit"


E = TypeVar("E", bound=Event)
Handler = Callable[[Any], object]


@dataclass(frozen=True)
class _Subscription:
    order: int
    seq: int
    handler: Handler
    moment: Moment


_subscriptions: dict[type[Event], list[_Subscription]] = {}


def subscribe(
    event_type: type[E],
    handler: Callable[[E], object],
    *,
    moment: Moment = Moment.IN_TRANSACTION,
    order: int = 100,
) -> Callable[[], None]:
    """Call `handler(event)` for every announced `event_type`; returns a function that unsubscribes.

    Subscribing the same handler twice for one event type is a no-op (ready() may run twice).
    """
    subs = _subscriptions.setdefault(event_type, [])
    existing = next((s for s in subs if s.handler == handler), None)
    if existing is None:
        existing = _Subscription(order=order, seq=len(subs), handler=handler, moment=moment)
        subs.append(existing)
        subs.sort(key=lambda s: (s.order, s.seq))

    def unsubscribe() -> None:
        if existing in subs:
            subs.remove(existing)

    return unsubscribe


def subscribers(event_type: type[Event]) -> list[Handler]:
    """The handlers of `event_type`, in the order they run (for tests and the README)."""
    return [s.handler for s in _subscriptions.get(event_type, [])]


def announce(event: Event, *, using: str | None = None) -> None:
    """Deliver `event` to its subscribers: in-transaction ones now, the others after commit."""
    for sub in list(_subscriptions.get(type(event), [])):
        if sub.moment is Moment.IN_TRANSACTION:
            sub.handler(event)
        else:
            transaction.on_commit(_guarded(sub.handler, event), using=using)


def _guarded(handler: Handler, event: Event) -> Callable[[], None]:
    def run() -> None:
        try:
            handler(event)
        except Exception:  # the write committed; a follower must not undo the reply
            log.exception("handler %r of %s failed", handler, type(event).__name__)

    return run
