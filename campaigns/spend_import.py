"""Ad-spend CSV import: a generic layout plus Google Ads, Meta Ads, Microsoft Advertising and
LinkedIn Campaign Manager cost exports.

Microsoft Advertising: a campaign performance report downloaded as CSV, whose header row is the
report's column names (TimePeriod, CampaignName, Spend, Impressions, Clicks, CurrencyCode:
the CampaignPerformanceReportColumn value set) below the "Report Name: ..." lines and above
the copyright line. LinkedIn Campaign Manager: the campaign performance export ("Start Date
(in UTC)", "Campaign Name", "Currency", "Total Spent", "Impressions", "Clicks") below its
report title lines, dates as month/day/year.

The whole file is parsed and checked before anything is written; one bad row rejects the file
with a row-by-row report. Writing is an upsert on (campaign, date, source), so importing the
same file again changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings

from campaigns.models import Campaign
from campaigns.services import SpendRow, UpsertResult, spend_upsert

MAX_ERRORS_LISTED = 200

# Header aliases (lower-cased, spaces collapsed) -> our column.
ALIASES: dict[str, str] = {
    "date": "date", "day": "date", "reporting starts": "date", "reporting_starts": "date",
    "date_start": "date", "segments.date": "date",
    "campaign": "campaign", "campaign name": "campaign", "campaign_name": "campaign",
    "utm_campaign": "campaign", "campaign.name": "campaign",
    "cost": "cost", "amount": "cost", "spend": "cost", "amount spent": "cost",
    "metrics.cost_micros": "cost_micros", "cost_micros": "cost_micros",
    "impressions": "impressions", "impr.": "impressions", "impr": "impressions",
    "metrics.impressions": "impressions",
    "clicks": "clicks", "link clicks": "clicks", "clicks (all)": "clicks",
    "metrics.clicks": "clicks",
    "currency": "currency", "currency code": "currency", "customer.currency_code": "currency",
    # Microsoft Advertising (report column names) and LinkedIn Campaign Manager.
    "timeperiod": "date", "gregorian date": "date", "campaignname": "campaign",
    "currencycode": "currency", "start date (in utc)": "date", "total spent": "cost",
}  # fmt: skip
# Layouts whose dates are written month/day/year (ISO dates are read first in any layout).
_US_DATES = {"microsoft_ads", "linkedin_ads"}
_CURRENCY_IN_HEADER = re.compile(r"^(amount spent|cost|spend) \(([a-z]{3})\)$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%Y%m%d")
_NUMBER_JUNK = re.compile(r"[\s,$€£¥₹]|^[A-Z]{3}\s*|Rp")


class SpendImportError(ValueError):
    """The file was rejected; `report` says why, row by row."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(report.summary())
        self.report = report


@dataclass
class ImportReport:
    """What an import found and did."""

    layout: str = "generic"
    source: str = "csv"
    rows: int = 0
    skipped_summary_rows: list[int] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    result: UpsertResult | None = None
    created_campaigns: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.errors:
            lines = [f"rejected: {len(self.errors)} problem(s), nothing imported"]
            lines += [f"  row {n}: {msg}" for n, msg in self.errors[:MAX_ERRORS_LISTED]]
            if len(self.errors) > MAX_ERRORS_LISTED:
                lines.append(f"  ... and {len(self.errors) - MAX_ERRORS_LISTED} more")
            return "\n".join(lines)
        r = self.result or UpsertResult(0, 0, 0)
        text = (
            f"{self.layout} layout, {self.rows} rows: {r.created} created, {r.updated} updated, "
            f"{r.unchanged} unchanged (source {self.source!r})"
        )
        if self.skipped_summary_rows:
            text += f"; skipped total rows {', '.join(map(str, self.skipped_summary_rows))}"
        if self.created_campaigns:
            text += f"; registered campaigns: {', '.join(self.created_campaigns)}"
        return text


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="strict")


def _norm_header(cell: str) -> str:
    return " ".join(cell.strip().strip('"').lower().split())


def _find_header(lines: list[list[str]]) -> int:
    """Exports put report titles above the header: the header is the first row naming a
    date, a campaign and a cost column."""
    for index, row in enumerate(lines[:20]):
        cols = set()
        for cell in row:
            name = _norm_header(cell)
            m = _CURRENCY_IN_HEADER.match(name)
            cols.add("cost" if m else ALIASES.get(name))
        if {"date", "campaign"} <= cols and ({"cost", "cost_micros"} & cols):
            return index
    raise ValueError("no header row with date, campaign and cost columns in the first 20 rows")


def _parse_date(text: str, us: bool = False) -> date:
    text = text.strip()
    for fmt in (*_DATE_FORMATS, "%m/%d/%Y") if us else _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"date {text!r} is not a date (use YYYY-MM-DD)")


def _parse_decimal(text: str, what: str) -> Decimal:
    cleaned = _NUMBER_JUNK.sub("", text.strip())
    if cleaned in ("", "--", "-"):
        return Decimal(0)
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{what} {text!r} is not a number")
    if value < 0:
        raise ValueError(f"{what} {text!r} is negative")
    return value


def _parse_int(text: str, what: str) -> int:
    value = _parse_decimal(text, what)
    if value != value.to_integral_value():
        raise ValueError(f"{what} {text!r} is not a whole number")
    return int(value)


def _campaign_index() -> tuple[dict[str, int], dict[str, list[int]]]:
    by_utm: dict[str, int] = {}
    by_name: dict[str, list[int]] = {}
    for pk, utm, name, src, med in Campaign.objects.values_list(
        "id", "utm_campaign", "name", "utm_source", "utm_medium"
    ):
        if not src and not med:
            by_utm.setdefault(utm, pk)
        by_name.setdefault(name.strip().lower(), []).append(pk)
    return by_utm, by_name


