"""The outbox: follow-up work is written with the change, sent after commit, never lost."""

from __future__ import annotations

import os
import socket
import threading

import pytest
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from clm import roles
from leads.models import CaptureForm, Submission
from outbox.models import DeadLetter, OutboxMessage
from outbox.services import (
    dead_letter_from_task_failure,
    outbox_enqueue,
    outbox_mark_done,
    outbox_redeliver,
    outbox_relay,
)

pytestmark = pytest.mark.django_db
FOLLOW_UP = "leads.tasks.submission_follow_up"


@pytest.fixture
def form(db):
    return CaptureForm.objects.create(name="Demo", min_fill_seconds=0)


@pytest.fixture
def broker(monkeypatch):
    """Switch the broker down (publishing raises) or up (tasks run in-process, eagerly)."""
    from leads import tasks

    state = {"up": True}
    real = tasks.submission_follow_up.apply_async

    def publish(*args, **kwargs):
        if not state["up"]:
            raise ConnectionError("Error 111 connecting to broker. Connection refused.")
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks.submission_follow_up, "apply_async", publish)
    return state


def capture(client, form, email, **extra):
    return client.post(
        reverse("leads-api:capture", args=[form.key]),
        {"email": email, **extra},
        content_type="application/json",
    )


def test_a_capture_records_its_follow_up_in_the_same_transaction_and_sends_it_after_commit(
    client, form, rep, celery_eager, broker, django_capture_on_commit_callbacks
):
    rep.email = "rep@example.com"
    rep.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = capture(client, form, "ann@example.com", first_name="Ann", submission_id="s1")
    assert response.status_code == 201
    submission = Submission.objects.get()
    message = OutboxMessage.objects.get(task=FOLLOW_UP)
    assert (message.task, message.kwargs) == (FOLLOW_UP, {"submission_id": submission.pk})
    # Eager Celery ran the task at once: the message is settled.
    assert message.status == "done" and message.sent_at is not None and message.done_at
    submission.refresh_from_db()
    assert submission.followed_up_at is not None
    assert [m.to for m in mail.outbox] == [["rep@example.com"]]
    assert "New lead: Ann" in mail.outbox[0].subject


def test_with_the_broker_down_the_capture_still_succeeds_and_the_relay_sends_later(
    client, form, celery_eager, broker, django_capture_on_commit_callbacks
):
    broker["up"] = False
    with django_capture_on_commit_callbacks(execute=True):
        response = capture(client, form, "bob@example.com")
    assert response.status_code == 201
    message = OutboxMessage.objects.get(task=FOLLOW_UP)
    assert (message.status, message.attempts) == ("pending", 1)
    assert "Connection refused" in message.last_error
    assert message.next_attempt_at > timezone.now()  # backs off
    assert outbox_relay().sent == 0  # not due yet

    broker["up"] = True
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert outbox_relay().sent == 1
    message.refresh_from_db()
    assert message.status == "done"
    assert Submission.objects.get().followed_up_at is not None


def test_a_rolled_back_write_leaves_no_message():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(task="clm.tasks.ping", kwargs={})
        raise RuntimeError("the write failed")
    assert not OutboxMessage.objects.exists()


def test_a_key_enqueues_a_message_once():
    first = outbox_enqueue(task="clm.tasks.ping", kwargs={}, key="event:7")
    again = outbox_enqueue(task="clm.tasks.ping", kwargs={}, key="event:7")
    other = outbox_enqueue(task="clm.tasks.ping", kwargs={}, key="event:8")
    assert first.pk == again.pk != other.pk
    assert OutboxMessage.objects.count() == 2


def test_unknown_tasks_and_non_json_kwargs_are_refused_at_once():
    with pytest.raises(ValueError, match="unknown Celery task"):
        outbox_enqueue(task="nowhere.tasks.nothing", kwargs={})
    with pytest.raises(ValueError, match="must be JSON"):
        outbox_enqueue(task="clm.tasks.ping", kwargs={"at": object()})
    assert not OutboxMessage.objects.exists()


