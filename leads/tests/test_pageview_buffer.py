"""The page-view buffer (leads.pageviews): what it stores is what storing each request at once
stores; nothing accepted is lost when Redis is down; nothing is stored twice."""

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from leads import pageviews
from leads.models import CaptureForm, Lead, Touchpoint, Visitor
from leads.touches import page_views_store
from outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db

SITE = "https://www.example.com"
PAID = f"{SITE}/?utm_source=google&utm_medium=cpc"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def ms(at):
    return int(at.timestamp() * 1000)


def requests_of_a_day(lead_visitor):
    """Track requests as they arrive: (events, received at). Landings with tags, navigation
    within the site, a beacon sent late with an earlier time, a known lead's browser."""
    return [
        ([{"visitor_id": "v_a_0123456789abcdef", "url": PAID}], T0),
        ([{"visitor_id": "v_a_0123456789abcdef", "url": f"{SITE}/pricing", "referrer": f"{SITE}/"}],
         T0 + timedelta(seconds=20)),
        ([{"visitor_id": "v_b_0123456789abcdef", "url": f"{SITE}/blog", "referrer": "https://news.ycombinator.com/"},
          {"visitor_id": "v_b_0123456789abcdef", "url": f"{SITE}/docs", "referrer": f"{SITE}/blog",
           "ts": ms(T0 + timedelta(seconds=40))}], T0 + timedelta(seconds=45)),
        ([{"visitor_id": lead_visitor, "url": f"{SITE}/?utm_source=newsletter&utm_medium=email"}],
         T0 + timedelta(seconds=50)),
        # Sent late: its time is before the views of v_a above, so the visit is settled again.
        ([{"visitor_id": "v_a_0123456789abcdef",
           "url": f"{SITE}/?utm_source=facebook&utm_medium=paid_social",
           "ts": ms(T0 - timedelta(seconds=30))}], T0 + timedelta(seconds=60)),
        ([{"visitor_id": lead_visitor, "url": f"{SITE}/contact", "referrer": f"{SITE}/"},
          {"visitor_id": "v_c_0123456789abcdef", "url": f"{SITE}/", "title": "Home"}],
         T0 + timedelta(seconds=70)),
    ]  # fmt: skip


FIELDS = (
    "kind", "occurred_at", "visitor_id", "lead__email", "url", "referrer", "title", "utm_source",
    "utm_medium", "utm_campaign", "source", "medium", "self_referral", "late_stitched",
    "channel__name", "campaign_id", "matched_rule",
)  # fmt: skip


def stored_rows():
    touches = list(
        Touchpoint.objects.order_by("occurred_at", "visitor_id", "url").values_list(*FIELDS)
    )
    visitors = list(
        Visitor.objects.order_by("id").values_list("id", "first_seen", "last_seen", "lead__email")
    )
    leads = list(
        Lead.objects.order_by("email").values_list("email", "latest_touch__url", "first_touch__url")
    )
    return touches, visitors, leads  # fmt: skip


