"""Publication dates at the precision the source stated: a month stays a month.

Accepted: 'YYYY', 'YYYY-MM', 'YYYY-MM-DD', and timestamps that start with 'YYYY-MM-DD'
followed by 'T' or a space (kept at day precision; the time of day is dropped).
"""

from __future__ import annotations

import datetime as dt
import re

from builder.records import Draft, Reject, RejectReason
from builder.steps import Step
from schema import DatePrecision

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)


class DateError(ValueError):
    pass


def parse_date(raw: str) -> tuple[str, DatePrecision]:
    """(ISO string at its own precision, precision); DateError for anything else or impossible dates."""
    value = raw.strip()
    stamp = _TIMESTAMP.match(value)
    if stamp:
        value = stamp.group(1)
    match = _DATE.match(value)
    if match is None:
        raise DateError(f"{raw!r} is not a date (expected YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        dt.date(year, month or 1, day or 1)
    except ValueError as exc:
        raise DateError(f"{raw!r} is not a real date: {exc}") from None
    if year < 1000:
        raise DateError(f"{raw!r} has an implausible year")
    precision = DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR
    return value, precision


def is_after(value: str, today: dt.date) -> bool:
    """Whether a date of any precision starts after `today` (2026-11 is not after 2026-11-26)."""
    return value > today.isoformat()[: len(value)]


class ParseDate(Step):
    """Parse the raw date; reject impossible dates and dates after `today` (the build day, UTC)."""

    def __init__(self, today: dt.date):
        self.today = today

    def process(self, draft: Draft) -> Draft | Reject:
        if draft.date is None:
            return draft
        try:
            draft.date, precision = parse_date(draft.date)
        except DateError as exc:
            return Reject.of(draft, RejectReason.BAD_DATE, str(exc))
        if is_after(draft.date, self.today):
            return Reject.of(
                draft, RejectReason.FUTURE_DATE, f"{draft.date} is after the build day {self.today}"
            )
        draft.date_precision = precision.value
        return draft