def test_a_message_the_relay_cannot_send_becomes_a_dead_letter_that_an_admin_replays(
    client, form, admin, celery_eager, broker, settings
):
    settings.CLM_OUTBOX_MAX_ATTEMPTS = 3
    broker["up"] = False
    with transaction.atomic():
        outbox_enqueue(task=FOLLOW_UP, kwargs={"submission_id": 99})
    for _ in range(3):
        OutboxMessage.objects.update(next_attempt_at=timezone.now())
        outbox_relay()
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts) == ("dead", 3)
    letter = DeadLetter.objects.get()
    assert (letter.source, letter.task) == ("outbox", FOLLOW_UP)
    assert letter.kwargs == {"submission_id": 99}

    client.force_login(admin)
    listing = client.get(reverse("admin:outbox_deadletter_changelist"))
    assert listing.status_code == 200 and FOLLOW_UP in listing.content.decode()
    broker["up"] = True
    replayed = client.post(
        reverse("admin:outbox_deadletter_changelist"),
        {"action": "replay", "_selected_action": [letter.pk]},
        follow=True,
    )
    assert "1 dead letter(s) queued again" in replayed.content.decode()
    letter.refresh_from_db()
    assert letter.replayed_at is not None and letter.replayed_by == admin.username
    assert letter.replay.task == FOLLOW_UP and letter.replay.status == "pending"
    assert outbox_relay().sent == 1


def test_the_admin_role_opens_the_dead_letters(client, make_user):
    client.force_login(make_user(roles.ADMIN))  # staff in the Admin group, not a superuser
    assert client.get(reverse("admin:outbox_deadletter_changelist")).status_code == 200


def test_non_admins_cannot_open_the_dead_letters(client, make_user):
    client.force_login(make_user(roles.MARKETER))
    response = client.get(reverse("admin:outbox_deadletter_changelist"))
    assert response.status_code == 302  # to the admin login: not staff


def test_a_task_that_finally_fails_on_a_worker_is_kept_as_a_dead_letter():
    from leads.tasks import submission_follow_up

    dead_letter_from_task_failure(
        sender=submission_follow_up,
        task_id="abc",
        exception=RuntimeError("SMTP refused"),
        args=[],
        kwargs={"submission_id": 5},
        einfo="Traceback ...",
    )
    letter = DeadLetter.objects.get()
    assert (letter.source, letter.task, letter.kwargs) == ("task", FOLLOW_UP, {"submission_id": 5})
    assert letter.error == "RuntimeError: SMTP refused"


@pytest.fixture
def lossy_broker(monkeypatch):
    """A broker that accepts every message and delivers none (as Redis may when a worker is
    killed while taking one): what it was handed is recorded."""
    from leads import tasks

    accepted: list[tuple[dict, str]] = []
    monkeypatch.setattr(
        tasks.submission_follow_up,
        "apply_async",
        lambda kwargs=None, task_id=None, **o: accepted.append((kwargs, task_id)),
    )
    return accepted


