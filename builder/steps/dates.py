"""Publication dates at the precision the source stated: a month stays a month.

Accepted: 'YYYY', 'YYYY-MM', 'YYYY-MM-DD', and timestamps that start with 'YYYY-MM-DD'
followed by 'T' or a space and a valid time of day ('HH:MM', seconds and fractions optional),
with an optional 'Z' or UTC offset ('+01', '+0100', '+01:00'). The date keeps day precision;
the time of day is checked, then dropped. Digits of any script (Arabic-Indic '٢٠٢١',
full-width '２０２１') are read as the ASCII digits they stand for.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import pyarrow as pa
import pyarrow.compute as pc

from builder.batch import Batch, Verdicts, with_columns
from builder.records import RejectReason
from builder.steps.base import Step
from schema import DatePrecision

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", re.ASCII)
_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?"
    r"(?:Z|[+-](\d{2})(?::?(\d{2}))?)?",
    re.ASCII,
)
_MAX_LENGTH = 64  # longer than any timestamp: refused before any work


class DateError(ValueError):
    pass


def _ascii_digits(value: str) -> str:
    """Decimal digits of any script as ASCII digits; every other character unchanged."""
    return "".join(
        str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch for ch in value
    )


def _check_time(raw: str, hour: str, minute: str, second: str | None, offset: tuple) -> None:
    off_hour, off_minute = (int(v) if v else 0 for v in offset)
    if off_hour > 23 or off_minute > 59:
        raise DateError(f"{raw!r} has an impossible UTC offset")
    try:
        dt.time(int(hour), int(minute), int(second or 0))
    except ValueError as exc:
        raise DateError(f"{raw!r} has an impossible time of day: {exc}") from None


def parse_date(raw: str) -> tuple[str, DatePrecision]:
    """(ISO string at its own precision, precision); DateError for anything else or impossible dates."""
    if len(raw) > _MAX_LENGTH:
        raise DateError(f"{raw[:_MAX_LENGTH]!r}... is too long to be a date")
    value = _ascii_digits(raw.strip())
    stamp = _TIMESTAMP.fullmatch(value)
    if stamp:
        value, hour, minute, second, *offset = stamp.groups()
        _check_time(raw, hour, minute, second, tuple(offset))
    match = _DATE.fullmatch(value)
    if match is None:
        raise DateError(f"{raw!r} is not a date (expected YYYY, YYYY-MM or YYYY-MM-DD)")
    year_text, month_text, day_text = match.groups()
    year = int(year_text)
    month, day = (int(part) if part else None for part in (month_text, day_text))
    try:
        dt.date(year, 1 if month is None else month, 1 if day is None else day)
    except ValueError as exc:
        raise DateError(f"{raw!r} is not a real date: {exc}") from None
    if year < 1000:
        raise DateError(f"{raw!r} has an implausible year")
    precision = DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR
    return value, precision


def is_after(value: str, today: dt.date) -> bool:
    """Whether a date of any precision starts after `today` (2026-11 is not after 2026-11-26)."""
    return value > today.isoformat()[: len(value)]


Verdict = tuple[str | None, str | None, tuple[RejectReason, str] | None]


def judge_date(raw: str, today: dt.date) -> Verdict:
    """(date, precision, None) for a usable date, else (None, None, (reason, detail))."""
    try:
        date, precision = parse_date(raw)
    except DateError as exc:
        return None, None, (RejectReason.BAD_DATE, str(exc))
    if is_after(date, today):
        return None, None, (RejectReason.FUTURE_DATE, f"{date} is after the build day {today}")
    return date, precision.value, None


class ParseDate(Step):
    """Parse the raw date; reject impossible dates and dates after `today` (the build day, UTC).

    Each distinct raw value is judged once per batch: a feed repeats the same dates many times.
    """

    name = "dates"

    def process(self, batch: Batch) -> Batch:
        table = batch.table
        raw = table["raw_date"].combine_chunks()
        distinct = pc.unique(raw).drop_null()
        verdicts = [judge_date(value, self.context.today) for value in distinct.to_pylist()]
        which = pc.index_in(raw, distinct)
        slots = pc.fill_null(which, -1).to_numpy(zero_copy_only=False)
        rejected = Verdicts(table.num_rows)
        for slot, (_, _, failure) in enumerate(verdicts):
            if failure is not None:
                rejected.reject(slots == slot, *failure)
        table = with_columns(
            table,
            date=pc.take(pa.array([v[0] for v in verdicts], pa.string()), which),
            date_precision=pc.take(pa.array([v[1] for v in verdicts], pa.string()), which),
        )
        return rejected.apply(table)
