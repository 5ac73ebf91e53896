"""Accounts: domain and company matching, capture, backfill, merge and split, buying groups."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from clm.domains import is_free_mail, registrable_domain
from crm.models import Account, AccountContact, AccountDomain, Deal, DealContact, FreeMailDomain
from crm.services import (
    account_assign_lead,
    account_create,
    account_match_lead,
    account_merge,
    account_split,
    accounts_match_all,
    company_key,
    deal_contact_add,
    deal_contact_remove,
    deal_create,
)
from crm.tests.factories import DealFactory
from leads.models import CaptureForm, Lead
from leads.tests.factories import LeadFactory

MatchedBy = AccountContact.MatchedBy


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("jane@acme.com", "acme.com"),
        ("Jane@EU.Acme.COM", "acme.com"),
        ("x@mail.eu.acme.com", "acme.com"),
        ("x@acme.co.uk", "acme.co.uk"),
        ("x@sales.acme.co.uk", "acme.co.uk"),
        ("x@tokopedia.co.id", "tokopedia.co.id"),
        ("x@jkt.tokopedia.co.id", "tokopedia.co.id"),
        ("x@acme.com.au", "acme.com.au"),
        ("https://www.acme.de/about", "acme.de"),
        ("x@co.uk", ""),
        ("x@localhost", ""),
        ("x@10.0.0.1", ""),
        ("not a domain", ""),
    ],
)
def test_registrable_domain_folds_subdomains_case_and_multi_part_suffixes(value, expected):
    assert registrable_domain(value) == expected


@pytest.mark.parametrize(
    "email",
    ["a@gmail.com", "a@yahoo.co.id", "a@YAHOO.com", "a@hotmail.co.uk", "a@outlook.com",
     "a@icloud.com", "a@proton.me", "a@gmx.de", "a@yandex.ru", "a@mail.ru", "a@qq.com",
     "a@163.com", "a@aol.com"],
)  # fmt: skip
def test_free_mail_providers_are_recognised_under_any_suffix(email):
    assert is_free_mail(email)


def test_corporate_domains_are_not_free_mail():
    assert not is_free_mail("a@acme.com")
    assert not is_free_mail("a@yahooligans-consulting.com")


def test_company_key_ignores_case_punctuation_accents_and_legal_forms():
    assert company_key("Acme, Inc.") == company_key("ACME") == company_key("acme ltd") == "acme"
    assert company_key("PT Télkom Indonesia Tbk") == "telkom indonesia"
    # A name made of legal forms only keeps them, rather than matching every such name.
    assert company_key("The Company") == "the company"


@pytest.mark.django_db
def test_the_free_mail_list_is_seeded_and_editable():
    assert FreeMailDomain.objects.filter(pattern="gmail.com").exists()
    assert FreeMailDomain.objects.filter(pattern="yahoo.*").exists()
    lead = LeadFactory(email="a@bigcorp-mail.com", company="")
    account_match_lead(lead=lead)
    assert AccountContact.objects.get(lead=lead).account.name == "bigcorp-mail.com"
    FreeMailDomain.objects.create(pattern="othermail.com")
    other = LeadFactory(email="b@othermail.com", company="")
    assert account_match_lead(lead=other) is None


@pytest.mark.django_db
def test_corporate_domains_group_people_whatever_the_subdomain_and_case():
    a = LeadFactory(email="ann@acme.com", company="Acme Inc")
    b = LeadFactory(email="bob@EU.acme.com", company="")
    c = LeadFactory(email="cy@sales.acme.com", company="Acme Europe GmbH")
    links = [account_match_lead(lead=lead) for lead in (a, b, c)]
    assert len({link.account_id for link in links}) == 1
    account = links[0].account
    assert account.name == "Acme Inc"
    assert list(account.domains.values_list("domain", flat=True)) == ["acme.com"]
    assert {link.matched_by for link in links} == {MatchedBy.DOMAIN}


@pytest.mark.django_db
def test_free_mail_never_groups_people_but_the_company_field_does():
    a = LeadFactory(email="ann@gmail.com", company="")
    b = LeadFactory(email="bob@gmail.com", company="")
    assert account_match_lead(lead=a) is None
    assert account_match_lead(lead=b) is None
    assert not Account.objects.exists()
    c = LeadFactory(email="cy@gmail.com", company="Globex Ltd")
    d = LeadFactory(email="di@yahoo.co.id", company="globex")
    assert account_match_lead(lead=c).account == account_match_lead(lead=d).account
    assert not AccountDomain.objects.exists()  # gmail.com is nobody's domain


@pytest.mark.django_db
def test_a_company_only_account_learns_its_first_corporate_domain():
    a = LeadFactory(email="ann@gmail.com", company="Initech")
    account = account_match_lead(lead=a).account
    b = LeadFactory(email="bob@initech.io", company="Initech LLC")
    assert account_match_lead(lead=b).account == account
    c = LeadFactory(email="cy@initech.io", company="")
    assert account_match_lead(lead=c).account == account
    assert list(account.domains.values_list("domain", flat=True)) == ["initech.io"]


@pytest.fixture
def form(db):
    return CaptureForm.objects.create(name="Demo request", allowed_origins=[])


def capture(client, form, **data):
    response = client.post(form.url, json.dumps(data), content_type="application/json")
    assert response.status_code == 201, response.content
    return Lead.objects.get(email=data["email"].lower())


@pytest.mark.django_db
def test_capture_matches_the_account_and_a_later_company_fills_it_in(client, form):
    ann = capture(client, form, email="ann@umbrella.com")
    assert ann.account_contact.account.domains.get().domain == "umbrella.com"
    bob = capture(client, form, email="bob@gmail.com")
    assert not AccountContact.objects.filter(lead=bob).exists()
    capture(client, form, email="bob@gmail.com", company="Umbrella Corp")
    link = AccountContact.objects.get(lead=bob)
    assert link.matched_by == MatchedBy.COMPANY
    assert link.account.name == "Umbrella Corp"  # a company-name account: ann's has no name yet


@pytest.mark.django_db
def test_anonymous_capture_never_moves_a_lead_sales_placed_by_hand(client, form, rep):
    lead = capture(client, form, email="eve@gmail.com")
    lead.owner = rep
    lead.save(update_fields=["owner"])
    chosen = account_create(name="Chosen Ltd", by=None)
    account_assign_lead(lead=lead, account=chosen, by=rep)
    capture(client, form, email="EVE@gmail.com", company="Hostile Takeover Inc")
    link = AccountContact.objects.get(lead=lead)
    assert (link.account, link.matched_by) == (chosen, MatchedBy.MANUAL)
    assert not Account.objects.filter(name__startswith="Hostile").exists()


@pytest.mark.django_db
def test_the_backfill_matches_existing_leads_and_a_rerun_changes_nothing():
    leads = [
        LeadFactory(email="a@acme.com"),
        LeadFactory(email="b@de.acme.com"),
        LeadFactory(email="c@gmail.com", company="Acme"),
        LeadFactory(email="d@gmail.com", company=""),
        LeadFactory(email="e@hooli.co.uk", company="Hooli"),
    ]
    deal = DealFactory(lead=leads[0])
    out = StringIO()
    call_command("match_accounts", stdout=out)
    assert "5 leads" in out.getvalue()
    snapshot = list(
        AccountContact.objects.order_by("lead").values_list("lead", "account", "matched_by")
    )
    assert len(snapshot) == 4
    assert Deal.objects.get(pk=deal.pk).account_id == snapshot[0][1]
    accounts = list(Account.objects.values_list("id", "name", "updated_at"))
    domains = list(AccountDomain.objects.values_list("id", "account", "domain"))
    out = StringIO()
    call_command("match_accounts", stdout=out)
    assert "0 linked, 0 moved, 0 accounts created" in out.getvalue()
    assert (
        list(AccountContact.objects.order_by("lead").values_list("lead", "account", "matched_by"))
        == snapshot
    )
    assert list(Account.objects.values_list("id", "name", "updated_at")) == accounts
    assert list(AccountDomain.objects.values_list("id", "account", "domain")) == domains


@pytest.fixture
def two_accounts(rep, manager):
    acme = account_create(name="Acme", domains=["acme.com"], by=None, tier="2")
    acme_de = account_create(
        name="Acme Deutschland", domains=["acme.de"], by=None, is_target=True, owner=rep, tier="1"
    )
    people = {
        "ann": LeadFactory(email="ann@acme.com", owner=rep),
        "bob": LeadFactory(email="bob@acme.de", owner=rep),
        "cy": LeadFactory(email="cy@gmail.com", company="Acme Deutschland GmbH", owner=rep),
    }
    for lead in people.values():
        account_match_lead(lead=lead)
    deals = {
        "ann": deal_create(lead=people["ann"], name="Ann's deal", by=manager),
        "bob": deal_create(lead=people["bob"], name="Bob's deal", by=manager),
    }
    deal_contact_add(deal=deals["bob"], lead=people["cy"], role="champion", by=manager)
    return acme, acme_de, people, deals


@pytest.mark.django_db
def test_merge_moves_domains_contacts_and_deals_in_one_go(two_accounts, manager):
    acme, acme_de, _people, deals = two_accounts
    assert Deal.objects.get(pk=deals["bob"].pk).account == acme_de
    merged = account_merge(target=acme, sources=[acme_de], by=manager)
    assert not Account.objects.filter(pk=acme_de.pk).exists()
    assert sorted(merged.domains.values_list("domain", flat=True)) == ["acme.com", "acme.de"]
    assert set(merged.contacts.values_list("lead__email", flat=True)) == {
        "ann@acme.com",
        "bob@acme.de",
        "cy@gmail.com",
    }
    assert set(Deal.objects.values_list("account", flat=True)) == {acme.pk}
    assert DealContact.objects.filter(deal=deals["bob"]).count() == 2  # the buying group stays
    assert (merged.tier, merged.is_target, merged.owner) == ("1", True, acme_de.owner)
    # Matching again keeps everyone where the merge put them.
    before = list(
        AccountContact.objects.order_by("lead").values_list("lead", "account", "matched_by")
    )
    accounts_match_all()
    after = list(
        AccountContact.objects.order_by("lead").values_list("lead", "account", "matched_by")
    )
    assert after == before
    assert Account.objects.count() == 1


@pytest.mark.django_db
def test_a_failed_merge_changes_nothing(two_accounts, rep):
    acme, acme_de, _people, _deals = two_accounts
    with pytest.raises(PermissionDenied):
        account_merge(target=acme, sources=[acme_de], by=rep)
    assert Account.objects.count() == 2
    assert acme_de.domains.get().domain == "acme.de"


@pytest.mark.django_db
def test_split_moves_the_chosen_people_their_deals_and_domains(two_accounts, manager):
    acme, acme_de, people, deals = two_accounts
    merged = account_merge(target=acme, sources=[acme_de], by=manager)
    new = account_split(
        account=merged, name="Acme DE", lead_ids=[people["bob"].pk], domains=["acme.de"], by=manager
    )
    assert list(new.domains.values_list("domain", flat=True)) == ["acme.de"]
    assert list(new.contacts.values_list("lead", flat=True)) == [people["bob"].pk]
    assert Deal.objects.get(pk=deals["bob"].pk).account == new
    assert Deal.objects.get(pk=deals["ann"].pk).account == merged
    # cy stays (by hand after the merge); a rerun of matching moves nobody.
    before = list(
        AccountContact.objects.order_by("lead").values_list("lead", "account", "matched_by")
    )
    accounts_match_all()
    assert (
        list(AccountContact.objects.order_by("lead").values_list("lead", "account", "matched_by"))
        == before
    )


@pytest.mark.django_db
def test_split_refuses_people_or_domains_of_another_account(two_accounts, manager):
    acme, _acme_de, people, _deals = two_accounts
    with pytest.raises(ValidationError):
        account_split(account=acme, name="X", lead_ids=[people["bob"].pk], by=manager)
    with pytest.raises(ValidationError):
        account_split(account=acme, name="X", lead_ids=[], domains=["acme.de"], by=manager)
    assert Account.objects.count() == 2


@pytest.mark.django_db
def test_a_deal_has_its_lead_as_primary_contact_and_a_buying_group(two_accounts, manager):
    _acme, acme_de, people, deals = two_accounts
    group = list(
        DealContact.objects.filter(deal=deals["bob"]).values_list("lead", "role", "is_primary")
    )
    assert group == [(people["bob"].pk, "other", True), (people["cy"].pk, "champion", False)]
    assert deals["bob"].account_id == acme_de.pk
    deal_contact_add(deal=deals["bob"], lead=people["cy"], role="decision_maker", by=manager)
    assert DealContact.objects.get(deal=deals["bob"], lead=people["cy"]).role == "decision_maker"
    with pytest.raises(ValidationError):
        deal_contact_remove(
            contact=DealContact.objects.get(deal=deals["bob"], is_primary=True), by=manager
        )
    deal_contact_remove(
        contact=DealContact.objects.get(deal=deals["bob"], lead=people["cy"]), by=manager
    )
    assert DealContact.objects.filter(deal=deals["bob"]).count() == 1


@pytest.mark.django_db
def test_the_data_migration_gives_every_existing_deal_its_primary_contact():
    from importlib import import_module

    from django.apps import apps

    deal = DealFactory()  # made without the service: no contact yet
    assert not DealContact.objects.filter(deal=deal).exists()
    migration = import_module("crm.migrations.0009_seed_free_mail_and_primary_contacts")
    migration.seed(apps, None)
    migration.seed(apps, None)  # a rerun adds nothing
    contact = DealContact.objects.get(deal=deal)
    assert (contact.lead_id, contact.is_primary) == (deal.lead_id, True)


@pytest.mark.django_db
def test_erasing_a_person_detaches_them_and_keeps_the_accounts_deals(two_accounts, manager):
    from leads.erasure import person_erase

    _acme, acme_de, people, deals = two_accounts
    result = person_erase(email="cy@gmail.com")
    assert result.counts["account_contacts"] == 1
    assert not AccountContact.objects.filter(lead=people["cy"]).exists()
    assert Account.objects.filter(pk=acme_de.pk).exists()
    deal = Deal.objects.get(pk=deals["bob"].pk)
    assert (deal.account_id, deal.amount) == (acme_de.pk, deals["bob"].amount)
    # The anonymised person keeps their role, so the buying group's touches still count.
    assert DealContact.objects.filter(deal=deal, lead=people["cy"], role="champion").exists()


def test_the_demo_has_accounts_of_one_to_six_people_with_buying_groups(seeded_rows, capsys):
    from django.db.models import Count

    call_command("seed_demo", "--leads", "60", "--seed", "3", "--no-run")
    sizes = list(Account.objects.annotate(n=Count("contacts")).values_list("n", flat=True))
    assert sizes and min(sizes) >= 1 and max(sizes) <= 6
    assert not Deal.objects.filter(account__isnull=True).exists()
    assert DealContact.objects.filter(is_primary=True).count() == Deal.objects.count()
    # The demo's rows are what matching would make: the backfill finds nothing to do.
    assert accounts_match_all()["moved"] == 0


@pytest.mark.django_db
def test_erasing_the_only_person_of_an_account_keeps_it_without_their_company(manager):
    from leads.erasure import person_erase

    lead = LeadFactory(email="quinn@quinncorp.example", company="QuinnCorp")
    account = account_match_lead(lead=lead).account
    deal = deal_create(lead=lead, name="Quinn's deal", by=manager)
    person_erase(email="quinn@quinncorp.example")
    account.refresh_from_db()
    assert account.name == f"Account {account.pk}" and not account.domains.exists()
    assert Deal.objects.get(pk=deal.pk).account == account


@pytest.mark.django_db
def test_a_domain_taken_meanwhile_joins_that_account_instead_of_failing(monkeypatch):
    from crm.services import accounts as module

    theirs = account_create(name="Wonka", domains=["wonka.com"], by=None)
    lead = LeadFactory(email="w@wonka.com", company="Wonka Industries")
    # As if a concurrent capture committed the domain after this one looked it up.
    monkeypatch.setattr(
        module,
        "_find",
        lambda lead, patterns: module.Match(None, "", "wonka.com", "wonka industries"),
    )
    link = account_match_lead(lead=lead)
    assert (link.account, link.matched_by) == (theirs, MatchedBy.DOMAIN)
    assert Account.objects.count() == 1
