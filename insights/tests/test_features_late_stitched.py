"""Scoring features ignore late-stitched touches, as attribution does."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.tests.factories import lead_with_journey
from insights.selectors import lead_features

pytestmark = pytest.mark.django_db


def test_backdated_anonymous_views_on_a_known_lead_are_not_pages_seen_before_capture():
    now = timezone.now()
    lead = lead_with_journey(
        created_at=now,
        touches=[
            {"channel_name": "Email", "occurred_at": now - timedelta(hours=1)},
            {"channel_name": "Paid Search", "occurred_at": now - timedelta(hours=9),
             "late_stitched": True},
        ],
    )  # fmt: skip

    row = lead_features(lead_ids=[lead.pk]).iloc[0]

    assert (row["journey_touches"], row["pages_before"]) == (1, 1)
