"""Each ad platform's published conversion format, built from plain values (no ORM here).

Sources (looked up, not guessed):

- Google Ads offline click conversions: the import template's first line
  `Parameters:TimeZone=<time zone>` then the columns `Google Click ID`, `GBRAID`, `WBRAID`,
  `Conversion Name`, `Conversion Time`, `Conversion Value`, `Conversion Currency` (exactly one
  of the three click ids per row), time as `yyyy-MM-dd HH:mm:ss` in the declared zone (Google
  Ads Help, "Import conversions from clicks"; Google Ads API `ClickConversion`:
  gclid / gbraid / wbraid, conversion_date_time "yyyy-mm-dd hh:mm:ss+|-hh:mm", for example
  "2019-01-01 12:32:45-08:00", conversion_value, currency_code, order_id).
- Microsoft Advertising offline conversions: columns `Microsoft Click ID`, `Conversion Name`,
  `Conversion Time`, `Conversion Value`, `Conversion Currency Code`, time in UTC as
  `4/1/2020 6:50:54 PM` (Bulk "Offline Conversion Record"; the API's `OfflineConversion`:
  MicrosoftClickId, ConversionName, ConversionTime, ConversionValue, ConversionCurrencyCode).
- Meta Conversions API (developers.facebook.com, "Customer Information Parameters" and
  "fbp and fbc"): `event_name`, `event_time` (Unix seconds), `action_source`, `event_id`
  (de-duplication), `user_data.em` / `ph` as SHA-256 hex of the normalised value (email:
  trimmed and lower-cased, "John_Smith@gmail.com" -> 62a14e44...; phone: digits only with the
  country code and no leading zeros, US "(650)555-1212" -> "16505551212" -> e323ec62...),
  `fbc` = `fb.1.<click time in ms>.<fbclid>` (the fbclid unmodified), `custom_data.value` and
  `currency`.
- LinkedIn Conversions API (learn.microsoft.com, "Conversions API"): `conversion`
  (`urn:lla:llaPartnerConversion:<rule id>`), `conversionHappenedAt` (epoch ms),
  `conversionValue` {`currencyCode`, `amount` as a decimal string}, `user.userIds` with
  `SHA256_EMAIL` and `LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID` (the li_fat_id), `eventId`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

GOOGLE_COLUMNS = (
    "Google Click ID",
    "GBRAID",
    "WBRAID",
    "Conversion Name",
    "Conversion Time",
    "Conversion Value",
    "Conversion Currency",
)
MICROSOFT_COLUMNS = (
    "Microsoft Click ID",
    "Conversion Name",
    "Conversion Time",
    "Conversion Value",
    "Conversion Currency Code",
)
# Which click ids each platform reads, in order of preference on one touch.
PLATFORM_CLICK_IDS: dict[str, tuple[str, ...]] = {
    "google": ("gclid", "gbraid", "wbraid"),
    "microsoft": ("msclkid",),
    "meta": ("fbclid",),
    "linkedin": ("li_fat_id",),
}
# Platforms that match on a click id only; the others also match on the hashed email.
CLICK_ID_REQUIRED = ("google", "microsoft")


@dataclass(frozen=True, slots=True)
class ConversionRow:
    """What every format needs of one conversion."""

    event_id: str
    conversion_name: str
    occurred_at: datetime
    value: Decimal | None
    currency: str
    click_id_name: str = ""
    click_id: str = ""
    clicked_at: datetime | None = None
    email: str = ""
    phone: str = ""


def sha256_hex(text: str) -> str:
    """SHA-256 of the UTF-8 text, as lower-case hex."""
    return hashlib.sha256(text.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """Meta's and LinkedIn's email rule: leading and trailing spaces trimmed, lower case."""
    return email.strip().lower()


def normalise_phone(phone: str, *, country_code: str = "") -> str:
    """Digits only, with the country code, no leading zeros or "+" (Meta's `ph` rule).

    "+44 844 412 4653" and "0044 844 412 4653" are international; a national number
    ("(650)555-1212", "0844 ...") loses its leading zeros and gets `country_code` in front.
    Without a country code a national number cannot be matched: "" (left out).
    """
    text = phone.strip()
    digits = re.sub(r"\D", "", text)
    if not digits:
        return ""
    if text.startswith("+") or digits.startswith("00"):
        return digits.lstrip("0")
    code = re.sub(r"\D", "", country_code)
    if not code:
        return ""
    return code + digits.lstrip("0")


def _amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value.quantize(Decimal('0.01'))}"


def google_time(at: datetime, zone: tzinfo) -> str:
    """`yyyy-MM-dd HH:mm:ss` in the file's declared time zone."""
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def google_rows(rows: list[ConversionRow], *, zone: tzinfo) -> list[list[str]]:
    """Google's click-conversion template rows; the click id goes in its own column."""
    out = []
    for row in rows:
        ids = {name: row.click_id if row.click_id_name == name else "" for name in
               ("gclid", "gbraid", "wbraid")}  # fmt: skip
        out.append(
            [
                ids["gclid"],
                ids["gbraid"],
                ids["wbraid"],
                row.conversion_name,
                google_time(row.occurred_at, zone),
                _amount(row.value),
                row.currency,
            ]
        )
    return out


def google_preamble(zone_name: str) -> list[str]:
    """The line above the header that tells Google the time zone of every Conversion Time."""
    return [f"Parameters:TimeZone={zone_name}"]


def microsoft_time(at: datetime) -> str:
    """UTC as in Microsoft's example, `4/1/2020 6:50:54 PM` (month/day/year, 12-hour clock)."""
    utc = at.astimezone(UTC)
    hour = utc.hour % 12 or 12
    half = "AM" if utc.hour < 12 else "PM"
    return f"{utc.month}/{utc.day}/{utc.year} {hour}:{utc:%M:%S} {half}"


def microsoft_rows(rows: list[ConversionRow]) -> list[list[str]]:
    """Microsoft Advertising's offline conversion rows."""
    return [
        [row.click_id, row.conversion_name, microsoft_time(row.occurred_at),
         _amount(row.value), row.currency]
        for row in rows
    ]  # fmt: skip


def fbc(fbclid: str, clicked_at: datetime) -> str:
    """Meta's click id parameter: fb.1.<click time, ms since the epoch>.<fbclid, unmodified>."""
    return f"fb.1.{int(clicked_at.timestamp() * 1000)}.{fbclid}"


def meta_event(row: ConversionRow, *, country_code: str = "") -> dict[str, Any]:
    """One Meta Conversions API server event (`data` holds a list of these)."""
    user_data: dict[str, Any] = {}
    if row.email:
        user_data["em"] = [sha256_hex(normalise_email(row.email))]
    phone = normalise_phone(row.phone, country_code=country_code)
    if phone:
        user_data["ph"] = [sha256_hex(phone)]
    if row.click_id_name == "fbclid" and row.click_id and row.clicked_at is not None:
        user_data["fbc"] = fbc(row.click_id, row.clicked_at)
    event: dict[str, Any] = {
        "event_name": row.conversion_name,
        "event_time": int(row.occurred_at.timestamp()),
        "action_source": "system_generated",
        "event_id": row.event_id,
        "user_data": user_data,
    }
    if row.value is not None:
        event["custom_data"] = {"value": float(row.value), "currency": row.currency}
    return event


def linkedin_conversion_urn(rule: str) -> str:
    """A conversion rule id as LinkedIn's URN (an URN already given is kept)."""
    rule = rule.strip()
    return rule if rule.startswith("urn:") else f"urn:lla:llaPartnerConversion:{rule}"


def linkedin_event(row: ConversionRow) -> dict[str, Any]:
    """One LinkedIn Conversions API event."""
    user_ids = []
    if row.email:
        hashed = sha256_hex(normalise_email(row.email))
        user_ids.append({"idType": "SHA256_EMAIL", "idValue": hashed})
    if row.click_id_name == "li_fat_id" and row.click_id:
        user_ids.append({"idType": "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID",
                         "idValue": row.click_id})  # fmt: skip
    event: dict[str, Any] = {
        "conversion": linkedin_conversion_urn(row.conversion_name),
        "conversionHappenedAt": int(row.occurred_at.timestamp() * 1000),
        "user": {"userIds": user_ids},
        "eventId": row.event_id,
    }
    if row.value is not None:
        event["conversionValue"] = {"currencyCode": row.currency, "amount": _amount(row.value)}
    return event


def google_click_conversion(row: ConversionRow, *, zone: tzinfo) -> dict[str, Any]:
    """One Google Ads API ClickConversion (uploadClickConversions' `conversions` list)."""
    local = row.occurred_at.astimezone(zone)
    offset = local.strftime("%z")
    conversion: dict[str, Any] = {
        row.click_id_name: row.click_id,
        "conversionAction": row.conversion_name,
        "conversionDateTime": f"{local:%Y-%m-%d %H:%M:%S}{offset[:3]}:{offset[3:]}",
        "orderId": row.event_id,
    }
    if row.value is not None:
        conversion["conversionValue"] = float(row.value)
        conversion["currencyCode"] = row.currency
    return conversion


def microsoft_offline_conversion(row: ConversionRow) -> dict[str, Any]:
    """One Microsoft Advertising OfflineConversion (ApplyOfflineConversions)."""
    conversion: dict[str, Any] = {
        "MicrosoftClickId": row.click_id,
        "ConversionName": row.conversion_name,
        "ConversionTime": row.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if row.value is not None:
        conversion["ConversionValue"] = float(row.value)
        conversion["ConversionCurrencyCode"] = row.currency
    return conversion


def upload_body(platform: str, row: ConversionRow, *, zone: tzinfo,
                country_code: str = "") -> dict[str, Any]:  # fmt: skip
    """The JSON body the scheduled upload posts for one conversion, in the platform's API."""
    if platform == "google":
        return {"conversions": [google_click_conversion(row, zone=zone)], "partialFailure": True}
    if platform == "microsoft":
        return {"OfflineConversions": [microsoft_offline_conversion(row)]}
    if platform == "meta":
        return {"data": [meta_event(row, country_code=country_code)]}
    if platform == "linkedin":
        return linkedin_event(row)
    raise ValueError(f"unknown platform {platform!r}")
