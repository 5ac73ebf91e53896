"""clm.bulk's COPY text: what pandas' to_csv would write, formatted per column."""

import io
from datetime import date

import numpy as np
import pandas as pd

from clm import bulk


def _read(text):
    return pd.read_csv(
        io.StringIO(text), sep="\t", header=None, na_values=["\\N"], keep_default_na=False
    )


def test_copy_text_writes_the_values_to_csv_writes():
    frame = pd.DataFrame(
        {
            "id": np.array([1, 2, 3], dtype=np.int64),
            "campaign": pd.array([7, None, 7], dtype="Int64"),
            "share": [0.1, 1 / 3, 0.1],
            "model": ["linear", "markov", "linear"],
            "day": [date(2026, 1, 31), date(2026, 2, 1), None],
            "at": pd.to_datetime(
                ["2026-01-31 23:59:59.123456", "2026-02-01", "2026-02-02"],
                utc=True,
                format="ISO8601",
            ),
            "flag": [True, False, True],
        }
    )  # fmt: skip
    text = bulk.copy_text(frame)
    assert text.splitlines() == [
        "1\t7\t0.1\tlinear\t2026-01-31\t2026-01-31T23:59:59.123456+00:00\tt",
        "2\t\\N\t0.3333333333333333\tmarkov\t2026-02-01\t2026-02-01T00:00:00.000000+00:00\tf",
        "3\t7\t0.1\tlinear\t\\N\t2026-02-02T00:00:00.000000+00:00\tt",
    ]
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N", sep="\t")
    ours, theirs = _read(text), _read(buffer.getvalue())
    for column in (5,):  # times: ISO "T" here, a space there; the same instants
        ours[column] = pd.to_datetime(ours[column], utc=True, format="ISO8601")
        theirs[column] = pd.to_datetime(theirs[column], utc=True, format="ISO8601")
    ours[6], theirs[6] = ours[6] == "t", theirs[6]
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)


def test_copy_text_leaves_text_that_needs_quoting_to_to_csv():
    for value in ('say "hi"', "tab\there", "two\nlines", "back\\slash"):
        assert bulk.copy_text(pd.DataFrame({"name": [value]})) is None
    assert bulk.copy_text(pd.DataFrame({"x": [float("inf")]})) is None
