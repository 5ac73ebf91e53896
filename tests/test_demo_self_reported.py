"""The demo data answers "How did you hear about us?" for a share of its leads."""

import io
from typing import Any

import pytest
from django.core.management import call_command

from leads.models import CaptureForm, Lead, Submission

pytestmark = pytest.mark.django_db


def test_the_demo_answers_for_a_share_of_leads_on_lead_and_submission(
    django_capture_on_commit_callbacks: Any, celery_eager: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--leads", "120", "--seed", "17", stdout=io.StringIO())
    leads = Lead.objects.all()
    answered = leads.exclude(heard_about="")
    assert 0.3 < answered.count() / leads.count() < 0.8
    assert answered.filter(heard_about="other").exclude(heard_about_other="").exists()
    assert not leads.exclude(heard_about="other").exclude(heard_about_other="").exists()
    for lead in answered[:20]:
        submission = Submission.objects.get(lead=lead)
        assert (submission.heard_about, submission.heard_about_other) == (
            lead.heard_about,
            lead.heard_about_other,
        )
    assert CaptureForm.objects.get(slug="demo-request").ask_heard_about