def import_spend(
    data: bytes,
    *,
    source: str | None = None,
    create_campaigns: bool = False,
    currency: str | None = None,
    max_rows: int = 1_000_000,
) -> ImportReport:
    """Parse a spend CSV and upsert it whole, or raise SpendImportError naming every bad row."""
    report = ImportReport()
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        report.errors.append((1, "the file is not text (UTF-8, UTF-16 or Windows-1252)"))
        raise SpendImportError(report) from None
    if "\x00" in text:
        report.errors.append((1, "the file contains NUL bytes"))
        raise SpendImportError(report)
    sample = text[:4096]
    delimiter = max(("\t", ",", ";"), key=sample.count) if sample else ","
    lines = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    try:
        header_at = _find_header(lines)
    except ValueError as exc:
        report.errors.append((1, str(exc)))
        raise SpendImportError(report) from None
    header = [_norm_header(c) for c in lines[header_at]]
    columns: dict[str, int] = {}
    header_currency = None
    for index, name in enumerate(header):
        m = _CURRENCY_IN_HEADER.match(name)
        key = "cost" if m else ALIASES.get(name)
        if m:
            header_currency = m.group(2).upper()
        if key and key not in columns:
            columns[key] = index
    names = set(header)
    if {"reporting starts", "amount spent"} & names or (
        header_currency and "campaign name" in names
    ):
        report.layout, default_source = "meta_ads", "meta_ads"
    elif {"day", "impr.", "currency code"} & names or "metrics.cost_micros" in names:
        report.layout, default_source = "google_ads", "google_ads"
    elif {"timeperiod", "campaignname", "currencycode"} & names:
        report.layout, default_source = "microsoft_ads", "microsoft_ads"
    elif {"start date (in utc)", "total spent"} & names:
        report.layout, default_source = "linkedin_ads", "linkedin_ads"
    else:
        report.layout, default_source = "generic", "csv"
    report.source = (source or default_source)[:40]
    fallback_currency = (currency or header_currency or settings.CLM_CURRENCY).upper()

    by_utm, by_name = _campaign_index()
    parsed: list[tuple[int, str, date, Decimal, str, int, int]] = []
    body = lines[header_at + 1 :]
    if len(body) > max_rows:
        report.errors.append((header_at + 1, f"more than {max_rows} rows; split the file"))
        raise SpendImportError(report)
    for offset, row in enumerate(body):
        number = header_at + 2 + offset  # 1-based line number in the file
        if not any(cell.strip() for cell in row):
            continue
        first = row[0].strip().lower() if row else ""
        # Totals, and the copyright line Microsoft's reports end with.
        if first.startswith(("total", "\u00a9")):
            report.skipped_summary_rows.append(number)
            continue
        report.rows += 1

        def cell(key: str, row: list[str] = row) -> str:
            index = columns.get(key)
            return row[index] if index is not None and index < len(row) else ""

        try:
            day = _parse_date(cell("date"), us=report.layout in _US_DATES)
            campaign = cell("campaign").strip()
            if not campaign:
                raise ValueError("campaign is empty")
            if "cost" in columns:
                amount = _parse_decimal(cell("cost"), "cost")
            else:
                amount = _parse_decimal(cell("cost_micros"), "cost_micros") / Decimal(1_000_000)
            amount = amount.quantize(Decimal("0.01"))
            if amount >= Decimal("1e12"):
                raise ValueError(f"cost {amount} is too large")
            row_currency = (cell("currency").strip() or fallback_currency).upper()
            if not re.fullmatch(r"[A-Z]{3}", row_currency):
                raise ValueError(f"currency {row_currency!r} is not a 3-letter code")
            impressions = _parse_int(cell("impressions"), "impressions")
            clicks = _parse_int(cell("clicks"), "clicks")
        except ValueError as exc:
            report.errors.append((number, str(exc)))
            continue
        parsed.append((number, campaign, day, amount, row_currency, impressions, clicks))

    rows: list[SpendRow | _Pending] = []
    unknown: list[str] = []
    for number, campaign, day, amount, row_currency, impressions, clicks in parsed:
        key = campaign.lower()
        pk = by_utm.get(key)
        if pk is None:
            named = by_name.get(key, [])
            if len(named) > 1:
                report.errors.append((number, f"campaign name {campaign!r} is ambiguous"))
                continue
            pk = named[0] if named else None
        if pk is not None:
            rows.append(SpendRow(pk, day, amount, row_currency, impressions, clicks))
        elif create_campaigns:
            if key not in unknown:
                unknown.append(key)
            rows.append(_Pending(key, SpendRow(0, day, amount, row_currency, impressions, clicks)))
        else:
            report.errors.append((number, f"unknown campaign {campaign!r}"))
    if report.errors:
        raise SpendImportError(report)

    from django.db import transaction

    with transaction.atomic():
        created: dict[str, int] = {}
        for name in unknown:
            from campaigns.services import campaign_save

            made = campaign_save(
                campaign=Campaign(name=name[:200], utm_campaign=name[:255], owner=None)
            )
            created[name] = made.pk
            report.created_campaigns.append(name)
        final = [
            SpendRow(created[r.campaign], *r.row_fields()) if isinstance(r, _Pending) else r
            for r in rows
        ]
        report.result = spend_upsert(rows=final, source=report.source)
    return report


@dataclass(frozen=True, slots=True)
class _Pending:
    """A row whose campaign is registered by this import (create_campaigns=True)."""

    campaign: str
    row: SpendRow

    def row_fields(self) -> tuple[date, Decimal, str, int, int]:
        r = self.row
        return (r.date, r.amount, r.currency, r.impressions, r.clicks)