def a_known_lead():
    """A lead captured earlier from browser v_lead."""
    form = CaptureForm.objects.create(name="Trial", min_fill_seconds=0)
    from django.test import Client

    response = Client().post(
        form.url,
        json.dumps(
            {
                "email": "known@x.io",
                "visitor_id": "v_lead_0123456789abcdef",
                "landing_url": f"{SITE}/",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201
    earlier = T0 - timedelta(hours=1)
    Touchpoint.objects.filter(lead__email="known@x.io").update(occurred_at=earlier)
    Visitor.objects.update(first_seen=earlier, last_seen=earlier)


def test_a_batch_stores_what_storing_each_request_at_once_stores():
    a_known_lead()
    requests = requests_of_a_day("v_lead_0123456789abcdef")
    for events, received_at in requests:  # today's path: one request at a time
        page_views_store(requests=[(events, received_at)])
    one_by_one = stored_rows()
    Touchpoint.objects.all().delete()
    Visitor.objects.all().delete()
    Lead.objects.all().delete()
    CaptureForm.objects.all().delete()
    a_known_lead()
    page_views_store(requests=requests)  # the drainer's path: the same requests in one batch
    assert stored_rows() == one_by_one
    assert len(one_by_one[0]) == 9  # eight page views and the lead's form touch


def test_with_redis_down_an_accepted_request_goes_to_the_outbox_and_is_stored_once(
    client, settings
):
    settings.CLM_TRACK_BUFFER = True
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there: connection refused
    pageviews._state.update(client=None, open_until=0.0)
    try:
        response = client.post(
            "/api/v1/track/",
            json.dumps({"visitor_id": "v_down_0123456789abcdef", "url": PAID}),
            content_type="application/json",
        )
    finally:
        pageviews._state.update(client=None, open_until=0.0)
    assert response.status_code == 202
    message = OutboxMessage.objects.get(task="leads.tasks.page_views_store", key=None)
    assert Touchpoint.objects.count() == 0  # stored by the worker, once the broker is back
    from leads.tasks import page_views_store as task

    task.apply(kwargs=message.kwargs)
    assert Touchpoint.objects.get().channel.name == "Paid Search"
    # The same request again (a redelivery, or its push executed by a thawed Redis): nothing.
    assert pageviews.page_views_store_item(item=message.kwargs["item"]) == 0
    assert Touchpoint.objects.count() == 1


def test_a_request_stored_by_the_drainer_is_not_stored_again_by_the_outbox():
    item = {
        "token": "t1",
        "at": T0.isoformat(),
        "events": [{"visitor_id": "v1_0123456789abcdef", "url": f"{SITE}/"}],
    }
    assert pageviews._store_items([item]) == 1
    assert pageviews._store_items([item]) == 0
    assert pageviews.page_views_store_item(item=item) == 0
    assert Touchpoint.objects.count() == 1


REDIS_URL = os.environ.get("REDIS_URL", "")


@pytest.mark.skipif(not REDIS_URL, reason="needs Redis (REDIS_URL)")
def test_buffered_requests_are_stored_by_the_drainer_as_the_direct_path_stores_them(
    client, settings
):
    settings.CLM_TRACK_BUFFER = True
    settings.REDIS_URL = REDIS_URL
    pageviews._state.update(client=None, open_until=0.0)
    redis = pageviews.buffer_client()
    redis.delete(pageviews.BUFFER_KEY, pageviews.BATCHES_KEY)
    try:
        for i in range(3):
            response = client.post(
                "/api/v1/track/",
                json.dumps([{"visitor_id": f"v_{i}_0123456789abcdef", "url": PAID},
                            {"visitor_id": f"v_{i}_0123456789abcdef", "url": f"{SITE}/pricing",
                             "referrer": f"{SITE}/"}]),
                content_type="application/json",
            )  # fmt: skip
            assert response.status_code == 202
        assert Touchpoint.objects.count() == 0  # accepted, not stored yet
        assert pageviews.page_views_buffered() == 3
        assert pageviews.page_views_drain(batch_size=2) == 3
        assert pageviews.page_views_buffered() == 0
        assert redis.zcard(pageviews.BATCHES_KEY) == 0
        assert Touchpoint.objects.filter(channel__name="Paid Search").count() == 6
        assert pageviews.page_views_drain() == 0  # a rerun on an empty buffer changes nothing
        assert Touchpoint.objects.count() == 6
    finally:
        redis.delete(pageviews.BUFFER_KEY, pageviews.BATCHES_KEY)
        pageviews._state.update(client=None, open_until=0.0)


@pytest.mark.skipif(not REDIS_URL, reason="needs Redis (REDIS_URL)")
def test_a_batch_of_a_drainer_that_died_is_put_back_and_stored_once(settings):
    settings.CLM_TRACK_BUFFER = True
    settings.REDIS_URL = REDIS_URL
    pageviews._state.update(client=None, open_until=0.0)
    redis = pageviews.buffer_client()
    redis.delete(pageviews.BUFFER_KEY, pageviews.BATCHES_KEY)
    try:
        pageviews.page_views_accept(
            events=[{"visitor_id": "v_dead_0123456789abcdef", "url": f"{SITE}/"}], received_at=T0
        )
        take = redis.register_script(pageviews._TAKE)
        name = f"{pageviews.BATCH_PREFIX}dead"
        assert (
            len(take(keys=[pageviews.BUFFER_KEY, name, pageviews.BATCHES_KEY], args=[10, 0])) == 1
        )
        assert pageviews.page_views_buffered() == 0  # taken by a drainer that then died
        assert pageviews.page_views_drain() == 1  # put back (stale) and stored
        assert Touchpoint.objects.count() == 1
        assert not redis.exists(name)
    finally:
        redis.delete(pageviews.BUFFER_KEY, pageviews.BATCHES_KEY)
        pageviews._state.update(client=None, open_until=0.0)


def test_the_drain_command_is_registered_with_beat():
    from clm.beat import schedule

    assert schedule()["page-views-drain"]["task"] == "leads.tasks.page_views_drain"
    call_command("check")
