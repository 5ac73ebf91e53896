"""A small, known population of leads for the segment tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from campaigns.tests.factories import CampaignFactory
from crm.models import LeadFeedback
from crm.tests.factories import ActivityFactory, DealFactory, lead_with_journey, stage
from leads.models import CaptureForm, Submission


@pytest.fixture
def population(db: Any, rep: Any, other_rep: Any) -> dict[str, Any]:
    """Four leads whose every segment field is known (see each comment)."""
    now = timezone.now()
    webinar = CaptureForm.objects.create(name="Webinar", slug="webinar")
    other_form = CaptureForm.objects.create(name="Pricing", slug="pricing")
    spring = CampaignFactory(name="Spring", utm_campaign="spring")
    ana = lead_with_journey(  # new, Email -> Paid Search, consent, webinar, spring, won deal
        owner=rep, first_name="Ana", stage="new", consent_given=True,
        custom={"plan": "pro", "seats": 12, "vip": True}, created_at=now - timedelta(days=40),
        touches=[{"channel_name": "Email", "occurred_at": now - timedelta(days=41)},
                 {"channel_name": "Paid Search", "campaign": spring}],
    )  # fmt: skip
    ben = lead_with_journey(  # contacted, Paid Search only, no consent, open deal, poor fit
        owner=rep, first_name="Ben", stage="contacted", custom={"plan": "basic"},
        created_at=now - timedelta(days=5), touches=[{"channel_name": "Paid Search"}],
    )  # fmt: skip
    cy = lead_with_journey(  # customer, Direct -> Email, consent, lost deal, never worked
        owner=other_rep, first_name="Cy", stage="customer", consent_given=True,
        created_at=now - timedelta(days=100),
        touches=[{"channel_name": "Direct", "occurred_at": now - timedelta(days=100)},
                 {"channel_name": "Email"}],
    )  # fmt: skip
    dee = lead_with_journey(  # disqualified, Organic Search, pricing form, no deal, no rating
        owner=None, first_name="Dee", stage="disqualified", created_at=now - timedelta(days=1),
        touches=[{"channel_name": "Organic Search"}],
    )  # fmt: skip
    Submission.objects.create(
        form=webinar, form_key=webinar.key, received_at=now, status="accepted", lead=ana
    )
    Submission.objects.create(
        form=webinar, form_key=webinar.key, received_at=now, status="rejected", lead=ben
    )
    Submission.objects.create(
        form=other_form, form_key=other_form.key, received_at=now, status="accepted", lead=dee
    )
    ActivityFactory(lead=ana, occurred_at=now - timedelta(days=2))
    ActivityFactory(lead=ben, occurred_at=now - timedelta(days=60))
    DealFactory(lead=ana, stage=stage("won"), closed_at=now)
    DealFactory(lead=ben)
    DealFactory(lead=cy, stage=stage("lost"), closed_at=now)
    LeadFeedback.objects.create(lead=ana, rating="good")
    LeadFeedback.objects.create(lead=ben, rating="poor")
    LeadFeedback.objects.create(lead=cy, rating="good", is_current=False)
    return {
        "ana": ana, "ben": ben, "cy": cy, "dee": dee, "webinar": webinar,
        "pricing": other_form, "spring": spring,
    }  # fmt: skip
