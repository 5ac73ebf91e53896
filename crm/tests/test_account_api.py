"""The accounts and deal-contacts API: filters, field errors (never a 500), by-hand placement."""

from __future__ import annotations

import json

import pytest

from crm.models import AccountContact, DealContact
from crm.services import account_create, deal_create
from leads.models import CaptureForm
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_accounts_are_filtered_by_search_tier_target_and_owner(client, manager, rep):
    account_create(name="Acme", domains=["acme.com"], by=None, tier="1", is_target=True, owner=rep)
    account_create(name="Globex", domains=["globex.io"], by=None, tier="2")
    client.force_login(manager)
    names = lambda q: [a["name"] for a in client.get("/api/v1/accounts/", q).json()["results"]]  # noqa: E731
    assert names({}) == ["Acme", "Globex"]
    assert names({"q": "globex.i"}) == ["Globex"]
    assert names({"tier": "1"}) == ["Acme"]
    assert names({"is_target": "false"}) == ["Globex"]
    assert names({"owner": rep.pk}) == ["Acme"]
    assert client.get("/api/v1/accounts/", {"tier": "9"}).status_code == 400
    assert client.get("/api/v1/accounts/", {"owner": "9" * 30}).status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Acme", "domains": ["gmail.com"]}, "domains"),
        ({"name": "Acme", "domains": ["not a domain"]}, "domains"),
        ({"name": "  "}, "name"),
        ({"name": "Acme", "tier": "7"}, "tier"),
        ({"name": "Acme", "domains": "acme.com"}, "domains"),
        ({"name": "Acme", "owner": 10**20}, "owner"),
    ],
)
def test_bad_account_input_is_a_400_with_the_field(client, manager, body, field):
    client.force_login(manager)
    response = post(client, "/api/v1/accounts/", body)
    assert response.status_code == 400, response.content
    assert field in json.dumps(response.json())


def test_a_domain_of_another_account_is_refused(client, manager):
    account_create(name="Acme", domains=["acme.com"], by=None)
    client.force_login(manager)
    response = post(client, "/api/v1/accounts/", {"name": "Other", "domains": ["eu.acme.com"]})
    assert response.status_code == 400 and "domains" in response.json()["errors"]


def test_a_lead_placed_by_hand_through_the_api_stays_after_a_capture(client, rep):
    lead = LeadFactory(email="dee@gmail.com", owner=rep)
    account = account_create(name="Chosen", by=None, owner=rep)
    client.force_login(rep)
    response = post(client, f"/api/v1/accounts/{account.pk}/contacts/", {"lead": lead.pk})
    assert response.status_code == 200 and response.json()["matched_by"] == "manual"
    form = CaptureForm.objects.create(name="Demo", allowed_origins=[])
    client.logout()
    captured = client.post(
        form.url, json.dumps({"email": "dee@gmail.com", "company": "Elsewhere"}),
        content_type="application/json",
    )  # fmt: skip
    assert captured.status_code == 201
    assert AccountContact.objects.get(lead=lead).account == account


def test_deal_contacts_take_roles_and_refuse_bad_ones(client, rep, other_rep):
    lead, colleague = LeadFactory(owner=rep), LeadFactory(owner=rep)
    deal = deal_create(lead=lead, name="Big", by=rep)
    foreign = deal_create(lead=LeadFactory(owner=other_rep), name="Theirs", by=other_rep)
    client.force_login(rep)
    url = "/api/v1/deal-contacts/"
    assert (
        post(client, url, {"deal": deal.pk, "lead": colleague.pk, "role": "boss"}).status_code
        == 400
    )
    assert post(client, url, {"deal": foreign.pk, "lead": colleague.pk}).status_code == 400
    created = post(client, url, {"deal": deal.pk, "lead": colleague.pk, "role": "champion"})
    assert created.status_code == 201
    again = post(client, url, {"deal": deal.pk, "lead": colleague.pk, "role": "champion"})
    assert again.status_code == 201 and again.json()["id"] == created.json()["id"]
    rows = client.get(url, {"deal": deal.pk}).json()["results"]
    assert [(r["lead"], r["role"], r["is_primary"]) for r in rows] == [
        (lead.pk, "other", True), (colleague.pk, "champion", False)
    ]  # fmt: skip
    assert DealContact.objects.filter(deal=foreign).count() == 1
