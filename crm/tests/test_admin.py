import pytest
from django.urls import reverse

from crm.models import Activity, Deal, LeadFeedback, LeadHistory
from crm.tests.factories import DealFactory, stage
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

MODELS = ["activity", "deal", "disqualifyreason", "leadfeedback", "leadhistory",
          "pipelinestage", "qualityreason"]  # fmt: skip


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
