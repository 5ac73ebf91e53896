"""An anonymous capture post can never rewrite a person: withdrawn consent stays withdrawn,
one lead per address in any case, custom fields are only filled, the answer tells nothing
about the person, and backdated page views never become a known lead's first touch."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone

from crm.tests.factories import lead_with_journey
from leads import erasure, privacy
from leads.models import CaptureForm, Lead, Submission, Touchpoint
from nurture import services as nurture
from nurture.conditions import compile_definition
from nurture.models import Enrollment, Sequence, Step

pytestmark = pytest.mark.django_db

SITE = "https://www.example.com"
VISITOR = "v-0123456789abcdef"


@pytest.fixture
def form(db):
    return CaptureForm.objects.create(
        name="Demo request",
        allowed_origins=[SITE],
        consent_text="Send me product news.",
        consent_version="v3",
        custom_fields=[
            {"name": "team_size", "type": "number", "required": False},
            {"name": "plan", "type": "choice", "choices": ["starter", "pro"]},
        ],
    )


@pytest.fixture
def sequence(marketer):
    segment = nurture.segment_save(
        name="New leads",
        definition={"op": "and", "rules": [{"field": "stage", "op": "in", "value": ["new"]}]},
        by=marketer,
    )
    sequence = Sequence.objects.create(
        name="Welcome", slug="welcome", segment=segment, status=Sequence.Status.ACTIVE
    )
    Step.objects.create(sequence=sequence, position=1, subject="Hi", body="Hello")
    Step.objects.create(sequence=sequence, position=2, subject="Again", body="Hi", delay_days=1)
    return sequence


def capture(client, form, **data):
    return client.post(form.url, json.dumps(data), content_type="application/json")


def track(client, *events):
    body = json.dumps(list(events))
    response = client.post("/api/v1/track/", body, content_type="application/json")
    assert response.status_code == 202


def consenting_ids():
    definition = {"op": "and", "rules": [{"field": "consent", "op": "is", "value": True}]}
    return set(Lead.objects.filter(compile_definition(definition)).values_list("pk", flat=True))


# --- consent --------------------------------------------------------------------------------


def test_an_anonymous_post_does_not_resubscribe_a_person_who_unsubscribed(client, form, sequence):
    lead = lead_with_journey(email="ann@x.io", consent_given=True)
    nurture.nurture_dispatch()
    unsubscribe = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")
    assert client.post(urlsplit(unsubscribe).path).status_code == 200  # RFC 8058 one-click

    response = capture(client, form, email="ANN@x.io", consent="yes")

    assert response.status_code == 201
    lead.refresh_from_db()
    assert (lead.consent_given, lead.consent_withdrawn_at is not None) == (False, True)
    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.consent_ignored is True
    assert "withdrew consent" in submission.reason
    assert lead.pk not in consenting_ids()
    Enrollment.objects.all().delete()  # even a fresh enrolment finds nobody to write to
    assert nurture.nurture_dispatch(now=timezone.now() + timedelta(days=3)) == 0
    assert len(mail.outbox) == 1


def test_an_anonymous_post_does_not_restore_consent_an_admin_recorded_as_withdrawn(
    client, form, sequence
):
    lead = lead_with_journey(email="bo@x.io", consent_given=True)
    privacy.consent_withdraw(email="bo@x.io")

    capture(client, form, email="bo@x.io", consent="yes", landing_url=f"{SITE}/?x=1")

    lead.refresh_from_db()
    assert lead.consent_given is False
    assert lead.consent_page == ""
    assert lead.pk not in consenting_ids()
    assert nurture.nurture_dispatch() == 0
    assert mail.outbox == []


def test_a_sequence_never_writes_to_a_withdrawn_person_even_if_a_flag_says_consent(sequence):
    lead = lead_with_journey(email="cy@x.io", consent_given=True)
    nurture.nurture_dispatch()
    Lead.objects.filter(pk=lead.pk).update(consent_withdrawn_at=timezone.now())

    nurture.nurture_dispatch(now=timezone.now() + timedelta(days=2))

    assert len(mail.outbox) == 1
    assert Enrollment.objects.get(lead=lead).status == Enrollment.Status.STOPPED


def test_consent_given_in_a_post_is_still_recorded_for_a_person_who_never_withdrew(client, form):
    lead = lead_with_journey(email="dee@x.io", consent_given=False)
    capture(client, form, email="dee@x.io", consent="yes")
    lead.refresh_from_db()
    assert (lead.consent_given, lead.consent_version) == (True, "v3")
    assert not Submission.objects.get().consent_ignored


# --- one lead per person --------------------------------------------------------------------


def test_a_mixed_case_stored_address_gets_the_post_not_a_second_lead(client, form):
    lead = lead_with_journey(email="Tom.Garcia.846@stark.example")

    response = capture(client, form, email="tom.garcia.846@stark.example")

    assert response.status_code == 201
    assert Lead.objects.count() == 1
    assert Submission.objects.get().lead == lead
    assert lead.touchpoints.filter(kind=Touchpoint.Kind.FORM_SUBMIT).count() == 1


def test_erasing_by_address_in_any_case_finds_the_one_lead(client, form):
    lead = lead_with_journey(email="Tom.Garcia.846@stark.example")
    capture(client, form, email="TOM.garcia.846@stark.example")

    erasure.person_erase(email="tom.GARCIA.846@stark.example")

    assert not Lead.objects.filter(email__icontains="garcia").exists()
    lead.refresh_from_db()
    assert lead.erased_at is not None


def test_the_admin_stores_addresses_normalised_and_refuses_another_case_of_one(client, admin):
    existing = lead_with_journey(email="eve@x.io")
    client.force_login(admin)
    url = f"/admin/leads/lead/{existing.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    other = lead_with_journey(email="frank@x.io")
    fields = {"first_name": "F", "last_name": "", "phone": "", "company": "", "custom": "{}"}

    renamed = client.post(f"/admin/leads/lead/{other.pk}/change/", {**fields, "email": "EVE@x.io"})
    assert renamed.status_code == 200  # the form again, with the error
    assert "already exists" in renamed.text
    client.post(f"/admin/leads/lead/{other.pk}/change/", {**fields, "email": " Frank@X.io "})
    other.refresh_from_db()
    assert other.email == "frank@x.io"


# --- custom fields and the answer -----------------------------------------------------------


def test_an_anonymous_post_fills_missing_custom_fields_but_never_overwrites_one(client, form):
    lead = lead_with_journey(email="gil@x.io", custom={"plan": "starter", "team_size": ""})

    capture(client, form, email="gil@x.io", plan="pro", team_size="40")

    lead.refresh_from_db()
    assert lead.custom == {"plan": "starter", "team_size": "40"}


def test_the_answer_is_the_same_shape_whether_the_address_is_known_or_not(client, form):
    lead_with_journey(email="known@x.io")

    known = capture(client, form, email="known@x.io")
    new = capture(client, form, email="new@x.io")

    assert (known.status_code, new.status_code) == (201, 201)
    assert set(known.json()) == set(new.json()) == {"id"}
    assert [Submission.objects.get(pk=r.json()["id"]).lead.email for r in (known, new)] == [
        "known@x.io",
        "new@x.io",
    ]


def test_the_schema_documents_the_answer_as_the_submission_id_only(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    answer = schema["components"]["schemas"]["CaptureResult"]
    assert set(answer["properties"]) == {"id"}


# --- attribution poisoning ------------------------------------------------------------------


def _ms(at):
    return int(at.timestamp() * 1000)


def test_backdated_anonymous_views_never_become_a_known_leads_first_touch(client, form, admin):
    lead = lead_with_journey(
        email="hal@x.io",
        created_at=timezone.now() - timedelta(hours=2),
        touches=[{"channel_name": "Email", "occurred_at": timezone.now() - timedelta(hours=2)}],
    )
    first = lead.first_touch
    old = timezone.now() - timedelta(hours=20)
    track(client, {"visitor_id": VISITOR, "url": f"{SITE}/?utm_source=bing&utm_medium=cpc",
                   "ts": _ms(old)})  # fmt: skip

    response = capture(client, form, email="hal@x.io", visitor_id=VISITOR)

    assert response.status_code == 201
    lead.refresh_from_db()
    assert (lead.first_touch, lead.first_channel.name) == (first, "Email")
    poisoned = Touchpoint.objects.get(visitor_id=VISITOR, kind=Touchpoint.Kind.PAGE_VIEW)
    assert (poisoned.lead, poisoned.late_stitched) == (lead, True)  # kept, flagged
    from leads.touches import lead_refresh_touches

    lead_refresh_touches(lead=lead)  # a later recount (offline touch, email click) agrees
    assert lead.first_touch == first
    client.force_login(admin)
    rows = client.get("/api/v1/touchpoints/").json()["results"]
    assert {r["id"]: r["late_stitched"] for r in rows} == {
        first.pk: False,
        poisoned.pk: True,
        Submission.objects.get().touchpoints.get().pk: False,
    }


def test_backdated_views_sent_after_the_stitch_are_flagged_too(client, form):
    lead = lead_with_journey(
        email="ivy@x.io",
        created_at=timezone.now() - timedelta(hours=1),
        touches=[{"channel_name": "Email", "occurred_at": timezone.now() - timedelta(hours=1)}],
    )
    first = lead.first_touch
    capture(client, form, email="ivy@x.io", visitor_id=VISITOR)  # joins VISITOR to the lead

    track(client, {"visitor_id": VISITOR, "url": f"{SITE}/?utm_source=x&utm_medium=cpc",
                   "ts": _ms(timezone.now() - timedelta(hours=5))})  # fmt: skip
    from leads.touches import lead_refresh_touches

    lead_refresh_touches(lead=lead)
    assert lead.first_touch == first
    assert Touchpoint.objects.filter(lead=lead, late_stitched=True).count() == 1


def test_the_creating_browsers_views_that_arrive_after_its_form_still_count(client, form):
    before = timezone.now() - timedelta(seconds=20)
    capture(client, form, email="liz@x.io", visitor_id=VISITOR)

    track(client, {"visitor_id": VISITOR, "url": f"{SITE}/pricing", "ts": _ms(before)})

    view = Touchpoint.objects.get(kind=Touchpoint.Kind.PAGE_VIEW)
    assert (view.lead, view.late_stitched) == (Lead.objects.get(), False)


def test_a_new_leads_earlier_anonymous_views_still_stitch_as_its_first_touch(client, form):
    earlier = timezone.now() - timedelta(hours=3)
    url = f"{SITE}/?utm_source=linkedin&utm_medium=paid_social"
    track(client, {"visitor_id": VISITOR, "url": url, "ts": _ms(earlier)})

    capture(client, form, email="jo@x.io", visitor_id=VISITOR)

    lead = Lead.objects.get()
    assert lead.first_touch.kind == Touchpoint.Kind.PAGE_VIEW
    assert lead.first_channel.name == "Paid Social"
    assert not Touchpoint.objects.filter(late_stitched=True).exists()


def test_late_stitched_touches_get_no_attribution_credit(client, form):
    from attribution.selectors import journey_touches

    lead = lead_with_journey(
        email="kim@x.io",
        created_at=timezone.now() - timedelta(hours=1),
        touches=[{"channel_name": "Email", "occurred_at": timezone.now() - timedelta(hours=1)}],
    )
    track(client, {"visitor_id": VISITOR, "url": f"{SITE}/?utm_source=bing&utm_medium=cpc",
                   "ts": _ms(timezone.now() - timedelta(hours=10))})  # fmt: skip
    capture(client, form, email="kim@x.io", visitor_id=VISITOR)

    touches = journey_touches(lead_from=lead.pk, lead_to=lead.pk + 1, cutoff=timezone.now())
    assert "Paid Search" not in set(touches["channel"])
    assert len(touches) == 2  # the first touch and the form submission
