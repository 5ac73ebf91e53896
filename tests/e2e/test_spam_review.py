"""An admin rescues a real person's autofilled form from the suspected-spam list."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from leads.models import CaptureForm, Lead, Submission

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_admin_marks_an_autofilled_post_not_spam(
    page: Any, login: Any, admin: Any, screenshot: Any
) -> None:
    form = CaptureForm.objects.create(name="Demo request", min_fill_seconds=2)
    for n, email in enumerate(["Grace.Hopper@navy.example", "bot@spam.example"]):
        Client().post(
            form.url,
            json.dumps({"email": email, "name": f"Person {n}", "clm_elapsed_ms": 700}),
            content_type="application/json",
        )
    assert Lead.objects.count() == 0
    page.set_viewport_size({"width": 1440, "height": 900})
    login(admin.username)

    page.goto("/setup/")
    page.click("text=Suspected spam")
    page.wait_for_selector("table#spam")
    assert page.locator("table#spam tbody tr").count() == 2
    screenshot("spam-review-1440")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("spam-review-390")
    page.set_viewport_size({"width": 1440, "height": 900})

    row = page.locator("table#spam tbody tr", has_text="Grace.Hopper@navy.example")
    row.locator("button", has_text="Not spam").click()
    page.wait_for_load_state("networkidle")

    assert page.locator("table#spam tbody tr").count() == 1
    assert "Captured as a lead" in page.text_content("main")
    lead = Lead.objects.get()
    assert lead.email == "grace.hopper@navy.example"
    assert Submission.objects.get(lead=lead).status == "accepted"
    assert page.console_errors == []
