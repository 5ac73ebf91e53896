"""Every segment field and operator against known leads, and/or nesting, strict validation."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from nurture import conditions
from nurture.selectors import segment_leads

pytestmark = pytest.mark.django_db


def names(definition):
    return {lead.first_name for lead in segment_leads(definition=definition)}


def one(field, op, value=None, **extra):
    cond = {"field": field, "op": op, **extra}
    if value is not None:
        cond["value"] = value
    return {"op": "and", "rules": [cond]}


CASES = [
    ("stage", "in", ["new", "customer"], {"Ana", "Cy"}),
    ("stage", "not_in", ["new", "customer"], {"Ben", "Dee"}),
    ("first_channel", "in", ["Email"], {"Ana"}),
    ("first_channel", "not_in", ["Email", "Direct"], {"Ben", "Dee"}),
    ("latest_channel", "in", ["Paid Search"], {"Ana", "Ben"}),
    ("latest_channel", "not_in", ["Paid Search"], {"Cy", "Dee"}),
    ("quality", "in", ["good"], {"Ana"}),
    ("quality", "in", ["poor", "none"], {"Ben", "Cy", "Dee"}),
    ("quality", "not_in", ["none"], {"Ana", "Ben"}),
    ("days_since_activity", "gt", 30, {"Ben", "Cy", "Dee"}),
    ("days_since_activity", "lt", 30, {"Ana"}),
    ("days_since_created", "gt", 30, {"Ana", "Cy"}),
    ("days_since_created", "lt", 3, {"Dee"}),
    ("deal_status", "in", ["won"], {"Ana"}),
    ("deal_status", "in", ["open", "lost"], {"Ben", "Cy"}),
    ("deal_status", "in", ["none"], {"Dee"}),
    ("deal_status", "not_in", ["none"], {"Ana", "Ben", "Cy"}),
    ("consent", "is", True, {"Ana", "Cy"}),
    ("consent", "is", False, {"Ben", "Dee"}),
]


@pytest.mark.parametrize(("field", "op", "value", "expected"), CASES)
def test_each_field_and_operator_selects_the_known_leads(population, field, op, value, expected):
    assert names(one(field, op, value)) == expected


def test_lead_score_conditions_leave_unscored_leads_out(population):
    from insights.models import LeadScore

    now = timezone.now()
    for name, score in (("ana", 82), ("ben", 40), ("cy", 61)):  # Dee is not scored yet
        LeadScore.objects.create(
            lead=population[name], score=score, probability=score / 100, scored_at=now
        )
    assert names(one("lead_score", "gt", 60)) == {"Ana", "Cy"}
    assert names(one("lead_score", "lt", 61)) == {"Ben"}
    with pytest.raises(conditions.DefinitionError) as error:
        conditions.compile_definition(one("lead_score", "gt", 101))
    assert any("a whole number of points from 0 to 100" in e for e in error.value.errors)


def test_campaign_and_form_conditions_use_ids(population):
    spring, webinar, pricing = population["spring"], population["webinar"], population["pricing"]
    assert names(one("campaign", "in", [spring.pk])) == {"Ana"}
    assert names(one("campaign", "not_in", [spring.pk])) == {"Ben", "Cy", "Dee"}
    # Ben's webinar post was rejected: only accepted submissions count.
    assert names(one("form", "in", [webinar.pk])) == {"Ana"}
    assert names(one("form", "in", [str(webinar.pk), pricing.pk])) == {"Ana", "Dee"}
    assert names(one("form", "not_in", [webinar.pk])) == {"Ben", "Cy", "Dee"}


def test_custom_field_operators(population):
    assert names(one("custom", "eq", "pro", key="plan")) == {"Ana"}
    assert names(one("custom", "eq", 12, key="seats")) == {"Ana"}
    assert names(one("custom", "eq", True, key="vip")) == {"Ana"}
    assert names(one("custom", "ne", "pro", key="plan")) == {"Ben", "Cy", "Dee"}
    assert names(one("custom", "contains", "BAS", key="plan")) == {"Ben"}
    assert names(one("custom", "is_set", key="plan")) == {"Ana", "Ben"}
    assert names(one("custom", "not_set", key="plan")) == {"Cy", "Dee"}


def test_groups_nest_with_and_and_or(population):
    definition = {
        "op": "or",
        "rules": [
            {"op": "and", "rules": [
                {"field": "consent", "op": "is", "value": True},
                {"field": "stage", "op": "in", "value": ["customer"]},
            ]},
            {"op": "and", "rules": [
                {"field": "latest_channel", "op": "in", "value": ["Paid Search"]},
                {"op": "or", "rules": [
                    {"field": "quality", "op": "in", "value": ["poor"]},
                    {"field": "deal_status", "op": "in", "value": ["lost"]},
                ]},
            ]},
        ],
    }  # fmt: skip
    assert names(definition) == {"Cy", "Ben"}
    definition["op"] = "and"
    assert names(definition) == set()


def test_an_empty_group_is_everyone(population):
    assert names({"op": "and", "rules": []}) == {"Ana", "Ben", "Cy", "Dee"}


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (one("score", "gt", 10), "definition.rules[0].field: unknown field 'score'"),
        (one("stage", "like", ["new"]), "definition.rules[0].op: unknown operator 'like'"),
        (one("stage", "in", ["vip"]), "unknown stage value(s): vip"),
        (one("days_since_activity", "gt", "30"), "a whole number of days"),
        (one("consent", "is", "yes"), "true or false"),
        (one("custom", "eq", "x"), "definition.rules[0].key"),
        (one("custom", "eq", "x", key="a'b"), "definition.rules[0].key"),
        ({"op": "xor", "rules": []}, "definition.op: a group's op is 'and' or 'or'"),
        ({"op": "and", "rules": [{"op": "or"}]}, "definition.rules[0].rules"),
        ({"op": "and", "rules": [{"field": "stage", "op": "in"}]}, "value: required"),
        ({"op": "and", "rules": [], "sql": "1=1"}, "unknown key(s) sql"),
        ([], "definition: a group"),
    ],
)
def test_invalid_definitions_name_the_problem(definition, message):
    with pytest.raises(conditions.DefinitionError) as error:
        conditions.compile_definition(definition)
    assert any(message in e for e in error.value.errors), error.value.errors


def test_groups_nest_only_so_deep():
    node = {"op": "and", "rules": []}
    for _ in range(conditions.MAX_DEPTH + 1):
        node = {"op": "and", "rules": [node]}
    assert any("nest at most" in e for e in conditions.validate(node))


def test_the_count_endpoint_counts_while_editing_and_explains_errors(client, marketer, population):
    client.force_login(marketer)
    good = client.post(
        "/nurture/segments/count/", {"definition": json.dumps(one("consent", "is", True))}
    )
    assert good.status_code == 200
    assert good.json()["count"] == 2
    assert sorted(s["name"].split()[0] for s in good.json()["sample"]) == ["Ana", "Cy"]
    bad = client.post("/nurture/segments/count/", {"definition": json.dumps(one("x", "in", [1]))})
    assert bad.status_code == 400
    assert "unknown field 'x'" in bad.json()["errors"][0]
    broken = client.post("/nurture/segments/count/", {"definition": "{not json"})
    assert broken.status_code == 400
    assert "Not valid JSON" in broken.json()["errors"][0]


def test_reps_may_not_use_the_count_endpoint(client, rep):
    client.force_login(rep)
    response = client.post("/nurture/segments/count/", {"definition": "{}"})
    assert response.status_code == 403
