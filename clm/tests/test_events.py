"""Domain events: subscribers hear what a lower app announces, in order, when they chose."""

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from django.db import transaction

from clm import events
from clm.events import DealClosed, LeadStageChanged, Moment


@pytest.fixture
def heard() -> Iterator[list[str]]:
    """A test hears only its own subscribers (not the apps'); theirs are back after it."""
    saved = {k: list(v) for k, v in events._subscriptions.items()}
    events._subscriptions.clear()
    yield []
    events._subscriptions.clear()
    events._subscriptions.update(saved)


def closed(won: bool = True) -> DealClosed:
    return DealClosed(deal_id=1, lead_id=2, won=won)


def test_an_in_transaction_subscriber_hears_the_event_at_once(heard):
    events.subscribe(DealClosed, lambda e: heard.append(f"won={e.won}"))
    events.announce(closed())
    assert heard == ["won=True"]


def test_a_subscriber_hears_only_its_event_type(heard):
    events.subscribe(LeadStageChanged, lambda e: heard.append("stage"))
    events.announce(closed())
    assert heard == []


def test_subscribers_run_by_order_then_by_subscription(heard):
    events.subscribe(DealClosed, lambda e: heard.append("webhook"), order=200)
    events.subscribe(DealClosed, lambda e: heard.append("first"))
    events.subscribe(DealClosed, lambda e: heard.append("second"))
    events.subscribe(DealClosed, lambda e: heard.append("assignment"), order=10)
    events.announce(closed())
    assert heard == ["assignment", "first", "second", "webhook"]


def test_subscribing_the_same_handler_twice_delivers_once(heard):
    def handler(e):
        heard.append("once")

    events.subscribe(DealClosed, handler)
    events.subscribe(DealClosed, handler)
    events.announce(closed())
    assert heard == ["once"]


def test_an_unsubscribed_handler_hears_nothing(heard):
    unsubscribe = events.subscribe(DealClosed, lambda e: heard.append("x"))
    unsubscribe()
    events.announce(closed())
    assert heard == []


def test_events_are_frozen_values():
    with pytest.raises(AttributeError):
        closed().won = False  # type: ignore[misc]
    assert closed() == closed()


@pytest.mark.django_db
def test_an_after_commit_subscriber_waits_for_the_commit(heard, django_capture_on_commit_callbacks):
    events.subscribe(DealClosed, lambda e: heard.append("after"), moment=Moment.AFTER_COMMIT)
    with django_capture_on_commit_callbacks(execute=True):
        events.announce(closed())
        assert heard == []
    assert heard == ["after"]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_write_announces_nothing_after_commit(heard):
    events.subscribe(DealClosed, lambda e: heard.append("after"), moment=Moment.AFTER_COMMIT)
    with pytest.raises(RuntimeError), transaction.atomic():
        Group.objects.create(name="rolled back")
        events.announce(closed())
        raise RuntimeError
    assert heard == []
    assert not Group.objects.filter(name="rolled back").exists()


@pytest.mark.django_db(transaction=True)
def test_an_in_transaction_subscriber_writes_roll_back_with_the_announcer(heard):
    events.subscribe(DealClosed, lambda e: Group.objects.create(name=f"deal {e.deal_id}"))
    with pytest.raises(RuntimeError), transaction.atomic():
        events.announce(closed())
        assert Group.objects.filter(name="deal 1").exists()
        raise RuntimeError
    assert not Group.objects.filter(name="deal 1").exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_after_commit_subscriber_does_not_reach_the_announcer(heard):
    def boom(e):
        raise ValueError("down")

    events.subscribe(DealClosed, boom, moment=Moment.AFTER_COMMIT)
    events.subscribe(DealClosed, lambda e: heard.append("next"), moment=Moment.AFTER_COMMIT)
    with transaction.atomic():
        events.announce(closed())
    assert heard == ["next"]


def test_a_failing_in_transaction_subscriber_fails_the_write(heard):
    def boom(e):
        raise ValueError("down")

    events.subscribe(DealClosed, boom)
    with pytest.raises(ValueError):
        events.announce(closed())
