"""No personal data or secret in the logs, whoever logs it."""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError

from clm.logmask import mask
from leads.models import CaptureForm

pytestmark = pytest.mark.django_db

EMAIL = "jane.doe+promo@example.org"


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        (f"capture from {EMAIL} failed", EMAIL),
        ("GET /crm/?q=jane%40example.org&token=abc123secret", "abc123secret"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
        ("password=hunter2 user=x", "hunter2"),
        ('{"password": "hunter2"}', "hunter2"),
        ("Cookie: sessionid=k3y5ecret; csrftoken=c5rf", "k3y5ecret"),
        ("Not Found: /dashboards/shared/AbCdEf123456789/", "AbCdEf123456789"),
    ],
)
def test_mask_removes_personal_data_and_secrets(text, leaked):
    assert leaked not in mask(text)


def test_mask_keeps_ordinary_text():
    text = "attribution run 12 finished in 3.2 s for 4 partitions"
    assert mask(text) == text


def test_any_logger_gets_masked_messages_and_exception_text(caplog):
    log = logging.getLogger("some.library")
    with caplog.at_level(logging.INFO):
        log.info("new lead %s", EMAIL)
        try:
            raise ValueError(f"duplicate key (email)=({EMAIL})")
        except ValueError:
            log.exception("write failed")
    assert EMAIL not in caplog.text
    assert "new lead [email]" in caplog.text
    assert "duplicate key" in caplog.text  # the rest of the traceback is kept


def test_a_capture_that_fails_logs_no_email(client, caplog, monkeypatch):
    form = CaptureForm.objects.create(name="F", min_fill_seconds=0)

    def outage(**kwargs):
        raise OperationalError(f"could not write lead {kwargs['data']['email']}")

    monkeypatch.setattr("leads.services.submission_capture", outage)
    with caplog.at_level(logging.DEBUG):
        response = client.post(form.url, {"email": EMAIL}, HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert "database unavailable" in caplog.text  # it was logged, with the traceback
    assert "could not write lead" in caplog.text
    assert EMAIL not in caplog.text


def test_a_404_on_a_share_link_logs_no_token(client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/dashboards/shared/not-a-real-token-123456/")
    assert response.status_code == 404
    assert "Not Found: /dashboards/shared/[redacted]/" in caplog.text
    assert "not-a-real-token-123456" not in caplog.text
