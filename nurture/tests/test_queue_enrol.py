"""Enrolling leads ticked in the work queue in a nurture sequence (a manager's bulk action)."""

import pytest
from django.urls import reverse

from leads.models import Lead
from leads.tests.factories import LeadFactory
from nurture import services
from nurture.models import Enrollment, Sequence, Step

pytestmark = pytest.mark.django_db


@pytest.fixture
def sequence(marketer):
    segment = services.segment_save(
        name="Nobody", definition={"op": "and", "rules": []}, by=marketer
    )
    sequence = Sequence.objects.create(
        name="Welcome", slug="welcome-series", segment=segment, status=Sequence.Status.ACTIVE
    )
    Step.objects.create(sequence=sequence, position=1, subject="Hi", body="Hello")
    return sequence


def test_a_manager_enrols_ticked_leads_and_reads_what_changed(client, manager, rep, sequence):
    yes = LeadFactory(owner=rep, consent_given=True)
    no = LeadFactory(owner=rep, consent_given=False)
    already = LeadFactory(owner=rep, consent_given=True)
    Enrollment.objects.create(sequence=sequence, lead=already, enrolled_at=already.created_at)
    client.force_login(manager)
    response = client.post(
        reverse("nurture:leads-enrol"),
        {"leads": [yes.pk, no.pk, already.pk], "sequence": sequence.pk, "next": "/crm/"},
        follow=True,
    )
    assert set(Enrollment.objects.values_list("lead_id", flat=True)) == {yes.pk, already.pk}
    text = response.content.decode()
    assert "1 lead enrolled in Welcome." in text
    assert "1 already in it." in text and "1 skipped: no marketing consent." in text
    # Again: nothing new.
    client.post(reverse("nurture:leads-enrol"), {"leads": [yes.pk], "sequence": sequence.pk})
    assert Enrollment.objects.count() == 2


def test_reps_and_marketers_may_not_enrol_from_the_queue(client, rep, marketer, sequence):
    lead = LeadFactory(owner=rep, consent_given=True)
    for user in (rep, marketer):
        client.force_login(user)
        response = client.post(
            reverse("nurture:leads-enrol"), {"leads": [lead.pk], "sequence": sequence.pk}
        )
        assert response.status_code == 403
    assert not Enrollment.objects.exists()


def test_a_draft_sequence_or_bad_ids_enrol_nobody(client, manager, sequence):
    lead = LeadFactory(consent_given=True)
    client.force_login(manager)
    Sequence.objects.filter(pk=sequence.pk).update(status=Sequence.Status.DRAFT)
    client.post(reverse("nurture:leads-enrol"), {"leads": [lead.pk], "sequence": sequence.pk})
    response = client.post(
        reverse("nurture:leads-enrol"), {"leads": ["x", "9" * 40], "sequence": "'; drop"}
    )
    assert response.status_code == 302 and not Enrollment.objects.exists()
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_the_queue_offers_the_enrol_action_to_managers(client, manager, rep, sequence):
    LeadFactory(owner=rep)
    client.force_login(manager)
    assert 'id="bulk-enrol"' in client.get(reverse("crm:queue")).content.decode()
    client.force_login(rep)
    assert 'id="bulk-enrol"' not in client.get(reverse("crm:queue")).content.decode()
