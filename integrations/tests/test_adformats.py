"""Each platform's file or payload, built from known conversions and compared field by field
with the platform's documented example; hashing checked with the published normalisation
examples (the sources are named in integrations/adformats.py)."""

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from integrations import adformats
from integrations.adformats import ConversionRow


def row(**overrides):
    values = {
        "event_id": "clm-1-deal-7",
        "conversion_name": "My Goal Name",
        "occurred_at": datetime(2020, 4, 1, 18, 50, 54, tzinfo=UTC),
        "value": Decimal("10"),
        "currency": "USD",
    }
    return ConversionRow(**{**values, **overrides})


@pytest.mark.parametrize(
    ("raw", "expected_hash"),
    [
        # Meta, "Customer Information Parameters", em: trimmed, lower case.
        (
            "John_Smith@gmail.com",
            "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
        ),
        (
            "  John_Smith@GMAIL.com \n",
            "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
        ),
        # Snap's Conversions API example (the same rule): Person@Example.com.
        ("Person@Example.com", "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"),
    ],
)
def test_emails_are_hashed_after_trimming_and_lower_casing(raw, expected_hash):
    assert adformats.sha256_hex(adformats.normalise_email(raw)) == expected_hash


@pytest.mark.parametrize(
    ("raw", "country", "normalised", "expected_hash"),
    [
        # Meta: US phone number (650)555-1212 -> 16505551212.
        ("(650)555-1212", "1", "16505551212",
         "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"),
        # Snap: +44 844 412 4653 -> 448444124653 (any deployment country).
        ("+44 844 412 4653", "1", "448444124653",
         "dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383"),
        ("0044 844 412 4653", "", "448444124653",
         "dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383"),
        ("0844 412 4653", "44", "448444124653",
         "dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383"),
    ],
)  # fmt: skip
def test_phones_keep_digits_with_the_country_code_and_no_leading_zeros(
    raw, country, normalised, expected_hash
):
    assert adformats.normalise_phone(raw, country_code=country) == normalised
    assert adformats.sha256_hex(normalised) == expected_hash


def test_a_national_phone_without_a_known_country_code_is_left_out():
    assert adformats.normalise_phone("(650)555-1212") == ""
    assert adformats.normalise_phone("call me") == ""


def test_google_csv_is_the_click_conversion_template_with_its_time_zone_line():
    rows = [
        row(click_id_name="gclid", click_id="Cj0KCQjw", conversion_name="Deal won",
            occurred_at=datetime(2019, 1, 1, 20, 32, 45, tzinfo=UTC), value=Decimal("1500")),
        row(click_id_name="wbraid", click_id="CjkKEQjw", conversion_name="Deal won",
            occurred_at=datetime(2019, 1, 2, 8, 0, 0, tzinfo=UTC), value=Decimal("99.5")),
    ]  # fmt: skip
    zone = ZoneInfo("America/Los_Angeles")
    assert adformats.google_preamble("America/Los_Angeles") == [
        "Parameters:TimeZone=America/Los_Angeles"
    ]
    assert adformats.GOOGLE_COLUMNS == (
        "Google Click ID", "GBRAID", "WBRAID", "Conversion Name", "Conversion Time",
        "Conversion Value", "Conversion Currency",
    )  # fmt: skip
    first, second = adformats.google_rows(rows, zone=zone)
    # Google's example time "2019-01-01 12:32:45-08:00", written in the declared zone.
    assert dict(zip(adformats.GOOGLE_COLUMNS, first, strict=True)) == {
        "Google Click ID": "Cj0KCQjw", "GBRAID": "", "WBRAID": "", "Conversion Name": "Deal won",
        "Conversion Time": "2019-01-01 12:32:45", "Conversion Value": "1500.00",
        "Conversion Currency": "USD",
    }  # fmt: skip
    assert second[:3] == ["", "", "CjkKEQjw"] and second[4:6] == ["2019-01-02 00:00:00", "99.50"]


