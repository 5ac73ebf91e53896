"""Login throttling, session rotation on login, and cookie flags."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-123"


@pytest.fixture
def limits(settings):
    settings.CLM_LOGIN_MAX_FAILURES = 3
    settings.CLM_LOGIN_FAILURE_WINDOW = 600
    return settings


def login(client, username, password, ip="10.0.0.1", url="/accounts/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_after_n_failures_the_login_form_refuses_even_the_right_password(client, rep, limits):
    for _ in range(3):
        response = login(client, rep.username, "wrong")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()

    refused = login(client, rep.username, PASSWORD)
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many failed logins for this username from your address" in page
    assert "Try again in 10 minutes" in page
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_username_and_address(client, rep, other_rep, limits):
    for _ in range(3):
        login(client, rep.username, "wrong")
    assert login(client, other_rep.username, PASSWORD).status_code == 302
    client.logout()
    assert login(client, rep.username, PASSWORD, ip="10.0.0.2").status_code == 302


def test_the_lock_ends_with_the_window(client, rep, limits, monkeypatch):
    import time

    for _ in range(3):
        login(client, rep.username, "wrong")
    assert login(client, rep.username, PASSWORD).status_code == 429
    later = time.time() + 601
    monkeypatch.setattr(time, "time", lambda: later)
    assert login(client, rep.username, PASSWORD).status_code == 302


def test_a_successful_login_clears_earlier_failures(client, rep, limits):
    for _ in range(2):
        login(client, rep.username, "wrong")
    assert login(client, rep.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        login(client, rep.username, "wrong")
    assert login(client, rep.username, PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(client, admin, limits):
    for _ in range(3):
        login(client, admin.username, "wrong", url="/admin/login/")
    response = login(client, admin.username, PASSWORD, url="/admin/login/")
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_unicode_or_case_variant_of_the_username_counts_as_the_same_user(client, rep, limits):
    fullwidth_r = "\uff52"  # NFKC-equal to "r"
    variant = fullwidth_r + rep.username[1:]
    for typed in (variant, rep.username.upper(), variant):
        assert login(client, typed, "wrong").status_code == 200

    for typed in (variant, rep.username):
        refused = login(client, typed, PASSWORD)
        assert refused.status_code == 429
        assert "Too many failed logins for this username" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_variant_of_a_locked_username_cannot_log_in(client, rep, limits):
    for _ in range(3):
        login(client, rep.username, "wrong")
    assert login(client, "\uff52" + rep.username[1:], PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


def test_many_usernames_from_one_address_lock_the_address(client, rep, other_rep, limits):
    limits.CLM_LOGIN_MAX_FAILURES_PER_ADDRESS = 5
    for i in range(4):
        assert login(client, f"guess{i}", "wrong").status_code == 200
    # A valid login in between does not wipe the address's count.
    assert login(client, other_rep.username, PASSWORD).status_code == 302
    client.logout()
    assert login(client, "guess4", "wrong").status_code == 200

    refused = login(client, rep.username, PASSWORD)

    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many failed logins from your address" in page
    assert "Try again in 10 minutes" in page
    assert "_auth_user_id" not in client.session


def test_a_locked_address_does_not_lock_another_address(client, rep, limits):
    limits.CLM_LOGIN_MAX_FAILURES_PER_ADDRESS = 5
    for i in range(5):
        login(client, f"guess{i}", "wrong", ip="10.0.0.1")
    assert login(client, rep.username, PASSWORD, ip="10.0.0.1").status_code == 429
    assert login(client, rep.username, PASSWORD, ip="10.0.0.2").status_code == 302


def test_the_admin_login_is_locked_by_address_too(client, admin, limits):
    limits.CLM_LOGIN_MAX_FAILURES_PER_ADDRESS = 5
    for i in range(5):
        login(client, f"guess{i}", "wrong", url="/admin/login/")
    response = login(client, admin.username, PASSWORD, url="/admin/login/")
    assert "Too many failed logins from your address" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logging_in_gives_a_new_session_key(client, rep):
    before = SessionStore()
    before["visited"] = "landing"
    before.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = before.session_key

    response = login(client, rep.username, PASSWORD)

    assert response.status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before.session_key
    assert not SessionStore().exists(before.session_key)  # the old key is gone, not reusable
    assert SessionStore(session_key=after).get("visited") == "landing"


def test_session_and_csrf_cookies_are_httponly_and_samesite(client, rep):
    page = client.get("/accounts/login/")
    csrf = page.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"
    response = login(client, rep.username, PASSWORD)
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"


def test_production_settings_make_the_cookies_secure():
    env = {
        **os.environ,
        "CLM_ENV": "production",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "clm.example.com",
        "DJANGO_SETTINGS_MODULE": "clm.settings",
    }
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY,"
        " s.CSRF_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SAMESITE,"
        " s.SECURE_SSL_REDIRECT, s.DEBUG)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.split() == ["True", "True", "True", "True", "Lax", "Lax", "True", "False"]
