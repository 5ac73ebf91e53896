"""One date and one date-time format per language, on every page that shows a date."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import formats, translation

from clm.models import UserPreference
from integrations.models import ApiToken

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 12, 7, 14, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "date", "datetime_"),
    [("en", "7 Dec 2026", "7 Dec 2026, 14:05"), ("id", "7 Des 2026", "7 Des 2026 14.05")],
)
def test_each_language_has_one_date_and_one_datetime_format(language, date, datetime_):
    with translation.override(language):
        for name in ("DATE_FORMAT", "SHORT_DATE_FORMAT"):
            assert formats.date_format(WHEN, name) == date
        for name in ("DATETIME_FORMAT", "SHORT_DATETIME_FORMAT"):
            assert formats.date_format(WHEN, name) == datetime_


def test_templates_use_the_named_formats_only():
    """A literal format ("Y-m-d", "M j, Y") would bypass the reader's language."""
    literal = re.compile(r'\|date:"(?![A-Z_]+_FORMAT")[^"]*"')
    offenders = [
        f"{path}: {match.group(0)}"
        for path in Path(settings.BASE_DIR, "templates").rglob("*.html")
        for match in literal.finditer(path.read_text())
    ]
    assert offenders == []


def test_the_token_list_shows_dates_in_the_readers_format(client, rep):
    client.force_login(rep)
    client.post("/accounts/tokens/", {"name": "zapier"})
    ApiToken.objects.update(created_at=WHEN)
    english = client.get("/accounts/tokens/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<td>7 Dec 2026, 14:05</td>" in english
    UserPreference.objects.update_or_create(user=rep, defaults={"language": "id"})
    indonesian = client.get("/accounts/tokens/", HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert "<td>7 Des 2026 14.05</td>" in indonesian


def test_stored_keys_read_as_words():
    from clm.templatetags.clm_format import key_label

    assert key_label("utm_source") == "UTM source"
    assert key_label("company_size") == "Company size"
    assert key_label("gclid") == "Gclid"


@pytest.mark.parametrize(("language", "name"), [("en", "Position-based"), ("id", None)])
def test_attribution_models_are_named_for_people(language, name):
    from attribution.templatetags.attribution_format import model_label

    with translation.override(language):
        label = model_label("position_based")
    assert label != "position_based" and "_" not in label
    if name:
        assert label == name
    assert model_label("not_a_model") == "not_a_model"


def test_the_sequence_form_names_the_sender_address_not_the_setting(settings):
    from nurture.forms import SequenceForm

    settings.DEFAULT_FROM_EMAIL = "news@clm.example"
    help_text = str(SequenceForm().fields["from_email"].help_text)
    assert "news@clm.example" in help_text and "DEFAULT_FROM_EMAIL" not in help_text
