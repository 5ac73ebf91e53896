"""Page views from track.js, and how they join a lead's journey."""

import json

import pytest

from leads.models import CaptureForm, Submission, Touchpoint, Visitor

pytestmark = pytest.mark.django_db

SITE = "https://www.example.com"
VID = "vis_0123456789abcdef"


@pytest.fixture
def form(db):
    return CaptureForm.objects.create(name="Trial", allowed_origins=[SITE], min_fill_seconds=0)


def track(client, events, content_type="application/json", **headers):
    return client.post("/api/v1/track/", json.dumps(events), content_type=content_type, **headers)


def test_one_event_or_a_list_is_accepted_with_202(client, form):
    one = track(client, {"visitor_id": VID, "url": f"{SITE}/?utm_source=google&utm_medium=cpc"})
    assert one.status_code == 202
    assert one.json() == {"accepted": 1}
    many = track(
        client,
        [
            {"visitor_id": VID, "url": f"{SITE}/a", "referrer": f"{SITE}/", "title": "A"},
            {"visitor_id": VID, "url": f"{SITE}/b", "referrer": f"{SITE}/a", "title": "B"},
        ],
        content_type="text/plain",  # what sendBeacon sends, so no CORS preflight is needed
        HTTP_ORIGIN=SITE,
    )
    assert many.status_code == 202
    assert many["Access-Control-Allow-Origin"] == SITE
    assert Touchpoint.objects.filter(kind="page_view").count() == 3
    assert Visitor.objects.get().pk == VID


def test_navigation_within_the_site_continues_the_landing_source(client, form):
    track(client, {"visitor_id": VID, "url": f"{SITE}/?utm_source=google&utm_medium=cpc"})
    track(client, {"visitor_id": VID, "url": f"{SITE}/pricing", "referrer": f"{SITE}/"})
    first, second = Touchpoint.objects.order_by("id")
    assert first.channel.name == second.channel.name == "Paid Search"
    assert (first.self_referral, second.self_referral) == (False, True)


def test_page_views_before_the_form_join_the_lead_that_submits_it(client, form):
    track(client, {"visitor_id": VID, "url": f"{SITE}/?utm_source=linkedin&utm_medium=paid_social"})
    track(client, {"visitor_id": VID, "url": f"{SITE}/features", "referrer": f"{SITE}/"})
    response = client.post(
        form.url,
        json.dumps({"email": "s@x.io", "visitor_id": VID, "landing_url": f"{SITE}/features"}),
        content_type="application/json",
    )
    lead = Submission.objects.get(pk=response.json()["id"]).lead
    kinds = list(lead.touchpoints.order_by("occurred_at", "id").values_list("kind", flat=True))
    assert kinds == ["page_view", "page_view", "form_submit"]
    assert lead.first_touch.kind == "page_view"
    assert lead.first_touch.channel.name == "Paid Social"
    assert lead.first_channel.name == "Paid Social"  # the stitched view, not the form post
    assert lead.creation_touch.kind == "form_submit"
    # A page view after the form goes straight to the lead.
    track(client, {"visitor_id": VID, "url": f"{SITE}/docs", "referrer": "https://duckduckgo.com/"})
    lead.refresh_from_db()
    assert lead.touchpoints.count() == 4
    assert lead.latest_touch.channel.name == "Organic Search"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": f"{SITE}/"}, "visitor_id"),
        ({"visitor_id": "short", "url": f"{SITE}/"}, "visitor_id"),
        ({"visitor_id": VID}, "url"),
        ({"visitor_id": VID, "url": "x" * 3000}, "url"),
        ({"visitor_id": VID, "url": f"{SITE}/", "ts": "yesterday"}, "ts"),
        ("just a string", "object"),
    ],
)
def test_invalid_events_are_rejected_whole_with_messages(client, form, body, field):
    response = track(client, [{"visitor_id": VID, "url": f"{SITE}/ok"}, body])
    assert response.status_code == 400
    assert field in json.dumps(response.json()["errors"]["1"])
    assert Touchpoint.objects.count() == 0


def test_a_foreign_origin_may_not_send_page_views(client, form):
    response = track(client, {"visitor_id": VID, "url": f"{SITE}/"}, HTTP_ORIGIN="https://evil.io")
    assert response.status_code == 403
    assert Touchpoint.objects.count() == 0


def test_more_than_50_events_or_a_huge_body_are_refused(client, form, settings):
    events = [{"visitor_id": VID, "url": f"{SITE}/{i}"} for i in range(51)]
    assert track(client, events).status_code == 400
    settings.CLM_TRACK_MAX_BYTES = 500
    assert track(client, events[:20]).status_code == 413


def test_wrong_content_type_is_415(client, form):
    response = client.post("/api/v1/track/", {"visitor_id": VID, "url": SITE})
    assert response.status_code == 415


def test_a_browser_clock_far_off_is_replaced_by_the_server_time(client, form):
    track(client, {"visitor_id": VID, "url": f"{SITE}/", "ts": 1000})
    touch = Touchpoint.objects.get()
    assert touch.occurred_at.year >= 2025


def test_the_rate_limit_counts_page_views_not_requests(client, form, settings):
    settings.CLM_TRACK_RATE_PER_MINUTE = 100
    batch = [{"visitor_id": VID, "url": f"{SITE}/{i}"} for i in range(50)]
    assert track(client, batch).status_code == 202
    assert track(client, batch).status_code == 202

    refused = track(client, batch[:1])

    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert Touchpoint.objects.count() == 100


def test_one_batch_over_the_rate_limit_is_refused_whole(client, form, settings):
    settings.CLM_TRACK_RATE_PER_MINUTE = 30
    batch = [{"visitor_id": VID, "url": f"{SITE}/{i}"} for i in range(31)]
    assert track(client, batch).status_code == 429
    assert Touchpoint.objects.count() == 0


def test_a_throttled_address_does_not_throttle_another(client, form, settings):
    settings.CLM_TRACK_RATE_PER_MINUTE = 50
    batch = [{"visitor_id": VID, "url": f"{SITE}/{i}"} for i in range(50)]
    assert track(client, batch, REMOTE_ADDR="203.0.113.1").status_code == 202
    assert track(client, batch[:1], REMOTE_ADDR="203.0.113.1").status_code == 429
    assert track(client, batch[:1], REMOTE_ADDR="203.0.113.2").status_code == 202


def test_linkedin_and_tiktok_click_ids_are_kept_from_page_views_and_captures(client, form):
    track(client, {"visitor_id": VID, "url": f"{SITE}/?li_fat_id=9f1c-22ab&utm_source=x"})
    track(client, {"visitor_id": VID, "url": f"{SITE}/pricing?ttclid=E.C.P.abc"})
    response = client.post(
        form.url,
        json.dumps({"email": "li@x.io", "visitor_id": VID, "li_fat_id": "77aa-bb",
                    "landing_url": f"{SITE}/demo?ttclid=T.1"}),
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201
    views = list(Touchpoint.objects.filter(kind="page_view").order_by("id"))
    assert [v.click_ids for v in views] == [{"li_fat_id": "9f1c-22ab"}, {"ttclid": "E.C.P.abc"}]
    submitted = Touchpoint.objects.get(kind="form_submit")
    assert submitted.click_ids == {"li_fat_id": "77aa-bb", "ttclid": "T.1"}
