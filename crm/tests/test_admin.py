import pytest
from django.urls import reverse

from crm.models import Activity, Deal, LeadFeedback, LeadHistory
from crm.tests.factories import DealFactory, stage
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

MODELS = ["activity", "deal", "disqualifyreason", "leadfeedback", "leadhistory",
          "pipelinestage", "qualityreason", "account", "accountcontact", "dealcontact",
          "freemaildomain"]  # fmt: skip


@pytest.mark.parametrize("model", MODELS)
def test_admin_lists_every_crm_model(client, admin, model):
    client.force_login(admin)
    assert client.get(reverse(f"admin:crm_{model}_changelist")).status_code == 200


def test_history_is_read_only_in_the_admin(client, admin, rep, manager):
    from crm import services

    lead = LeadFactory(owner=rep)
    services.lead_assign(lead=lead, owner=manager, by=manager)
    client.force_login(admin)
    assert client.get(reverse("admin:crm_leadhistory_add")).status_code == 403
    row = LeadHistory.objects.get()
    page = client.get(reverse("admin:crm_leadhistory_change", args=[row.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content


def test_a_deal_added_in_the_admin_goes_through_the_service(client, admin, rep):
    lead = LeadFactory(owner=rep)
    client.force_login(admin)
    response = client.post(
        reverse("admin:crm_deal_add"),
        {"lead": lead.pk, "name": "Admin deal", "amount": "300.00",
         "stage": stage("qualification").pk, "close_reason": "", "owner": ""},
    )  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    deal = Deal.objects.get()
    lead.refresh_from_db()
    assert (deal.owner, lead.stage) == (rep, "opportunity")
    assert LeadHistory.objects.filter(lead=lead, new="opportunity", by=admin).exists()


def test_the_admin_shows_a_services_refusal_as_a_form_error_and_saves_nothing(client, admin, rep):
    lead = LeadFactory(owner=rep)
    client.force_login(admin)
    response = client.post(
        reverse("admin:crm_deal_add"),
        {"lead": lead.pk, "name": "Lost at once", "amount": "1.00",
         "stage": stage("lost").pk, "close_reason": "", "owner": ""},
    )  # fmt: skip
    assert response.status_code == 200
    assert b"Say why the deal was lost." in response.content
    assert not Deal.objects.exists()
    lead.refresh_from_db()
    assert lead.stage == "new"


def test_changing_a_deal_stage_in_the_admin_closes_it(client, admin, rep):
    deal = DealFactory(lead=LeadFactory(owner=rep))
    client.force_login(admin)
    response = client.post(
        reverse("admin:crm_deal_change", args=[deal.pk]),
        {"name": deal.name, "amount": "1000.00", "stage": stage("won").pk,
         "close_reason": "Signed", "owner": rep.pk},
    )  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    deal.refresh_from_db()
    assert deal.stage.is_won and deal.closed_at is not None and deal.close_reason == "Signed"
    deal.lead.refresh_from_db()
    assert deal.lead.stage == "customer"


def test_an_activity_and_a_rating_added_in_the_admin(client, admin, rep):
    lead = LeadFactory(owner=rep)
    client.force_login(admin)
    response = client.post(
        reverse("admin:crm_activity_add"),
        {"lead": lead.pk, "kind": "call", "outcome": "connected", "occurred_at_0": "2026-01-05",
         "occurred_at_1": "10:00:00", "duration": "", "notes": "From the admin",
         "channel": "", "campaign": ""},
    )  # fmt: skip
    assert response.status_code == 302, response.content[:3000]
    assert Activity.objects.get().by == admin
    lead.refresh_from_db()
    assert lead.last_contacted_at is not None and lead.stage == "contacted"
    response = client.post(
        reverse("admin:crm_leadfeedback_add"), {"lead": lead.pk, "rating": "good", "note": ""}
    )
    assert response.status_code == 302
    assert LeadFeedback.objects.get().by == admin


def test_admins_merge_accounts_and_split_people_off_with_the_actions(client, admin, rep):
    from crm.models import Account, AccountContact
    from crm.services import account_create, account_match_lead

    first = account_create(name="Acme", domains=["acme.com"], by=None)
    second = account_create(name="ACME Corp", domains=["acme.io"], by=None)
    ann, bob = LeadFactory(email="ann@acme.com"), LeadFactory(email="bob@acme.io")
    account_match_lead(lead=ann)
    account_match_lead(lead=bob)
    deal = DealFactory(lead=bob, account=second)
    client.force_login(admin)
    response = client.post(
        reverse("admin:crm_account_changelist"),
        {"action": "merge_into_oldest", "_selected_action": [first.pk, second.pk]},
    )
    assert response.status_code == 302
    assert list(Account.objects.values_list("name", flat=True)) == ["Acme"]
    assert Deal.objects.get(pk=deal.pk).account == first
    response = client.post(
        reverse("admin:crm_accountcontact_changelist"),
        {"action": "split_off", "_selected_action": [AccountContact.objects.get(lead=bob).pk]},
    )
    assert response.status_code == 302
    new = Account.objects.get(name="Acme (split)")
    assert AccountContact.objects.get(lead=bob).account == new
    assert Deal.objects.get(pk=deal.pk).account == new
    assert AccountContact.objects.get(lead=ann).account == first
