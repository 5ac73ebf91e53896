"""Indonesian display formats, in the same shape as English ("7 Des 2026", "7 Des 2026 14.05"):
the month abbreviations and the time separator are Indonesian. Input formats stay Django's."""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y H.i"
SHORT_DATETIME_FORMAT = "j M Y H.i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "M Y"
TIME_FORMAT = "H.i"
FIRST_DAY_OF_WEEK = 1
