"""Lead scoring through the app: trained from stored outcomes, shown where reps work."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from crm.models import LeadFeedback
from crm.tests.factories import DealFactory, lead_with_journey, stage
from insights.models import LeadScore, ScoringModel
from leads.models import CaptureForm, Lead

pytestmark = pytest.mark.django_db
CHANNELS = ["Email", "Paid Social", "Display", "Paid Search"]


def history(owner, *, leads: int = 240, seed: int = 7) -> None:
    """Past leads over the last year: Email leads mostly win, the others mostly lose."""
    rng = random.Random(seed)
    now = timezone.now()
    for n in range(leads):
        channel = CHANNELS[n % len(CHANNELS)]
        created = now - timedelta(days=360 - n)
        good = rng.random() < (0.8 if channel == "Email" else 0.2)
        lead = lead_with_journey(
            owner=owner, created_at=created, stage="customer" if good else "disqualified",
            touches=[{"channel_name": channel, "occurred_at": created - timedelta(hours=1)}],
        )  # fmt: skip
        if n % 3 == 0:  # some outcomes are sales' ratings, the others closed deals
            LeadFeedback.objects.create(lead=lead, rating="good" if good else "poor", by=owner)
        else:
            DealFactory(lead=lead, stage=stage("won" if good else "lost"), closed_at=created)


def open_lead(owner, channel: str, **fields):
    return lead_with_journey(owner=owner, touches=[{"channel_name": channel}], **fields)


def test_score_leads_learns_that_a_better_converting_channel_scores_higher(rep):
    history(rep)
    fresh = {c: open_lead(rep, c) for c in CHANNELS}
    call_command("score_leads")
    version = ScoringModel.objects.get()
    assert version.metrics["auc"] > 0.7
    assert version.metrics["n_test"] == 48 and version.metrics["n_train"] == 192
    assert sum(row["n"] for row in version.calibration) == 48
    scores = {c: LeadScore.objects.get(lead=lead).score for c, lead in fresh.items()}
    assert scores["Email"] > max(v for c, v in scores.items() if c != "Email") + 25
    # Only open leads are scored: closed ones keep no score of their own.
    assert LeadScore.objects.count() == Lead.objects.filter(stage="new").count()


def test_score_leads_refuses_without_enough_history(rep):
    open_lead(rep, "Email")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not enough history"):
        call_command("score_leads")
    assert not ScoringModel.objects.exists()


def test_a_captured_lead_is_scored_after_commit(
    client, rep, django_capture_on_commit_callbacks, celery_eager
):
    history(rep)
    call_command("score_leads")
    form = CaptureForm.objects.create(name="Demo request")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            form.url,
            json.dumps({"email": "new@gmail.com", "utm_source": "newsletter",
                        "utm_medium": "email"}),
            content_type="application/json",
        )  # fmt: skip
    assert response.status_code == 201
    score = LeadScore.objects.get(lead__submissions=response.json()["id"])
    labels = [f["label"] for f in score.factors]
    assert "First-touch channel: Email" in labels
    assert score.score == round(100 * score.probability)


def test_no_score_is_queued_before_a_model_exists_and_the_first_training_scores_them(
    client, rep, django_capture_on_commit_callbacks, celery_eager
):
    from outbox.models import OutboxMessage

    form = CaptureForm.objects.create(name="Demo request")

    def capture(email):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                form.url, json.dumps({"email": email}), content_type="application/json"
            )
        assert response.status_code == 201
        return response.json()["id"]

    capture("early@x.io")
    queued = OutboxMessage.objects.filter(task="insights.tasks.insights_score_lead")
    assert not queued.exists()
    history(rep)
    call_command("score_leads")  # the first model: every open lead is scored, early@ too
    assert LeadScore.objects.filter(lead__email="early@x.io").exists()
    later = capture("later@x.io")
    assert queued.count() == 1
    assert LeadScore.objects.filter(lead__submissions=later).exists()


def test_lead_page_shows_the_score_and_what_raised_or_lowered_it(client, rep):
    history(rep)
    good = open_lead(rep, "Email")
    poor = open_lead(rep, "Display")
    call_command("score_leads")
    client.force_login(rep)
    page = client.get(reverse("crm:lead", args=[good.pk])).content.decode()
    card = page[page.index('id="score"') :]
    assert f'id="lead-score">{good.lead_score.score}<' in card
    raising = card[card.index('id="score-raising"') :]
    assert "First-touch channel: Email" in raising.split("</ul>")[0]
    page = client.get(reverse("crm:lead", args=[poor.pk])).content.decode()
    lowering = page[page.index('id="score-lowering"') :]
    assert "First-touch channel: Display" in lowering.split("</ul>")[0]


def test_a_lead_without_a_model_says_it_is_not_scored_yet(client, rep):
    lead = open_lead(rep, "Email")
    client.force_login(rep)
    page = client.get(reverse("crm:lead", args=[lead.pk])).content.decode()
    assert "Not scored yet" in page


def test_queue_sorted_by_score_calls_the_best_leads_first(client, rep):
    history(rep)
    leads = [open_lead(rep, c) for c in ("Display", "Email", "Paid Social")]
    call_command("score_leads")
    unscored = open_lead(rep, "Email")  # captured after scoring, with no score yet
    client.force_login(rep)
    response = client.get(reverse("crm:queue"), {"order": "score"})
    shown = list(response.context["leads"])
    assert shown[0] == leads[1] and shown[-1] == unscored and len(shown) == 4
    scores = [lead.lead_score.score for lead in shown[:3]]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[2]
    page = response.content.decode()
    assert f'">{scores[0]}</span>' in page.split('id="queue"')[1]
    assert "Best score first" in response.content.decode()


def test_scoring_page_shows_auc_and_calibration_to_admins_only(client, admin, marketer, rep):
    history(rep)
    call_command("score_leads")
    client.force_login(marketer)
    assert client.get(reverse("insights:scoring")).status_code == 403
    client.force_login(admin)
    page = client.get(reverse("insights:scoring")).content.decode()
    version = ScoringModel.objects.get()
    assert f"{version.metrics['auc']:.3f}" in page
    assert 'id="calibration"' in page and "Observed good share" in page
    assert f"v{version.pk}" in page


def test_rescoring_without_training_uses_the_stored_model_and_needs_one(rep):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no scoring model yet"):
        call_command("score_leads", "--no-train")
    history(rep)
    call_command("score_leads")
    later = open_lead(rep, "Email")
    call_command("score_leads", "--no-train")
    assert ScoringModel.objects.count() == 1
    assert LeadScore.objects.get(lead=later).model == ScoringModel.objects.get()
