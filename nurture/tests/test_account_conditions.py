"""Segments over accounts: tier, target flag and engagement (touches of the account's people in
the last 30/90 days) select the account's contacts; the builder offers them with labels."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.models import Account, AccountContact
from leads.tests.factories import LeadFactory, TouchpointFactory
from nurture.conditions import describe
from nurture.selectors import segment_leads

pytestmark = pytest.mark.django_db


def names(field, op, value):
    definition = {"op": "and", "rules": [{"field": field, "op": op, "value": value}]}
    return {lead.first_name for lead in segment_leads(definition=definition)}


@pytest.fixture
def accounts():
    """Acme (tier 1, target): Ann and Al, 3 touches in 30 days, 4 in 90. Bolt (no tier): Bea,
    1 touch 60 days ago. Zed works for no account (and touched yesterday)."""
    now = timezone.now()
    acme = Account.objects.create(name="Acme", name_key="acme", tier="1", is_target=True)
    bolt = Account.objects.create(name="Bolt", name_key="bolt")
    people = {}
    for first, account in (("Ann", acme), ("Al", acme), ("Bea", bolt), ("Zed", None)):
        people[first] = LeadFactory(first_name=first, email=f"{first.lower()}@x.io")
        if account:
            AccountContact.objects.create(lead=people[first], account=account, matched_by="manual")
    for first, days in (("Ann", 2), ("Ann", 10), ("Al", 29), ("Al", 80), ("Bea", 60), ("Zed", 1)):
        TouchpointFactory(lead=people[first], occurred_at=now - timedelta(days=days))
    return people


CASES = [
    ("account_tier", "in", ["1"], {"Ann", "Al"}),
    ("account_tier", "in", ["none"], {"Bea"}),
    ("account_tier", "not_in", ["1"], {"Bea", "Zed"}),
    ("account_target", "is", True, {"Ann", "Al"}),
    ("account_target", "is", False, {"Bea", "Zed"}),
    ("account_touches_30", "gt", 2, {"Ann", "Al"}),
    ("account_touches_30", "gt", 3, set()),
    ("account_touches_30", "lt", 1, {"Bea"}),
    ("account_touches_90", "gt", 0, {"Ann", "Al", "Bea"}),
    ("account_touches_90", "lt", 4, {"Bea"}),
    ("account_touches_90", "lt", 5, {"Ann", "Al", "Bea"}),
]


@pytest.mark.parametrize(("field", "op", "value", "expected"), CASES)
def test_account_conditions_select_the_accounts_contacts(accounts, field, op, value, expected):
    assert names(field, op, value) == expected


def test_the_builder_offers_the_account_conditions_with_labels():
    fields = {f["field"]: f for f in describe()}
    assert fields["account_tier"]["label"] == "Account tier"
    assert [c["label"] for c in fields["account_tier"]["choices"]] == [
        "Tier 1", "Tier 2", "Tier 3", "No tier",
    ]  # fmt: skip
    assert fields["account_target"]["ops"][0]["value"] == "bool"
    assert fields["account_touches_30"]["label"] == "Touches of the account's people, last 30 days"
    assert [o["label"] for o in fields["account_touches_90"]["ops"]] == ["more than", "fewer than"]
