import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.urls import reverse

from crm import selectors, services
from crm.models import LeadHistory
from crm.tests.factories import ActivityFactory, DealFactory
from leads.models import CaptureForm, Lead
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_leads_visible_to_is_own_for_reps_all_for_others_none_without_a_role(
    rep, other_rep, manager, marketer, admin, django_user_model
):
    mine, theirs, nobodys = LeadFactory(owner=rep), LeadFactory(owner=other_rep), LeadFactory()
    everyone = {mine, theirs, nobodys}
    assert set(selectors.leads_visible_to(rep)) == {mine}
    assert set(selectors.leads_visible_to(other_rep)) == {theirs}
    for user in (manager, marketer, admin):
        assert set(selectors.leads_visible_to(user)) == everyone
    roleless = django_user_model.objects.create_user("nobody", password="x-pw-123456")
    assert not selectors.leads_visible_to(roleless).exists()
    assert not selectors.leads_visible_to(AnonymousUser()).exists()


def test_activities_deals_feedback_and_history_follow_the_lead_scope(rep, other_rep, manager):
    mine, theirs = LeadFactory(owner=rep), LeadFactory(owner=other_rep)
    for lead in (mine, theirs):
        ActivityFactory(lead=lead)
        DealFactory(lead=lead)
        services.feedback_rate(lead=lead, rating="good", by=manager)
        services.lead_change_stage(lead=lead, stage="contacted", by=manager)
    for visible in (
        selectors.activities_visible_to,
        selectors.deals_visible_to,
        selectors.feedback_visible_to,
        selectors.history_visible_to,
    ):
        assert {row.lead_id for row in visible(rep)} == {mine.pk}, visible.__name__
        assert {row.lead_id for row in visible(manager)} == {mine.pk, theirs.pk}


def test_a_captured_lead_lands_in_the_next_reps_queue_with_its_assignment_recorded(
    client, rep, other_rep
):
    form = CaptureForm.objects.create(name="Demo request", min_fill_seconds=0)
    cache.delete("crm:round-robin")
    for email in ("one@x.io", "two@x.io"):
        response = client.post(
            form.url, json.dumps({"email": email, "utm_source": "google", "utm_medium": "cpc"}),
            content_type="application/json",
        )  # fmt: skip
        assert response.status_code == 201, response.content
    one, two = Lead.objects.get(email="one@x.io"), Lead.objects.get(email="two@x.io")
    assert {one.owner, two.owner} == {rep, other_rep}
    assert LeadHistory.objects.filter(field="owner", by=None).count() == 2
    client.force_login(one.owner)
    queue = client.get(reverse("crm:queue"))
    assert [lead.email for lead in queue.context["leads"]] == ["one@x.io"]
    assert "Paid Search" in queue.content.decode()
