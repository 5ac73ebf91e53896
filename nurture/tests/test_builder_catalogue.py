"""The visual builder's catalogue of segment conditions, as the page embeds it, and the live
count's sample of matching leads."""

from __future__ import annotations

import json
import re

import pytest
from django.utils import translation

from campaigns.models import Campaign, Channel
from leads.models import CaptureForm, Lead
from nurture.conditions import FIELDS, OPERATOR_LABELS, validate

pytestmark = pytest.mark.django_db


def _catalogue(client) -> dict:
    page = client.get("/nurture/segments/new/").content.decode()
    found = re.search(
        r'<script id="segment-catalogue" type="application/json">(.*?)</script>', page
    )
    assert found, "the segment form embeds the catalogue with json_script"
    return json.loads(found.group(1))


def test_the_catalogue_lists_every_field_with_labelled_operators(client, marketer, population):
    client.force_login(marketer)
    catalogue = _catalogue(client)
    assert catalogue["shape"] == "group"
    assert catalogue["check_url"] == "/nurture/segments/count/"
    by_name = {f["field"]: f for f in catalogue["fields"]}
    assert list(by_name) == list(FIELDS)
    for name, spec in FIELDS.items():
        entry = by_name[name]
        assert entry["label"] == str(spec.label)
        assert [o["op"] for o in entry["ops"]] == list(spec.ops)
        assert all(o["label"] == str(OPERATOR_LABELS[o["op"]]) for o in entry["ops"])
    assert {o["value"] for o in by_name["stage"]["ops"]} == {"choices"}
    assert by_name["lead_score"]["ops"][0]["value"] == "number"
    assert by_name["lead_score"]["max"] == 100
    assert by_name["consent"]["ops"][0]["value"] == "bool"
    custom_ops = {o["op"]: o["value"] for o in by_name["custom"]["ops"]}
    assert custom_ops == {"eq": "text", "ne": "text", "contains": "text", "is_set": "none",
                          "not_set": "none"}  # fmt: skip
    assert catalogue["texts"]["json"] == "Advanced (JSON)"


def test_choices_are_names_with_their_values_never_ids_as_labels(
    client, marketer, population, rep, other_rep
):
    client.force_login(marketer)
    by_name = {f["field"]: f for f in _catalogue(client)["fields"]}
    labels = {name: {c["value"]: c["label"] for c in f["choices"]} for name, f in by_name.items()}
    assert labels["campaign"] == {str(c.pk): c.name for c in Campaign.objects.all()}
    assert labels["form"] == {str(f.pk): f.name for f in CaptureForm.objects.all()}
    assert labels["stage"] == {v: str(label) for v, label in Lead.Stage.choices}
    assert set(labels["first_channel"]) == set(Channel.objects.values_list("name", flat=True))
    owners = labels["owner"]
    assert owners[str(rep.pk)] == (rep.get_full_name() or rep.username)
    assert owners[str(other_rep.pk)] == (other_rep.get_full_name() or other_rep.username)
    assert "none" in owners
    assert set(labels["quality"]) == {"good", "poor", "none"}
    assert set(labels["deal_status"]) == {"none", "open", "won", "lost"}
    for name, choices in labels.items():
        for value, label in choices.items():
            assert label and not label.isdigit(), f"{name} shows an id as its label: {value}"
    # Every value the builder offers is one the validator accepts.
    for name, f in by_name.items():
        for op in f["ops"]:
            if op["value"] == "choices" and f["choices"]:
                cond = {"field": name, "op": op["op"], "value": [c["value"] for c in f["choices"]]}
                assert validate({"op": "and", "rules": [cond]}) == []


def test_the_catalogue_speaks_the_viewers_language(client, marketer):
    client.force_login(marketer)
    with translation.override("id"):
        client.cookies["django_language"] = "id"
        catalogue = _catalogue(client)
    assert catalogue["texts"]["add_condition"] != "Add condition"
    assert {f["field"]: f["label"] for f in catalogue["fields"]}["stage"] != "Lifecycle stage"


def test_owner_conditions_select_by_person_and_unassigned(population, rep, other_rep):
    from nurture.selectors import segment_leads

    def names(op, value):
        definition = {"op": "and", "rules": [{"field": "owner", "op": op, "value": value}]}
        return sorted(lead.first_name for lead in segment_leads(definition=definition))

    assert names("in", [str(rep.pk)]) == ["Ana", "Ben"]
    assert names("in", [str(other_rep.pk), "none"]) == ["Cy", "Dee"]
    assert names("not_in", [str(rep.pk)]) == ["Cy", "Dee"]
    assert names("not_in", ["none"]) == ["Ana", "Ben", "Cy"]
    assert validate({"op": "and", "rules": [{"field": "owner", "op": "in", "value": ["999999"]}]})


def test_the_live_count_lists_a_sample_of_leads_the_viewer_may_see(
    client, marketer, manager, population
):
    everyone = json.dumps({"op": "and", "rules": []})
    client.force_login(marketer)
    response = client.post("/nurture/segments/count/", {"definition": everyone})
    data = response.json()
    assert data["count"] == 4
    assert {s["name"].split()[0] for s in data["sample"]} == {"Ana", "Ben", "Cy", "Dee"}
    dee = next(s for s in data["sample"] if s["name"].startswith("Dee"))
    assert (dee["stage"], dee["owner"]) == ("Disqualified", "")
    assert dee["url"].startswith("/crm/leads/")
    bad = client.post(
        "/nurture/segments/count/",
        {"definition": json.dumps({"op": "and", "rules": [{"field": "owner", "op": "zz"}]})},
    )
    assert bad.status_code == 400
    assert "unknown operator 'zz'" in bad.json()["errors"][0]


def test_the_sample_holds_at_most_ten_leads(client, marketer):
    from crm.tests.factories import lead_with_journey

    for i in range(12):
        lead_with_journey(email=f"s{i}@x.io")
    client.force_login(marketer)
    data = client.post(
        "/nurture/segments/count/", {"definition": json.dumps({"op": "or", "rules": []})}
    ).json()
    assert data["count"] == 12
    assert len(data["sample"]) == 10
