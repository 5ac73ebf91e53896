"""A corpus of hostile input against every public endpoint.

For each: no 5xx, a clear 4xx with a message naming the field (or the body), nothing stored
that should not be (a rejected capture is kept as a REJECTED Submission by design, never as a
lead), and nothing lost that should be kept (odd but legal text is stored as sent).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from crm.tests.factories import lead_with_journey
from leads.models import CaptureForm, Lead, Submission, Touchpoint, Visitor

pytestmark = pytest.mark.django_db

SITE = "https://www.example.com"
FOREIGN = "https://evil.example.net"
TRACK = "/api/v1/track/"


@pytest.fixture
def form(db) -> CaptureForm:
    return CaptureForm.objects.create(
        name="Demo", slug="demo", allowed_origins=[SITE], min_fill_seconds=0
    )


def post_json(client: Client, url: str, body: Any, **headers: Any):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(url, data, content_type="application/json", **headers)


def errors_of(response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"code", "errors"}, body  # the API's one error shape (docs/api.md)
    assert body["code"] and body["errors"], body
    return body["errors"]


DEEP = "[" * 30_000 + "]" * 30_000  # under the 64 KiB limit: the parser meets it
HUGE_INT = "1" + "0" * 5000

# (case id, JSON body sent as is, expected status, field the message names)
CAPTURE_BAD_BODIES = [
    ("not-json", b"{email: x}", 400, "__all__"),
    ("invalid-utf8", b'{"email": "\xff\xfe@x.io"}', 400, "__all__"),
    ("deep-nesting", DEEP.encode(), 400, "__all__"),
    ("deep-nesting-in-a-field", ('{"email": ' + "[" * 20_000 + "]" * 20_000 + "}").encode(), 400,
     "__all__"),
    ("a-list-not-an-object", b'[{"email": "a@x.io"}]', 400, "__all__"),
    ("a-string", b'"a@x.io"', 400, "__all__"),
    ("null", b"null", 400, "__all__"),
    ("email-as-list", {"email": ["a@x.io", "b@x.io"]}, 400, "email"),
    ("email-as-object", {"email": {"$ne": ""}}, 400, "email"),
    ("email-as-number", {"email": 12345}, 400, "email"),
    ("email-as-bool", {"email": True}, 400, "email"),
    ("email-missing", {"first_name": "Ann"}, 400, "email"),
    ("email-with-crlf", {"email": "a@x.io\r\nBcc: all@x.io"}, 400, "email"),
    ("email-with-nul", {"email": "a\u0000@x.io"}, 400, "email"),
    ("nul-in-name", {"email": "a@x.io", "first_name": "An\u0000n"}, 400, "first_name"),
    ("lone-surrogate", b'{"email": "a@x.io", "first_name": "\\ud800"}', 400, "first_name"),
    ("lone-surrogate-key", b'{"email": "a@x.io", "\\udfff": "x"}', 400, "__all__"),
    ("huge-int", ('{"email": "a@x.io", "clm_elapsed_ms": ' + HUGE_INT + "}").encode(), 400,
     "__all__"),
    ("inf-elapsed", b'{"email": "a@x.io", "clm_elapsed_ms": 1e400}', 400, "clm_elapsed_ms"),
    ("negative-elapsed", {"email": "a@x.io", "clm_elapsed_ms": -5}, 400, "clm_elapsed_ms"),
    ("overlong-name", {"email": "a@x.io", "first_name": "x" * 101}, 400, "first_name"),
    ("phone-with-script", {"email": "a@x.io", "phone": "<script>"}, 400, "phone"),
    ("forged-visitor-id", {"email": "a@x.io", "visitor_id": "../../etc/passwd"}, 400,
     "visitor_id"),
    ("visitor-id-with-crlf", {"email": "a@x.io", "visitor_id": "abcd\r\nefgh"}, 400,
     "visitor_id"),
    ("submission-id-sql", {"email": "a@x.io", "submission_id": "1' OR '1'='1"}, 400,
     "submission_id"),
    ("too-many-fields", {"email": "a@x.io", **{f"f{i}": "x" for i in range(150)}}, 400,
     "__all__"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [pytest.param(b, s, f, id=i) for i, b, s, f in CAPTURE_BAD_BODIES],
)
def test_capture_refuses_hostile_json_with_a_field_message(client, form, body, status, field):
    response = post_json(client, form.url, body)
    assert response.status_code == status
    assert field in errors_of(response)
    assert not Lead.objects.exists()
    assert not Touchpoint.objects.exists()
    # Anything kept is kept as rejected, and the database could store it.
    assert not Submission.objects.exclude(status=Submission.Status.REJECTED).exists()
    for submission in Submission.objects.all():
        assert "\x00" not in json.dumps(submission.payload)


def test_an_oversized_body_is_413_before_it_is_read(client, form):
    body = {"email": "a@x.io", "message": "x" * (settings.CLM_CAPTURE_MAX_BYTES + 1)}
    response = post_json(client, form.url, body)
    assert response.status_code == 413
    assert "larger than" in errors_of(response)["__all__"][0]
    assert not Submission.objects.exists()


def test_a_lying_content_length_is_400(client, form):
    response = client.post(form.url, b"{}", content_type="application/json", CONTENT_LENGTH="lots")
    assert response.status_code == 400
    assert "Content-Length" in errors_of(response)["__all__"][0]


@pytest.mark.parametrize(
    "payload",
    [
        "{{7*7}}",
        "{% debug %}",
        "{{ settings.SECRET_KEY }}",
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        '=HYPERLINK("https://evil.example.net","click")',
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "line one\r\nSet-Cookie: x=1",
        "'; DROP TABLE leads_lead; --",
    ],
)
def test_payloads_are_stored_as_text_and_shown_inert(client, form, admin, payload):
    response = post_json(
        client, form.url, {"email": "p@x.io", "company": payload, "message": payload}
    )
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(email="p@x.io")
    assert lead.company == payload  # nothing lost, nothing evaluated
    assert Submission.objects.get().payload["message"] == payload

    client.force_login(admin)
    page = client.get(f"/crm/leads/{lead.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page
    assert "SECRET_KEY" not in page or payload == "{{ settings.SECRET_KEY }}"
    assert settings.SECRET_KEY not in page
    if payload == "{{7*7}}":
        assert "{{7*7}}" in page


def test_odd_but_legal_unicode_is_stored_intact(client, form):
    name = "Zoë Ñandú-O'Brien 😀 \u202eRTL\u202c \u200bzwsp 株式会社 Ⅻ \U0001d518\U0001d52b"
    response = post_json(
        client,
        form.url,
        {"email": "Zoë@Bücher.example", "first_name": name[:100], "company": "株式会社 😀"},
    )
    if response.status_code == 400:  # an IDN email may be refused, but then with a message
        assert "email" in errors_of(response)
        response = post_json(
            client, form.url, {"email": "zoe@example.com", "first_name": name[:100],
                               "company": "株式会社 😀"},
        )  # fmt: skip
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert lead.first_name == name[:100]
    assert lead.company == "株式会社 😀"


def test_the_landing_page_form_post_shows_field_messages_and_a_safe_back_link(client, form):
    response = client.post(
        form.url,
        {"email": "not an email", "first_name": "x" * 300},
        HTTP_REFERER="javascript:alert(document.cookie)",
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Please check the form" in page
    assert "email" in page and "first_name" in page
    assert "javascript:" not in page
    ok = client.post(form.url, {"email": "bad"}, HTTP_REFERER="https://www.example.com/l/demo/")
    assert 'href="https://www.example.com/l/demo/"' in ok.content.decode()


@pytest.mark.parametrize(
    "origin",
    [
        FOREIGN,
        "null",
        "https://www.example.com.evil.example.net",
        "https://www.example.com\r\nSet-Cookie: x=1",
        "https://www.example.com\nX: y",
        "https://ww\u0000w.example.com",
    ],
)
def test_foreign_or_malformed_origins_are_refused_and_never_echoed(client, form, origin):
    response = post_json(client, form.url, {"email": "o@x.io"}, HTTP_ORIGIN=origin)
    assert response.status_code == 403
    assert "origin" in errors_of(response)["__all__"][0]
    assert response.get("Access-Control-Allow-Origin") in (None, origin)
    assert "\n" not in str(response.get("Access-Control-Allow-Origin", ""))
    assert not Submission.objects.exists()
    track = post_json(
        client, TRACK, {"visitor_id": "visitor-123", "url": "https://x.io/"}, HTTP_ORIGIN=origin
    )
    assert track.status_code == 403
    assert "Access-Control-Allow-Origin" not in track
    assert not Touchpoint.objects.exists()


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_USER_AGENT": "Mozilla\r\nX-Injected: 1"},
        {"HTTP_USER_AGENT": "x" * 10_000},
        {"HTTP_X_FORWARDED_FOR": "1.2.3.4\r\n, <script>"},
        {"HTTP_ACCEPT": "application/json\r\nX: y"},
        {"HTTP_ACCEPT": "application/json, image/png;q=abc, */*;;"},
        {"HTTP_REFERER": "\x00\r\n"},
    ],
)
def test_strange_headers_do_not_break_capture_or_leak_into_answers(client, form, header):
    response = post_json(client, form.url, {"email": "h@x.io"}, **header)
    assert response.status_code == 201
    assert all("\n" not in str(v) for v in response.headers.values())
    submission = Submission.objects.get()
    assert len(submission.user_agent) <= 400


def test_a_replayed_submission_id_creates_nothing_new(client, form):
    body = {"email": "r@x.io", "submission_id": "sub-1"}
    first = post_json(client, form.url, body)
    again = post_json(client, form.url, body)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json() == {"id": Submission.objects.get().pk}  # replayed
    assert Submission.objects.count() == 1 and Touchpoint.objects.count() == 1
    changed = post_json(client, form.url, {**body, "company": "Other"})
    assert changed.status_code == 409
    assert "submission_id" in errors_of(changed)
    assert Submission.objects.count() == 1


def test_posted_lead_ids_and_foreign_keys_are_ignored(client, form, rep):
    victim = lead_with_journey(owner=rep, email="victim@x.io")
    response = post_json(
        client,
        form.url,
        {"email": "attacker@x.io", "lead": victim.pk, "lead_id": victim.pk, "form": 999},
    )
    assert response.status_code == 201
    assert Submission.objects.get(pk=response.json()["id"]).lead.email == "attacker@x.io"
    victim.refresh_from_db()
    assert victim.submissions.count() == 0


# --- /api/v1/track/ --------------------------------------------------------------------------

TRACK_BAD_BODIES = [
    ("not-json", b"nope", 400),
    ("deep-nesting", DEEP.encode(), 400),
    ("empty-list", b"[]", 400),
    ("too-many-events", json.dumps([{"visitor_id": "visitor-123", "url": "/"}] * 51).encode(), 400),
    ("event-is-a-string", b'["x"]', 400),
    ("url-as-object", {"visitor_id": "visitor-123", "url": {"a": 1}}, 400),
    ("url-missing", {"visitor_id": "visitor-123"}, 400),
    ("nul-in-url", {"visitor_id": "visitor-123", "url": "https://x.io/\u0000"}, 400),
    ("lone-surrogate", b'{"visitor_id": "visitor-123", "url": "https://x.io/\\udc00"}', 400),
    ("forged-visitor-id", {"visitor_id": "<script>", "url": "https://x.io/"}, 400),
    ("visitor-id-as-list", {"visitor_id": ["visitor-123"], "url": "https://x.io/"}, 400),
    ("visitor-id-with-newline", {"visitor_id": "visitor-123\nx", "url": "https://x.io/"}, 400),
    ("huge-ts", ('{"visitor_id": "visitor-123", "url": "/", "ts": ' + HUGE_INT + "}").encode(),
     400),
    ("ts-out-of-range", {"visitor_id": "visitor-123", "url": "/", "ts": 10**20}, 400),
    ("ts-as-string", {"visitor_id": "visitor-123", "url": "/", "ts": "yesterday"}, 400),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status"), [pytest.param(b, s, id=i) for i, b, s in TRACK_BAD_BODIES]
)
def test_track_refuses_hostile_bodies_with_a_message(client, body, status):
    response = post_json(client, TRACK, body)
    assert response.status_code == status
    errors_of(response)
    assert not Touchpoint.objects.exists()
    assert not Visitor.objects.exists()


def test_track_with_a_wrong_content_type_is_415(client):
    response = client.post(TRACK, "visitor_id=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    errors_of(response)


def test_track_ignores_forged_lead_ids_and_keeps_odd_urls_intact(client, rep):
    victim = lead_with_journey(owner=rep, email="victim@x.io")
    before = victim.touchpoints.count()
    url = "https://x.io/ünïcødé/😀?q={{7*7}}&utm_source=<script>"
    response = post_json(
        client, TRACK, {"visitor_id": "visitor-abc", "url": url, "lead": victim.pk,
                        "lead_id": victim.pk, "title": "=HYPERLINK(1)"},
    )  # fmt: skip
    assert response.status_code == 202
    touch = Touchpoint.objects.get(visitor_id="visitor-abc")
    assert touch.lead_id is None and touch.url == url and touch.title == "=HYPERLINK(1)"
    assert victim.touchpoints.count() == before


# --- /healthz and the login form ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "options", "head"])
def test_healthz_answers_any_method_without_a_server_error(client, method):
    response = getattr(client, method)("/healthz?x=%00%ff&y=" + "z" * 5000)
    assert response.status_code < 500


@pytest.mark.parametrize(
    "data",
    [
        {"username": "admin\x00", "password": "x"},
        {"username": "a" * 10_000, "password": "x"},
        {"username": "{{7*7}}", "password": "{% debug %}"},
        {"username": "admin\r\nX: y", "password": "x"},
        {"username": ["a", "b"], "password": ["c", "d"]},
        {},
    ],
)
def test_the_login_form_refuses_hostile_input_with_a_message(client, data):
    response = client.post("/accounts/login/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'role="alert"' in page or "This field is required" in page or "errorlist" in page
    assert "_auth_user_id" not in client.session
    assert "49" not in page.split("<form", 1)[0]  # no template evaluation of the input


def test_a_login_with_invalid_utf8_or_surrogate_bytes_is_refused_cleanly(client):
    body = "username=%ED%A0%80%FF&password=x"
    response = client.post(
        "/accounts/login/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_a_json_body_to_the_login_form_is_refused_cleanly(client):
    response = client.post("/accounts/login/", DEEP, content_type="application/json")
    assert response.status_code in (200, 400, 403)
