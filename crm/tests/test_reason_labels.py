"""Seeded reasons read in the reader's language; reasons admins typed read as typed."""

import pytest
from django.utils import translation

from crm.models import DisqualifyReason, QualityReason

pytestmark = pytest.mark.django_db


def test_seeded_reasons_are_shown_in_the_readers_language():
    reason = DisqualifyReason.objects.get(name="No budget")
    fit = QualityReason.objects.get(name="Wrong country")
    with translation.override("id"):
        assert (reason.label, fit.label) == ("Tanpa anggaran", "Negara tidak sesuai")
    with translation.override("en"):
        assert (reason.label, fit.label) == ("No budget", "Wrong country")


def test_a_reason_an_admin_typed_is_shown_as_typed():
    own = DisqualifyReason.objects.create(name="Budget")  # "Budget" is in the catalogue too
    with translation.override("id"):
        assert own.label == "Budget"
