"""The account list and page through HTTP: who sees what, filters, the combined journey."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clm import roles
from crm.models import Account
from crm.services import account_create, account_match_lead, deal_contact_add, deal_create
from crm.tests.factories import ActivityFactory
from leads.tests.factories import LeadFactory, TouchpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(rep, other_rep, manager):
    account = account_create(name="Acme", domains=["acme.com"], by=None, tier="1", is_target=True)
    now = timezone.now()
    ann = LeadFactory(email="ann@acme.com", first_name="Ann", last_name="A", owner=rep)
    bob = LeadFactory(email="bob@eu.acme.com", first_name="Bob", last_name="B", owner=other_rep)
    cy = LeadFactory(email="cy@acme.com", first_name="Cy", last_name="C", owner=other_rep)
    for lead in (ann, bob, cy):
        account_match_lead(lead=lead)
    TouchpointFactory(lead=ann, channel_name="Paid Search", occurred_at=now - timedelta(days=100))
    TouchpointFactory(lead=bob, channel_name="Email", occurred_at=now - timedelta(days=40))
    TouchpointFactory(lead=bob, channel_name="Organic Social", occurred_at=now - timedelta(days=3))
    ActivityFactory(lead=cy, by=other_rep, occurred_at=now - timedelta(days=1))
    deal = deal_create(lead=ann, name="Acme platform", by=manager)
    deal_contact_add(deal=deal, lead=bob, role="decision_maker", by=manager)
    return account


def test_the_account_page_shows_the_combined_journey_engagement_and_buying_group(
    client, manager, acme
):
    client.force_login(manager)
    response = client.get(reverse("crm:account", args=[acme.pk]))
    assert response.status_code == 200
    page = response.context["p"]
    assert [(e.lead.first_name, bool(e.touch)) for e in page.journey] == [
        ("Ann", True), ("Bob", True), ("Bob", True), ("Cy", False)
    ]  # fmt: skip
    assert (page.touches_30, page.touches_90, page.engaged_contacts) == (1, 2, 2)
    html = response.content.decode()
    assert "Acme platform" in html and "Decision maker" in html and "Primary" in html


def test_reps_see_accounts_they_own_or_hold_a_lead_in(client, rep, make_user, acme):
    stranger = make_user(roles.SALES_REP, username="rep_c")
    client.force_login(rep)
    assert client.get(reverse("crm:account", args=[acme.pk])).status_code == 200
    client.force_login(stranger)
    assert client.get(reverse("crm:account", args=[acme.pk])).status_code == 404
    assert acme.name not in client.get(reverse("crm:accounts")).content.decode()
    Account.objects.filter(pk=acme.pk).update(owner=stranger)
    assert client.get(reverse("crm:account", args=[acme.pk])).status_code == 200


def test_the_list_filters_by_search_tier_and_target(client, marketer, acme):
    account_create(name="Globex", domains=["globex.com"], by=None, tier="3")
    client.force_login(marketer)
    names = lambda **q: [a.name for a in client.get(reverse("crm:accounts"), q).context["accounts"]]  # noqa: E731
    assert names() == ["Acme", "Globex"]
    assert names(q="globex.c") == ["Globex"]
    assert names(tier="1") == ["Acme"]
    assert names(target="no") == ["Globex"]
    assert names(tier="bogus", owner="x' or 1=1") == ["Acme", "Globex"]


def test_the_list_costs_a_fixed_number_of_queries(
    client, manager, acme, django_assert_max_num_queries
):
    for i in range(5):
        account_create(name=f"Co {i}", domains=[f"co{i}.com"], by=None)
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("crm:accounts")).status_code == 200
