"""Segments through their pages and API: editing, members by role, CSV, refresh + events."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from crm.services import lead_change_stage
from crm.tests.factories import lead_with_journey
from nurture import events, services
from nurture.models import Segment, SegmentChange, SegmentMembership
from nurture.tasks import segments_refresh

pytestmark = pytest.mark.django_db

NEW = {"op": "and", "rules": [{"field": "stage", "op": "in", "value": ["new"]}]}


@pytest.fixture
def emitted(monkeypatch):
    calls = []
    monkeypatch.setattr(events, "_emit", lambda *, name, payload: calls.append((name, payload)))
    return calls


def test_a_marketer_builds_a_segment_in_the_editor(client, marketer, population):
    client.force_login(marketer)
    assert client.get("/nurture/segments/new/").status_code == 200
    definition = {"op": "and", "rules": [{"field": "consent", "op": "is", "value": True}]}
    response = client.post(
        "/nurture/segments/new/",
        {"name": "Consenting", "description": "", "definition": json.dumps(definition)},
    )
    segment = Segment.objects.get(name="Consenting")
    assert response.status_code == 302
    assert response["Location"] == f"/nurture/segments/{segment.pk}/"
    assert segment.member_count == 2
    bad = client.post(
        "/nurture/segments/new/",
        {"name": "Bad", "definition": json.dumps({"op": "and", "rules": [{"field": "zzz"}]})},
    )
    assert bad.status_code == 400
    assert "unknown field &#x27;zzz&#x27;" in bad.text
    assert not Segment.objects.filter(name="Bad").exists()


def test_a_rep_sees_only_own_leads_of_a_segment_page_and_csv(client, rep, marketer, population):
    segment = services.segment_save(name="Everyone", definition={"op": "and", "rules": []})
    client.force_login(rep)
    page = client.get(f"/nurture/segments/{segment.pk}/")
    assert page.status_code == 200
    assert "Ana" in page.text and "Ben" in page.text
    assert "Cy" not in page.text and "Dee" not in page.text
    csv = client.get(f"/nurture/segments/{segment.pk}/export.csv").content.decode()
    assert len(csv.strip().splitlines()) == 3  # header + Ana + Ben
    client.force_login(marketer)
    csv = client.get(f"/nurture/segments/{segment.pk}/export.csv").content.decode()
    assert len(csv.strip().splitlines()) == 5


def test_the_csv_export_neutralises_formulas(client, marketer):
    lead_with_journey(first_name='=HYPERLINK("http://x")', company="+1 evil")
    segment = services.segment_save(name="All", definition={"op": "and", "rules": []})
    client.force_login(marketer)
    csv = client.get(f"/nurture/segments/{segment.pk}/export.csv").content.decode()
    assert "'=HYPERLINK" in csv
    assert "'+1 evil" in csv


def test_the_members_page_is_paginated_with_bounded_queries(
    client, marketer, django_assert_max_num_queries
):
    for i in range(60):
        lead_with_journey(email=f"m{i}@x.io")
    segment = services.segment_save(name="All", definition={"op": "and", "rules": []})
    client.force_login(marketer)
    with django_assert_max_num_queries(14):
        first = client.get(f"/nurture/segments/{segment.pk}/")
    assert first.text.count('href="/crm/leads/') == 50
    assert "1\u201350 of 60" in first.text
    second = client.get(f"/nurture/segments/{segment.pk}/?page=2")
    assert "51\u201360 of 60" in second.text


def test_refresh_records_who_joined_and_left_and_emits_one_event(emitted, manager, celery_eager):
    ann = lead_with_journey(first_name="Ann")
    bob = lead_with_journey(first_name="Bob")
    segment = services.segment_save(name="New", definition=NEW)
    assert set(SegmentMembership.objects.values_list("lead_id", flat=True)) == {ann.pk, bob.pk}

    lead_change_stage(lead=bob, stage="contacted", by=manager)
    cid = lead_with_journey(first_name="Cid")
    emitted.clear()
    with_callbacks = segments_refresh.delay().get()

    assert with_callbacks == 2
    assert set(SegmentMembership.objects.values_list("lead_id", flat=True)) == {ann.pk, cid.pk}
    changes = {(c.lead_id, c.kind) for c in SegmentChange.objects.filter(segment=segment)}
    assert (bob.pk, "left") in changes and (cid.pk, "joined") in changes
    segment.refresh_from_db()
    assert segment.member_count == 2


def test_membership_changes_go_out_through_the_event_function(
    emitted, django_capture_on_commit_callbacks
):
    ann = lead_with_journey(first_name="Ann")
    with django_capture_on_commit_callbacks(execute=True):
        segment = services.segment_save(name="New", definition=NEW)
    assert emitted == [
        (
            "segment.membership_changed",
            {
                "segment_id": segment.pk,
                "segment": "New",
                "joined": [ann.pk],
                "left": [],
                "at": emitted[0][1]["at"],
            },
        )
    ]
    with django_capture_on_commit_callbacks(execute=True):
        services.segment_refresh(segment=segment)
    assert len(emitted) == 1  # nothing changed, nothing emitted


def test_api_creates_segments_strictly_and_lists_members_by_role(rep, marketer, population):
    api = APIClient()
    api.force_authenticate(marketer)
    bad = api.post(
        "/api/v1/segments/",
        {"name": "x", "definition": {"op": "and", "rules": [{"field": "stage", "op": "~"}]}},
        format="json",
    )
    assert bad.status_code == 400
    assert "unknown operator '~'" in bad.json()["errors"]["definition"][0]
    created = api.post(
        "/api/v1/segments/",
        {"name": "Paid", "definition": {"op": "and", "rules": [
            {"field": "latest_channel", "op": "in", "value": ["Paid Search"]}]}},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201
    sid = created.json()["id"]
    assert created.json()["member_count"] == 2
    count = api.post("/api/v1/segments/count/", {"definition": NEW}, format="json")
    assert count.json() == {"count": 1}

    api.force_authenticate(rep)
    members = api.get(f"/api/v1/segments/{sid}/members/").json()
    assert members["count"] == 2
    assert {m["first_name"] for m in members["results"]} == {"Ana", "Ben"}
    assert (
        api.post("/api/v1/segments/", {"name": "r", "definition": NEW}, format="json").status_code
        == 403
    )
    assert api.patch(f"/api/v1/segments/{sid}/", {"name": "r"}, format="json").status_code == 403
    api.force_authenticate(marketer)
    renamed = api.patch(f"/api/v1/segments/{sid}/", {"name": "Paid leads"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Paid leads"
    assert api.delete(f"/api/v1/segments/{sid}/").status_code == 204


def test_members_answer_internationalised_addresses_as_the_schema_says(marketer):
    from drf_spectacular.generators import SchemaGenerator

    from leads.tests.factories import LeadFactory

    LeadFactory(email="chloé.costa@piper.example")
    segment = services.segment_save(name="All", definition={"op": "and", "rules": []})
    services.segment_refresh(segment=segment)
    api = APIClient()
    api.force_authenticate(marketer)
    members = api.get(f"/api/v1/segments/{segment.pk}/members/").json()["results"]
    assert [m["email"] for m in members] == ["chloé.costa@piper.example"]
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert "format" not in schema["components"]["schemas"]["MemberOutput"]["properties"]["email"]
