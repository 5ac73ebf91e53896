"""The rule conditions' catalogue for the visual builder on the bench, and its JSON check."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from campaigns import channeling
from campaigns.rules import condition_catalogue
from campaigns.source_categories import CATEGORIES

pytestmark = pytest.mark.django_db


def test_every_field_and_operator_the_compiler_knows_is_in_the_catalogue():
    catalogue = condition_catalogue()
    assert {f["field"] for f in catalogue} == set(channeling.CONDITION_FIELDS)
    for entry in catalogue:
        ops = {o["op"]: o for o in entry["ops"]}
        expected = set(channeling.CONDITION_OPS)
        if entry["field"] not in {"source", "referrer_host", "landing_host"}:
            expected -= {"category"}
        assert set(ops) == expected, entry["field"]
        assert ops["in"]["value"] == "texts"
        assert all(o["label"] and "_" not in o["label"] for o in entry["ops"])
        assert entry["label"] and entry["label"] != entry["field"]
        if "category" in ops:
            values = [c["value"] for c in ops["category"]["choices"]]
            assert values == sorted(CATEGORIES)
            assert all(c["label"] != c["value"] for c in ops["category"]["choices"])


def test_the_bench_embeds_the_catalogue_and_checks_conditions(client, admin):
    client.force_login(admin)
    page = client.get(reverse("campaigns:rule-bench")).content.decode()
    found = re.search(r'<script id="rule-catalogue" type="application/json">(.*?)</script>', page)
    assert found
    catalogue = json.loads(found.group(1))
    assert catalogue["shape"] == "list"
    assert catalogue["check_url"] == reverse("campaigns:rule-conditions-check")
    good = [{"field": "source", "op": "category", "value": "SEARCH"}]
    response = client.post(catalogue["check_url"], {"candidate_conditions": json.dumps(good)})
    assert (response.status_code, response.json()) == (200, {"errors": []})
    bad = [{"field": "medium", "op": "category", "value": "SEARCH"}]
    response = client.post(catalogue["check_url"], {"candidate_conditions": json.dumps(bad)})
    assert response.status_code == 400
    assert "op 'category' only applies to" in response.json()["errors"][0]
    response = client.post(catalogue["check_url"], {"candidate_conditions": "[{"})
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith("candidate rule:")


def test_the_condition_check_is_for_admins_only(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("campaigns:rule-conditions-check"), {"candidate_conditions": "[]"}
    )
    assert response.status_code == 403
