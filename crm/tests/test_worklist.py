"""The queue as a work list: sort, saved views (own and shared), CSV export, bulk stage."""

import csv
import io

import pytest
from django.urls import reverse

from crm.models import SavedView
from leads.models import Lead
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def names(response):
    return [lead.last_name for lead in response.context["leads"]]


def test_columns_sort_both_ways(client, manager):
    for name in ("Baker", "Adams", "Carter"):
        LeadFactory(last_name=name, first_name="X")
    client.force_login(manager)
    assert names(client.get(reverse("crm:queue"), {"order": "name"})) == [
        "Adams",
        "Baker",
        "Carter",
    ]
    response = client.get(reverse("crm:queue"), {"order": "-name"})
    assert names(response) == ["Carter", "Baker", "Adams"]
    # The sorted column's header link reverses it.
    assert response.context["sort_columns"]["name"]["dir"] == "desc"
    assert "order=name" in response.context["sort_columns"]["name"]["url"]
    # An unknown sort falls back to newest first (no error).
    assert client.get(reverse("crm:queue"), {"order": "password"}).status_code == 200


def test_search_matches_name_email_or_company(client, rep):
    LeadFactory(owner=rep, last_name="Lovelace", company="Engines Ltd", email="ada@engines.io")
    LeadFactory(owner=rep, last_name="Other", company="Else", email="b@else.io")
    client.force_login(rep)
    for q in ("lovelace", "engines ltd", "ada@"):
        assert names(client.get(reverse("crm:queue"), {"q": q})) == ["Lovelace"]


def test_a_rep_saves_a_personal_view_and_opens_it_by_its_link(client, rep):
    LeadFactory(owner=rep, last_name="Acme", company="Acme")
    LeadFactory(owner=rep, last_name="Other", company="Other")
    client.force_login(rep)
    response = client.post(
        reverse("crm:view-save"),
        {"name": "Acme leads", "query": "q=acme&order=name&evil=1", "shared": "1"},
    )
    # A rep may not share; nothing saved, a message says why.
    assert not SavedView.objects.exists()
    response = client.post(
        reverse("crm:view-save"), {"name": "Acme leads", "query": "q=acme&order=name&evil=1"}
    )
    view = SavedView.objects.get()
    assert (view.owner, view.shared, view.query) == (rep, False, "q=acme&order=name")
    opened = client.get(reverse("crm:queue"), {"view": view.pk})
    assert names(opened) == ["Acme"] and opened.context["current_view"] == view
    assert response.status_code == 302


def test_a_shared_view_never_shows_a_rep_another_reps_leads(client, manager, rep, other_rep):
    LeadFactory(owner=rep, last_name="RepAsLead", company="Acme")
    LeadFactory(owner=other_rep, last_name="OtherRepsLead", company="Acme")
    client.force_login(manager)
    client.post(
        reverse("crm:view-save"),
        {"name": "Acme of rep B", "query": f"q=acme&owner={other_rep.pk}&stage=all", "shared": "1"},
    )
    view = SavedView.objects.get(shared=True)
    assert names(client.get(reverse("crm:queue"), {"view": view.pk})) == ["OtherRepsLead"]
    client.force_login(rep)
    page = client.get(reverse("crm:queue"))
    assert view in page.context["saved_views"]  # the rep sees the shared view ...
    opened = client.get(reverse("crm:queue"), {"view": view.pk})
    # ... but through it only their own leads (the owner filter is not theirs to use).
    assert names(opened) == ["RepAsLead"]
    assert "OtherRepsLead" not in opened.content.decode()
    # Nor can a rep delete a manager's shared view.
    client.post(reverse("crm:view-delete", args=[view.pk]))
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_another_users_personal_view_is_not_reachable(client, rep, other_rep):
    view = SavedView.objects.create(owner=other_rep, name="Mine", query="q=secret")
    client.force_login(rep)
    response = client.get(reverse("crm:queue"), {"view": view.pk})
    assert response.context["current_view"] is None
    assert view not in response.context["saved_views"]
    assert client.post(reverse("crm:view-delete", args=[view.pk])).status_code == 404


def export(client, **params):
    response = client.get(reverse("crm:queue"), {**params, "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode().lstrip("\ufeff"))))


def test_a_reps_export_has_only_their_leads_and_is_formula_safe(client, rep, other_rep):
    LeadFactory(owner=rep, last_name="Mine", company='=HYPERLINK("http://evil")')
    LeadFactory(owner=rep, last_name="Closed", stage=Lead.Stage.CUSTOMER)
    LeadFactory(owner=other_rep, last_name="NotMine")
    client.force_login(rep)
    rows = export(client)
    assert rows[0][:4] == ["id", "first_name", "last_name", "email"]
    assert [r[2] for r in rows[1:]] == ["Mine"]  # open leads, the queue's default filter
    assert rows[1][4] == '\'=HYPERLINK("http://evil")'
    assert sorted(r[2] for r in export(client, stage="all")[1:]) == ["Closed", "Mine"]


def test_bulk_stage_changes_the_ticked_leads_and_says_what_changed(client, rep, other_rep):
    a = LeadFactory(owner=rep, stage=Lead.Stage.NEW)
    b = LeadFactory(owner=rep, stage=Lead.Stage.CONTACTED)
    foreign = LeadFactory(owner=other_rep, stage=Lead.Stage.NEW)
    client.force_login(rep)
    response = client.post(
        reverse("crm:bulk-stage"),
        {"leads": [a.pk, b.pk], "stage": "contacted", "next": "/crm/"},
        follow=True,
    )
    assert Lead.objects.get(pk=a.pk).stage == "contacted"
    page = response.content.decode()
    assert "1 lead moved to Contacted." in page and "1 was already there." in page
    # Another rep's lead is not a valid choice: nothing changes.
    client.post(reverse("crm:bulk-stage"), {"leads": [foreign.pk], "stage": "qualified"})
    assert Lead.objects.get(pk=foreign.pk).stage == "new"
    # Disqualifying in bulk is refused (it needs a reason per lead).
    client.post(reverse("crm:bulk-stage"), {"leads": [a.pk], "stage": "disqualified"})
    assert Lead.objects.get(pk=a.pk).stage == "contacted"


def test_a_marketer_may_not_bulk_change(client, marketer):
    lead = LeadFactory(stage=Lead.Stage.NEW)
    client.force_login(marketer)
    response = client.post(reverse("crm:bulk-stage"), {"leads": [lead.pk], "stage": "contacted"})
    assert response.status_code == 403