def test_microsoft_csv_matches_its_documented_example_row():
    # Bulk example: USD, My Goal Name, 4/1/2020 6:50:54 PM, 10, f894f652ea334e739002f7167ab8f8e3
    built = adformats.microsoft_rows(
        [row(click_id_name="msclkid", click_id="f894f652ea334e739002f7167ab8f8e3")]
    )
    assert adformats.MICROSOFT_COLUMNS == (
        "Microsoft Click ID", "Conversion Name", "Conversion Time", "Conversion Value",
        "Conversion Currency Code",
    )  # fmt: skip
    assert dict(zip(adformats.MICROSOFT_COLUMNS, built[0], strict=True)) == {
        "Microsoft Click ID": "f894f652ea334e739002f7167ab8f8e3",
        "Conversion Name": "My Goal Name",
        "Conversion Time": "4/1/2020 6:50:54 PM",
        "Conversion Value": "10.00",
        "Conversion Currency Code": "USD",
    }
    morning = datetime(2020, 4, 1, 0, 5, 0, tzinfo=timezone(timedelta(hours=2)))
    assert adformats.microsoft_time(morning) == "3/31/2020 10:05:00 PM"  # in UTC


def test_meta_event_has_the_documented_fields_hashed_user_data_and_fbc():
    clicked = datetime.fromtimestamp(1554763741.205, tz=UTC)
    event = adformats.meta_event(
        row(
            conversion_name="Purchase",
            occurred_at=datetime.fromtimestamp(1554763800, tz=UTC),
            value=Decimal("142.52"),
            click_id_name="fbclid",
            click_id="IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk",
            clicked_at=clicked,
            email=" John_Smith@gmail.com",
            phone="(650)555-1212",
        ),
        country_code="1",
    )
    assert event == {
        "event_name": "Purchase",
        "event_time": 1554763800,
        "action_source": "system_generated",
        "event_id": "clm-1-deal-7",
        "user_data": {
            "em": ["62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"],
            "ph": ["e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"],
            # fb.<subdomain index>.<creation time in ms>.<fbclid, unmodified>
            "fbc": "fb.1.1554763741205."
            "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk",
        },
        "custom_data": {"value": 142.52, "currency": "USD"},
    }


def test_linkedin_event_matches_the_documented_streaming_example():
    # LinkedIn's example: conversionHappenedAt 1695739275000, USD "1500.0", SHA256_EMAIL and
    # LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID user ids, eventId "abc12345".
    event = adformats.linkedin_event(
        row(
            event_id="abc12345",
            conversion_name="104012",
            occurred_at=datetime.fromtimestamp(1695739275, tz=UTC),
            value=Decimal("1500.0"),
            click_id_name="li_fat_id",
            click_id="df5gf5-gh6t7-ph4j7h-fgf6n1",
            email="Person@Example.com",
        )
    )
    assert event == {
        "conversion": "urn:lla:llaPartnerConversion:104012",
        "conversionHappenedAt": 1695739275000,
        "conversionValue": {"currencyCode": "USD", "amount": "1500.00"},
        "user": {
            "userIds": [
                {"idType": "SHA256_EMAIL",
                 "idValue": "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"},
                {"idType": "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID",
                 "idValue": "df5gf5-gh6t7-ph4j7h-fgf6n1"},
            ]
        },
        "eventId": "abc12345",
    }  # fmt: skip
    assert adformats.linkedin_conversion_urn("urn:lla:llaPartnerConversion:9")[-2:] == ":9"


def test_google_api_body_writes_the_time_with_its_offset():
    body = adformats.upload_body(
        "google",
        row(
            click_id_name="gbraid",
            click_id="0AAAAA",
            occurred_at=datetime(2019, 1, 1, 20, 32, 45, tzinfo=UTC),
        ),
        zone=ZoneInfo("America/Los_Angeles"),
    )
    assert body["conversions"][0] == {
        "gbraid": "0AAAAA",
        "conversionAction": "My Goal Name",
        "conversionDateTime": "2019-01-01 12:32:45-08:00",  # Google's own example
        "orderId": "clm-1-deal-7",
        "conversionValue": 10.0,
        "currencyCode": "USD",
    }


def test_csv_rows_survive_a_round_trip_through_the_csv_module():
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(adformats.google_preamble("UTC"))
    writer.writerow(adformats.GOOGLE_COLUMNS)
    built = row(click_id_name="gclid", click_id="abc", conversion_name="Won, big")
    writer.writerows(adformats.google_rows([built], zone=UTC))
    lines = list(csv.reader(io.StringIO(out.getvalue())))
    assert lines[0] == ["Parameters:TimeZone=UTC"] and lines[2][3] == "Won, big"