def test_a_message_the_broker_accepted_but_never_ran_is_sent_again(lossy_broker, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from clm.celery import app

    app.conf.task_always_eager = False
    try:
        message = outbox_enqueue(task=FOLLOW_UP, kwargs={"submission_id": 7})
        assert outbox_relay().sent == 1
        message.refresh_from_db()
        assert message.status == "sent"
        assert outbox_redeliver(older_than_seconds=60) == 0  # not overdue yet

        OutboxMessage.objects.update(sent_at=timezone.now() - timezone.timedelta(minutes=2))
        assert outbox_redeliver(older_than_seconds=60) == 1
        message.refresh_from_db()
        assert (message.status, message.attempts) == ("pending", 1)
        assert "not done 60 s after it was sent" in message.last_error
        assert outbox_relay().sent == 1
        assert [kwargs for kwargs, _ in lossy_broker] == [{"submission_id": 7}] * 2
        # Both sends carry the message's id, so the worker that finally runs it settles it.
        assert {task_id for _, task_id in lossy_broker} == {str(message.uuid)}
    finally:
        app.conf.task_always_eager = True


def test_the_success_of_a_task_settles_its_message_and_a_failure_kills_it():
    from leads.tasks import submission_follow_up

    ok = outbox_enqueue(task=FOLLOW_UP, kwargs={"submission_id": 1})
    bad = outbox_enqueue(task=FOLLOW_UP, kwargs={"submission_id": 2})
    OutboxMessage.objects.update(status="sent", sent_at=timezone.now())

    class Request:
        def __init__(self, task_id):
            self.id = task_id

    class Sender:
        name = submission_follow_up.name

        def __init__(self, task_id):
            self.request = Request(task_id)

    outbox_mark_done(sender=Sender(str(ok.uuid)), result=None)
    outbox_mark_done(sender=Sender("not-a-uuid"), result=None)  # a task sent without the outbox
    dead_letter_from_task_failure(
        sender=Sender(str(bad.uuid)), task_id=str(bad.uuid), exception=RuntimeError("boom"),
        kwargs={"submission_id": 2},
    )  # fmt: skip
    ok.refresh_from_db()
    bad.refresh_from_db()
    assert (ok.status, bad.status) == ("done", "dead")
    assert ok.done_at is not None
    # Neither is sent again, however old.
    OutboxMessage.objects.update(sent_at=timezone.now() - timezone.timedelta(days=1))
    assert outbox_redeliver(older_than_seconds=1) == 0


def test_the_follow_up_is_idempotent(form, rep, celery_eager, django_capture_on_commit_callbacks):
    from leads.services import submission_follow_up

    rep.email = "rep@example.com"
    rep.save()
    with django_capture_on_commit_callbacks(execute=False):
        from leads.services import RequestMeta, submission_capture

        result = submission_capture(
            form=form, data={"email": "c@example.com"}, custom={}, payload={}, meta=RequestMeta()
        )
    assert submission_follow_up(submission_id=result.submission_id) is True
    assert submission_follow_up(submission_id=result.submission_id) is False  # redelivered
    assert len(mail.outbox) == 1


def test_beat_jobs_run_once_per_period_even_when_two_beats_send_them(celery_eager):
    from attribution.models import AttributionRun
    from attribution.tasks import attribution_nightly
    from clm.services import job_claim
    from clm.tasks import heartbeat

    assert heartbeat.apply().get() is True
    assert heartbeat.apply().get() is False  # the second beat's send
    first = attribution_nightly.apply().get()
    # The nightly job makes one run per scope: contacts (whose id it returns) and accounts.
    runs = sorted(AttributionRun.objects.values_list("scope", "pk"))
    assert [scope for scope, _pk in runs] == ["account", "contact"]
    assert dict(runs)["contact"] == first
    assert attribution_nightly.apply().get() is None
    assert sorted(AttributionRun.objects.values_list("scope", "pk")) == runs  # nothing new
    day = 24 * 3600
    assert job_claim(job="x", period_seconds=day, now=10 * day + 5) is True
    assert job_claim(job="x", period_seconds=day, now=10 * day + day - 1) is False
    assert job_claim(job="x", period_seconds=day, now=11 * day) is True  # the next day


@pytest.mark.django_db(transaction=True)
def test_two_relays_never_send_the_same_message(monkeypatch):
    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("row locks: PostgreSQL")
    from clm.tasks import ping

    sent: list[str] = []
    monkeypatch.setattr(ping, "apply_async", lambda **kw: sent.append(kw["task_id"]))
    for _ in range(10):
        outbox_enqueue(task="clm.tasks.ping", kwargs={})
    sent.clear()  # the on-commit attempts of autocommit enqueues
    OutboxMessage.objects.update(status="pending", sent_at=None)
    holding, release = threading.Event(), threading.Event()

    def other_relay() -> None:
        from outbox.services import _due

        with transaction.atomic():
            held = _due(None, 4)  # locks 4 rows, as a relay mid-send does
            assert len(held) == 4
            holding.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=other_relay)
    thread.start()
    assert holding.wait(10)
    result = outbox_relay()
    release.set()
    thread.join()
    assert result.sent == 6 and len(set(sent)) == 6
    assert OutboxMessage.objects.filter(status="pending").count() == 4


