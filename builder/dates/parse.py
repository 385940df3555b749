"""Machine-written dates at the precision the source stated: a month stays a month.

Accepted: 'YYYY', 'YYYY-MM', 'YYYY-MM-DD', and timestamps that start with 'YYYY-MM-DD'
followed by 'T' or a space and a valid time of day ('HH:MM', seconds and fractions optional),
with an optional 'Z' or UTC offset ('+01', '+0100', '+01:00'). The date keeps day precision;
the time of day is kept (as `date_time`) only when the offset is given: none is assumed.
Digits of any script (Arabic-Indic '٢٠٢١', full-width '２０２１') are read as the ASCII digits
they stand for.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import NamedTuple

from builder.outcomes import RejectReason
from schema import DatePrecision

_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", re.ASCII)
_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?"
    r"(Z|([+-])(\d{2})(?::?(\d{2}))?)?",
    re.ASCII,
)
_MAX_LENGTH = 64  # longer than any timestamp: refused before any work


class DateError(ValueError):
    pass


class Stamp(NamedTuple):
    """A parsed date: ISO text at its own precision, and the time with its UTC offset if given."""

    date: str
    precision: DatePrecision
    date_time: str | None = None  # 'YYYY-MM-DDTHH:MM:SS+HH:MM'


def ascii_digits(value: str) -> str:
    """Decimal digits of any script as ASCII digits; every other character unchanged."""
    return "".join(
        str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch for ch in value
    )


def date_time_of(
    raw: str, date: str, clock: tuple[int, int, int], zone: tuple[str, int, int] | None
) -> str | None:
    """'YYYY-MM-DDTHH:MM:SS+HH:MM' for a valid time with its offset (sign, hours, minutes); None
    without an offset. DateError for an impossible time or offset."""
    try:
        dt.time(*clock)
    except ValueError as exc:
        raise DateError(f"{raw!r} has an impossible time of day: {exc}") from exc
    if zone is None:
        return None
    sign, hours, minutes = zone
    if hours > 23 or minutes > 59:
        raise DateError(f"{raw!r} has an impossible UTC offset")
    hour, minute, second = clock
    return f"{date}T{hour:02d}:{minute:02d}:{second:02d}{sign}{hours:02d}:{minutes:02d}"


def _number(text: str | None) -> int:
    return int(text) if text else 0


def checked(raw: str, year: int, month: int | None, day: int | None) -> Stamp:
    """The date at the precision given (month and day may be None); DateError if impossible."""
    try:
        dt.date(year, 1 if month is None else month, 1 if day is None else day)
    except ValueError as exc:
        raise DateError(f"{raw!r} is not a real date: {exc}") from exc
    if year < 1000:
        raise DateError(f"{raw!r} has an implausible year")
    if day is not None and month is not None:
        return Stamp(f"{year:04d}-{month:02d}-{day:02d}", DatePrecision.DAY)
    if month is not None:
        return Stamp(f"{year:04d}-{month:02d}", DatePrecision.MONTH)
    return Stamp(f"{year:04d}", DatePrecision.YEAR)


def parse_stamp(raw: str) -> Stamp:
    """The date (and time with offset, when given) of an ISO value; DateError for anything else."""
    if len(raw) > _MAX_LENGTH:
        raise DateError(f"{raw[:_MAX_LENGTH]!r}... is too long to be a date")
    value = ascii_digits(raw.strip())
    stamp = _TIMESTAMP.fullmatch(value)
    date_time = None
    if stamp:
        value, hour, minute, second, zone, sign, off_hour, off_minute = stamp.groups()
        clock = (int(hour), int(minute), _number(second))
        offset = None if zone is None else (sign or "+", _number(off_hour), _number(off_minute))
        date_time = date_time_of(raw, value, clock, offset)
    match = _DATE.fullmatch(value)
    if match is None:
        raise DateError(f"{raw!r} is not a date (expected YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = (None if part is None else int(part) for part in match.groups())
    return checked(raw, year or 0, month, day)._replace(date_time=date_time)


def parse_date(raw: str) -> tuple[str, DatePrecision]:
    """(ISO string at its own precision, precision); DateError for anything else or impossible
    dates."""
    stamp = parse_stamp(raw)
    return stamp.date, stamp.precision


def is_after(value: str, today: dt.date) -> bool:
    """Whether a date of any precision starts after `today` (2026-11 is not after 2026-11-26)."""
    return value > today.isoformat()[: len(value)]


class Verdict(NamedTuple):
    """A usable stamp, or why the raw value is not one."""

    stamp: Stamp | None
    failure: tuple[RejectReason, str] | None = None


def judge_date(raw: str, today: dt.date) -> Verdict:
    """Verdict(stamp) for a usable date, else Verdict(None, (reason, detail))."""
    try:
        stamp = parse_stamp(raw)
    except DateError as exc:
        return Verdict(None, (RejectReason.BAD_DATE, str(exc)))
    if is_after(stamp.date, today):
        return Verdict(
            None, (RejectReason.FUTURE_DATE, f"{stamp.date} is after the build day {today}")
        )
    return Verdict(stamp)
