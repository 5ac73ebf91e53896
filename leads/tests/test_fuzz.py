"""Property tests of the capture side's URL/UTM handling and of capture itself.

campaigns/tests/test_channeling.py fuzzes the pure classifier (extract_facts, classify); these
cover what leads/ adds around it: tracking_values (fields vs the landing URL's query),
touchpoint_build (classified, truncated to the columns, storable) and the HTTP endpoint.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from campaigns.models import Channel
from leads.models import CaptureForm, Lead, Touchpoint
from leads.serializers import CLICK_ID_FIELDS, UTM_FIELDS
from leads.touches import touchpoint_build, tracking_values

pytestmark = pytest.mark.django_db

TEXT = st.text(max_size=300)
QUERY_KEYS = st.sampled_from([*UTM_FIELDS, *CLICK_ID_FIELDS, "UTM_SOURCE", "x", "", "utm_"])
URLISH = st.one_of(
    TEXT,
    st.builds(
        lambda scheme, host, pairs, frag: (
            f"{scheme}{host}/p?" + "&".join(f"{k}={v}" for k, v in pairs) + frag
        ),
        st.sampled_from(["https://", "http://", "//", "", "javascript:", "data:"]),
        st.text(alphabet="abcxyz.-:@[]%é\x00", max_size=30),
        st.lists(st.tuples(QUERY_KEYS, st.text(max_size=300)), max_size=6),
        st.sampled_from(["", "#frag", "#?utm_source=x"]),
    ),
)
FIELDS = st.dictionaries(
    st.sampled_from([*UTM_FIELDS, *CLICK_ID_FIELDS, "landing_url", "other"]),
    st.one_of(TEXT, URLISH, st.none()),
    max_size=8,
)
SLOW = hsettings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@hsettings(max_examples=500, deadline=None)
@given(FIELDS)
def testtracking_values_never_raise_and_keep_their_shape(data: dict[str, Any]) -> None:
    values = tracking_values(data)
    assert set(values) == {*UTM_FIELDS, "click_ids"}
    given_utm = {name: str(data.get(name) or "") for name in UTM_FIELDS}
    if any(given_utm.values()):
        # Fields win over the landing URL, as sent.
        assert {name: values[name] for name in UTM_FIELDS} == given_utm
    else:
        assert all(len(values[name]) <= 255 for name in UTM_FIELDS)
    assert set(values["click_ids"]) <= set(CLICK_ID_FIELDS)
    for name, value in values["click_ids"].items():
        assert isinstance(value, str) and value
        if data.get(name):
            assert value == str(data[name])
        else:
            assert len(value) <= 500


@SLOW
@given(url=URLISH, referrer=URLISH, title=TEXT, data=FIELDS)
def test_touchpoint_build_never_raises_and_fits_its_columns(
    seeded_rows: Any, url: str, referrer: str, title: str, data: dict[str, Any]
) -> None:
    touch = touchpoint_build(
        kind=Touchpoint.Kind.PAGE_VIEW,
        occurred_at=timezone.now(),
        url=url,
        referrer=referrer,
        title=title,
        tracking=tracking_values(data),
    )
    for field in Touchpoint._meta.concrete_fields:
        value = getattr(touch, field.attname)
        if isinstance(value, str) and field.max_length:
            assert len(value) <= field.max_length, field.name
    assert Channel.objects.filter(pk=touch.channel_id).exists()
    assert touch.source == touch.source.strip()


SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=100,
)


@pytest.fixture
def form(seeded_rows: Any, settings: Any) -> CaptureForm:
    settings.CLM_CAPTURE_RATE_PER_MINUTE = 10**6
    return CaptureForm.objects.get_or_create(
        name="Fuzz", defaults={"min_fill_seconds": 0, "honeypot_field": "hp_field"}
    )[0]


@SLOW
@given(
    first_name=st.one_of(TEXT, SAFE_TEXT),
    company=st.one_of(TEXT, SAFE_TEXT),
    landing_url=URLISH,
    referrer=URLISH,
    # Custom fields the form does not know: kept in the raw submission only.
    extra=st.dictionaries(
        st.text(max_size=20).map(lambda k: f"x_{k}"), st.one_of(TEXT, st.integers(), st.none())
    ),
)
def test_capture_answers_201_or_400_and_keeps_what_it_accepts(
    client: Any,
    form: CaptureForm,
    first_name: str,
    company: str,
    landing_url: str,
    referrer: str,
    extra: dict[str, Any],
) -> None:
    Lead.objects.filter(email="fuzz@example.com").delete()
    body = {
        **extra,
        "email": "fuzz@example.com",
        "first_name": first_name,
        "company": company,
        "landing_url": landing_url,
        "referrer": referrer,
    }
    response = client.post(
        form.url, json.dumps(body), content_type="application/json", REMOTE_ADDR="10.9.9.9"
    )
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert response.json()["errors"]
        return
    lead = Lead.objects.get(email="fuzz@example.com")
    assert lead.first_name == first_name.strip()
    assert lead.company == company.strip()
    assert lead.latest_touch is not None