# --- The cache fails soft and fast ------------------------------------------------------------


@pytest.fixture
def frozen_redis():
    """A port that accepts connections and never answers: a Redis stopped with SIGSTOP."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_cache(settings, port):
    from clm.cache import ResilientRedisCache

    ResilientRedisCache.reset_breaker()
    settings.CACHES = {
        "default": {
            "BACKEND": "clm.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_timeout": 0.3, "socket_connect_timeout": 0.3},
        }
    }


@pytest.mark.parametrize("outage", ["frozen_redis", "closed_port"])
def test_captures_stay_fast_and_stored_when_the_cache_redis_hangs_or_is_down(
    client,
    form,
    rep,
    other_rep,
    settings,
    request,
    outage,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    """One call waits out one socket timeout; the breaker keeps every later call off Redis.

    Counted, not timed (the machines are shared): each call that reaches Redis is recorded,
    with the breaker held open for the whole test so the count does not depend on speed.
    """
    from clm import cache as resilient
    from clm.cache import ResilientRedisCache

    with django_capture_on_commit_callbacks(execute=True):
        assert capture(client, form, "warm@example.com").status_code == 201  # imports, pools
    _redis_cache(settings, request.getfixturevalue(outage))
    reached: list[str] = []
    guard = ResilientRedisCache._guard

    def counted(self, call, fallback):
        def attempt():
            reached.append(outage)
            return call()

        return guard(self, attempt, fallback)

    monkeypatch.setattr(ResilientRedisCache, "_guard", counted)
    monkeypatch.setattr(resilient, "BREAKER_SECONDS", 3600.0)
    try:
        for i in range(20):
            with django_capture_on_commit_callbacks(execute=True):
                response = capture(client, form, f"p{i}@example.com", submission_id=f"id-{i}")
            assert response.status_code == 201, response.content
    finally:
        ResilientRedisCache.reset_breaker()
    assert Submission.objects.filter(status="accepted").count() == 21
    # 20 captures, each of which uses the cache: only the first call went to the dead Redis.
    assert reached == [outage]
    # Round-robin without its shared counter still spreads leads over both reps.
    from leads.models import Lead

    assert set(Lead.objects.values_list("owner_id", flat=True)) == {rep.pk, other_rep.pk}


def test_the_cache_answers_like_a_miss_while_redis_is_down(settings, closed_port):
    from django.core.cache import cache

    from clm.cache import CacheUnavailable, ResilientRedisCache

    _redis_cache(settings, closed_port)
    try:
        assert cache.get("k", "default") == "default"
        assert cache.add("k", 1) is False
        assert cache.set("k", 1) is None
        assert cache.get_many(["a", "b"]) == {}
        with pytest.raises(CacheUnavailable):
            cache.incr("k")
        with pytest.raises(CacheUnavailable):
            cache.incr_window("k", 1, 60)
    finally:
        ResilientRedisCache.reset_breaker()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")
def test_a_window_counter_counts_in_one_round_trip_and_expires(settings):
    """The rate limit's counter on a real Redis: created at the first use, added to, kept
    `timeout` seconds; one redis.Redis client serves every call of the process."""
    import uuid

    from django.core.cache import cache

    from clm.cache import ResilientRedisCache

    ResilientRedisCache.reset_breaker()
    settings.CACHES = {
        "default": {"BACKEND": "clm.cache.ResilientRedisCache", "LOCATION": os.environ["REDIS_URL"]}
    }
    key = f"window-{uuid.uuid4().hex}"
    assert [cache.incr_window(key, n, 60) for n in (1, 2, 3)] == [1, 3, 6]
    assert cache.get(key) == 6
    client = cache._cache.get_client(cache.make_and_validate_key(key), write=True)
    assert 0 < client.ttl(cache.make_and_validate_key(key)) <= 60
    assert cache._cache.get_client(write=True) is client
    cache.delete(key)
