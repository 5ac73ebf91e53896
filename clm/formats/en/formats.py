"""English display formats: one date and one date-time format everywhere ("7 Jan 2026",
"7 Jan 2026, 14:05"), day first and the month as a word so no reader mistakes 03/12 for 12/03.
Input formats stay Django's (ISO dates are always accepted)."""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "M Y"
TIME_FORMAT = "H:i"
FIRST_DAY_OF_WEEK = 1  # weeks in CLM's figures start on Monday
