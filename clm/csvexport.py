"""CSV downloads that spreadsheets cannot turn into formulas."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpResponse

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")


def safe_cell(value: Any) -> Any:
    """A cell as text a spreadsheet shows as text: leading =, +, -, @, tab, CR are quoted.

    Numbers stay numbers (a negative ROI is not a formula); only text is neutralised.
    """
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def csv_response(
    filename: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    preamble: Iterable[Sequence[Any]] = (),
    bom: bool = True,
) -> HttpResponse:
    """An attachment response with every cell neutralised.

    `preamble` lines come before the header (an upload template's parameters line); `bom`
    False leaves out the byte-order mark for files read by machines rather than Excel.
    """
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    safe_name = "".join(c for c in filename if c.isalnum() or c in "-_.") or "export.csv"
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    if bom:
        response.write("\ufeff")  # Excel reads UTF-8 only with a byte-order mark
    writer = csv.writer(response)
    for line in preamble:
        writer.writerow([safe_cell(v) for v in line])
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return response
