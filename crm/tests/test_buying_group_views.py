"""The lead page's account and buying-group controls through HTTP: who may change what, bad
input answered 400 with the reason, placement by hand kept from matching, and a buying-group
change queued for attribution."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import AccountContact, AccountUnplaced, Deal, DealContact
from crm.services import account_create, account_match_lead, deal_contact_add, deal_create
from leads.tests.factories import LeadFactory
from outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(rep, other_rep, manager):
    account = account_create(name="Acme", domains=["acme.com"], by=None)
    ann = LeadFactory(email="ann@acme.com", first_name="Ann", last_name="A", owner=rep)
    bob = LeadFactory(email="bob@acme.com", first_name="Bob", last_name="B", owner=rep)
    cy = LeadFactory(email="cy@acme.com", first_name="Cy", last_name="C", owner=other_rep)
    for lead in (ann, bob, cy):
        account_match_lead(lead=lead)
    deal = deal_create(lead=ann, name="Acme platform", by=manager)
    other = account_create(name="Globex", domains=["globex.com"], by=None, owner=rep)
    return {"account": account, "other": other, "ann": ann, "bob": bob, "cy": cy, "deal": deal}


def _refreshes():
    return OutboxMessage.objects.filter(task="attribution.tasks.attribution_refresh_lead").count()


def test_the_lead_page_offers_a_searchable_account_list_and_the_buying_group(client, rep, acme):
    client.force_login(rep)
    page = client.get(reverse("crm:lead", args=[acme["ann"].pk]), {"account_q": "glob"})
    html = page.content.decode()
    assert page.status_code == 200
    assert [a.name for a in page.context["account_choices"]] == ["Globex"]
    assert 'id="account-form"' in html and 'id="lead-account"' in html
    group = page.context["p"].deals[0].group
    assert [c.lead_id for c in group["contacts"]] == [acme["ann"].pk]
    # Bob is the rep's own colleague lead at Acme; Cy belongs to another rep: not offered.
    assert [p.pk for p in group["candidates"]] == [acme["bob"].pk]


def test_a_rep_places_their_lead_by_hand_and_matching_leaves_it_there(client, rep, acme):
    client.force_login(rep)
    before = _refreshes()
    answer = client.post(
        reverse("crm:lead-account", args=[acme["ann"].pk]), {"account": acme["other"].pk}
    )
    assert answer.status_code == 302
    link = AccountContact.objects.get(lead=acme["ann"])
    assert (link.account, link.matched_by) == (acme["other"], "manual")
    assert Deal.objects.get(pk=acme["deal"].pk).account == acme["other"]  # the deal follows
    assert _refreshes() > before
    account_match_lead(lead=acme["ann"])
    assert AccountContact.objects.get(lead=acme["ann"]).account == acme["other"]


def test_taking_a_lead_out_keeps_it_out_of_matching(client, manager, acme):
    client.force_login(manager)
    answer = client.post(reverse("crm:lead-account", args=[acme["bob"].pk]), {"clear": "1"})
    assert answer.status_code == 302
    assert not AccountContact.objects.filter(lead=acme["bob"]).exists()
    assert AccountUnplaced.objects.filter(lead=acme["bob"]).exists()
    assert account_match_lead(lead=acme["bob"]) is None
    assert not AccountContact.objects.filter(lead=acme["bob"]).exists()
    # Placing it again by hand lifts that.
    client.post(reverse("crm:lead-account", args=[acme["bob"].pk]), {"account": acme["account"].pk})
    assert AccountContact.objects.get(lead=acme["bob"]).matched_by == "manual"
    assert not AccountUnplaced.objects.filter(lead=acme["bob"]).exists()


def test_bad_or_foreign_input_gets_a_4xx_and_changes_nothing(
    client, rep, other_rep, marketer, acme
):
    client.force_login(rep)
    url = reverse("crm:lead-account", args=[acme["ann"].pk])
    for bad in ({"account": "x"}, {"account": "999999"}, {"account": "1" * 30}, {}):
        answer = client.post(url, bad)
        assert answer.status_code == 400, bad
        assert "choose an account from the list" in answer.content.decode()
    assert AccountContact.objects.get(lead=acme["ann"]).account == acme["account"]
    # Another rep's lead and deal are not found; a marketer may not change them.
    assert (
        client.post(reverse("crm:lead-account", args=[acme["cy"].pk]), {"clear": "1"}).status_code
        == 404
    )
    client.force_login(other_rep)
    add = reverse("crm:deal-contact", args=[acme["deal"].pk])
    assert client.post(add, {"lead": acme["cy"].pk, "role": "user"}).status_code == 404
    client.force_login(marketer)
    assert client.post(url, {"clear": "1"}).status_code == 403
    assert DealContact.objects.filter(deal=acme["deal"]).count() == 1


def test_a_rep_edits_their_deals_buying_group_and_attribution_follows(client, rep, acme):
    client.force_login(rep)
    add = reverse("crm:deal-contact", args=[acme["deal"].pk])
    before = _refreshes()
    assert client.post(add, {"lead": acme["bob"].pk, "role": "champion"}).status_code == 302
    contact = DealContact.objects.get(deal=acme["deal"], lead=acme["bob"])
    assert contact.role == "champion"
    assert _refreshes() == before + 1
    # The same again changes nothing and queues nothing; a new role is a change.
    client.post(add, {"lead": acme["bob"].pk, "role": "champion"})
    assert _refreshes() == before + 1
    client.post(add, {"lead": acme["bob"].pk, "role": "decision_maker"})
    assert DealContact.objects.get(pk=contact.pk).role == "decision_maker"
    assert _refreshes() == before + 2
    # A bad role or a person from outside the account: 400 with the reason.
    bad = client.post(add, {"lead": acme["bob"].pk, "role": "boss"})
    assert bad.status_code == 400 and "Choose a role from the list" in bad.content.decode()
    outsider = LeadFactory(email="x@elsewhere.io", owner=rep)
    assert client.post(add, {"lead": outsider.pk, "role": "user"}).status_code == 400
    # Cy is at Acme but another rep's: not offered, and refused.
    assert client.post(add, {"lead": acme["cy"].pk, "role": "user"}).status_code == 400
    remove = reverse("crm:deal-contact-remove", args=[contact.pk])
    assert client.post(remove).status_code == 302
    assert not DealContact.objects.filter(pk=contact.pk).exists()
    assert _refreshes() == before + 3
    primary = DealContact.objects.get(deal=acme["deal"], is_primary=True)
    refused = client.post(reverse("crm:deal-contact-remove", args=[primary.pk]))
    assert refused.status_code == 400 and DealContact.objects.filter(pk=primary.pk).exists()


def test_a_manager_may_add_any_rep_lead_of_the_account(client, manager, acme):
    client.force_login(manager)
    add = reverse("crm:deal-contact", args=[acme["deal"].pk])
    assert client.post(add, {"lead": acme["cy"].pk, "role": "user"}).status_code == 302
    assert DealContact.objects.filter(deal=acme["deal"], lead=acme["cy"], role="user").exists()
    deal_contact_add(deal=acme["deal"], lead=acme["cy"], role="user", by=manager)  # idempotent
    assert DealContact.objects.filter(deal=acme["deal"]).count() == 2
