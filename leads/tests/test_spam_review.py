"""Suspected spam is kept for review; an admin's "not spam" captures it as a normal post would."""

from __future__ import annotations

import json

import pytest

from leads.models import CaptureForm, Lead, Submission, Touchpoint

pytestmark = pytest.mark.django_db

AUTOFILLED = {
    "email": "Real.Person@acme.example",
    "name": "Real Person",
    "company": "Acme",
    "utm_source": "google",
    "utm_medium": "cpc",
    "clm_elapsed_ms": 900,  # the browser filled the form in under a second
}


@pytest.fixture
def form(db):
    return CaptureForm.objects.create(name="Demo request", min_fill_seconds=2)


def post(client, form, data):
    return client.post(form.url, json.dumps(data), content_type="application/json")


def test_a_fast_autofilled_post_is_held_as_suspected_spam_and_listed_for_admins(
    client, form, admin
):
    response = post(client, form, AUTOFILLED)

    assert response.status_code == 201  # the person sees the usual thank-you
    assert Lead.objects.count() == 0
    held = Submission.objects.get()
    assert held.status == Submission.Status.SPAM
    client.force_login(admin)
    page = client.get("/setup/spam/")
    assert page.status_code == 200
    assert "Real.Person@acme.example" in page.text
    assert "filled in 900 ms (minimum 2 s)" in page.text
    assert f"/setup/spam/{held.pk}/not-spam/" in page.text
    assert "/setup/spam/" in client.get("/setup/").text


@pytest.mark.django_db(transaction=True)  # the lock must hold outside a test transaction too
def test_not_spam_creates_the_lead_with_its_touchpoint_once(client, seeded_rows, form, admin):
    post(client, form, AUTOFILLED)
    held = Submission.objects.get()
    client.force_login(admin)

    response = client.post(f"/setup/spam/{held.pk}/not-spam/")

    assert response.status_code == 302
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.company) == (
        "real.person@acme.example",
        "Real",
        "Acme",
    )
    assert lead.created_at == held.received_at
    touch = Touchpoint.objects.get()
    assert (touch.lead, touch.kind, touch.channel.name) == (lead, "form_submit", "Paid Search")
    assert (lead.creation_touch, lead.first_touch) == (touch, touch)
    held.refresh_from_db()
    assert (held.status, held.lead, held.lead_created) == ("accepted", lead, True)
    assert (held.released_by, held.released_at is not None) == (admin, True)
    assert Submission.objects.count() == 1
    assert "/setup/spam/" + str(held.pk) not in client.get("/setup/spam/").text

    again = client.post(f"/setup/spam/{held.pk}/not-spam/")

    assert again.status_code == 302
    assert (Lead.objects.count(), Touchpoint.objects.count(), Submission.objects.count()) == (
        1,
        1,
        1,
    )


def test_not_spam_for_a_known_address_adds_a_touch_to_that_lead(client, form, admin):
    post(client, form, {"email": "real.person@acme.example", "clm_elapsed_ms": 9000})
    post(client, form, AUTOFILLED)
    held = Submission.objects.get(status=Submission.Status.SPAM)
    client.force_login(admin)

    client.post(f"/setup/spam/{held.pk}/not-spam/")

    assert Lead.objects.count() == 1
    assert Lead.objects.get().touchpoints.count() == 2


@pytest.mark.parametrize("role", ["marketer", "manager", "rep"])
def test_only_admins_review_suspected_spam(client, form, role, request):
    post(client, form, AUTOFILLED)
    held = Submission.objects.get()
    client.force_login(request.getfixturevalue(role))

    assert client.get("/setup/spam/").status_code == 403
    assert client.post(f"/setup/spam/{held.pk}/not-spam/").status_code == 403
    assert Lead.objects.count() == 0


def test_not_spam_is_a_post_only_action(client, form, admin):
    post(client, form, AUTOFILLED)
    held = Submission.objects.get()
    client.force_login(admin)
    assert client.get(f"/setup/spam/{held.pk}/not-spam/").status_code == 405
    assert Lead.objects.count() == 0


def test_a_held_post_the_form_no_longer_accepts_stays_held_with_the_reason_shown(
    client, form, admin
):
    post(client, form, {"email": "x@acme.example", "clm_elapsed_ms": 100})
    held = Submission.objects.get()
    form.required_fields = ["company"]
    form.save()
    client.force_login(admin)

    response = client.post(f"/setup/spam/{held.pk}/not-spam/", follow=True)

    assert response.status_code == 200
    assert "This post cannot be captured: company:" in response.text
    assert Lead.objects.count() == 0
    held.refresh_from_db()
    assert held.status == Submission.Status.SPAM
