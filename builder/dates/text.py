"""Dates written for people ("17 febbraio 2021", "Feb. 17, 2021", "17.02.2021", "February 2021")
and the looser machine values of pages ("2021/02/17", "Wed, 17 Feb 2021 10:00:00 GMT").

Each keeps the precision it states: a month name with a year is a month. A date with slashes
or dashes whose day and month could be swapped (03/04/2021) is dropped, never guessed; a date
right after a copyright sign or word is not a publication date at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from builder.dates.months import MONTHS, month_numbers
from builder.dates.parse import DateError, Stamp, ascii_digits, checked, date_time_of, parse_stamp
from builder.dates.phrases import UPDATED

_NUMBERS = month_numbers()
_FULL_NAMES = {
    name
    for months in MONTHS.values()
    for names in months
    for name in names
    if name == names[0] or not any(o != name and o.startswith(name) for o in names)
}  # only these make a month with a year alone ("may 2021"): "mar 2021" could be anything


def _alternation(names) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


_ANY = _alternation(_NUMBERS)
_FULL = _alternation(_FULL_NAMES)
_ZONE = r"(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)"
_CLOCK = r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?"

# One pattern, alternatives tried at each position, so the first date in the text wins.
_HUMAN = re.compile(
    rf"(?<![\w.])(?:"
    rf"(?P<d1>\d{{1,2}})(?:\.|º|°|er|st|nd|rd|th)?[\s-]*(?:de\s+|of\s+)?"
    rf"(?P<m1>{_ANY})\.?,?[\s-]*(?:de\s+)?(?P<y1>\d{{4}})"
    rf"|(?P<m2>{_ANY})\.?\s*(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{{4}})"
    rf"|(?P<y3>\d{{4}})\s*[年년]\s*(?P<m3>\d{{1,2}})\s*[月월]"
    rf"\s*(?:(?P<d3>\d{{1,2}})\s*[日일])?"
    rf"|(?P<y4>\d{{4}})[-/.](?P<m4>\d{{1,2}})[-/.](?P<d4>\d{{1,2}})"
    rf"|(?P<d5>\d{{1,2}})\.\s?(?P<m5>\d{{1,2}})\.\s?(?P<y5>\d{{4}})"
    rf"|(?P<a6>\d{{1,2}})[/-](?P<b6>\d{{1,2}})[/-](?P<y6>\d{{4}})"
    rf"|(?P<m7>{_FULL})\s+(?:de\s+)?(?P<y7>\d{{4}})"
    rf")(?![\w])",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")
_BEFORE_YEAR = 40  # "17th of September, " or "Wednesday 17 de septiembre de " before the year
_AFTER_YEAR = 12  # "年2月17日" or "-02-17" after it
UPDATE_REACH = 48  # characters before a date searched for an update word
_COPYRIGHT = re.compile(r"(?:©|&copy|\(c\)|copyright|urheberrecht)\W*$", re.IGNORECASE)
_ISO_START = re.compile(
    rf"(\d{{4}})[-/.](\d{{2}})[-/.](\d{{2}})(?:[T ]{_CLOCK}\s*{_ZONE}?)?", re.IGNORECASE
)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:\d{6})?(?!\d)")
_RFC_2822 = re.compile(
    rf"(?:\w+,\s*)?(\d{{1,2}})\s+(\w+)\.?\s+(\d{{4}})\s+{_CLOCK}\s*{_ZONE}", re.IGNORECASE
)
_SHORT_YEAR = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{2})(?![\d.])")
CENTURY_TURN = 90  # a two-digit year from here is in the 1990s, below it in the 2000s
MAX_VALUE = 200  # a machine value longer than this is not a date


def _month(name: str) -> int:
    return _NUMBERS[name.lower()]


def _fields(match: re.Match) -> tuple[int, int | None, int | None] | None:
    """(year, month, day) of one match; None when day and month could be swapped."""
    g = match.groupdict()
    if g["y1"]:
        return int(g["y1"]), _month(g["m1"]), int(g["d1"])
    if g["y2"]:
        return int(g["y2"]), _month(g["m2"]), int(g["d2"])
    if g["y3"]:
        return int(g["y3"]), int(g["m3"]), None if g["d3"] is None else int(g["d3"])
    if g["y4"]:
        return int(g["y4"]), int(g["m4"]), int(g["d4"])
    if g["y5"]:
        return int(g["y5"]), int(g["m5"]), int(g["d5"])
    if g["y6"]:
        first, second = int(g["a6"]), int(g["b6"])
        if first != second and first <= 12 and second <= 12:
            return None  # 03/04/2021: March 4 or 3 April; never guessed
        day, month = (first, second) if first > 12 or first == second else (second, first)
        return int(g["y6"]), month, day
    return int(g["y7"]), _month(g["m7"]), None


def _matches(text: str) -> Iterator[re.Match]:
    """Date matches in order, found around each year: every date form has a four-digit year, so
    the costly pattern only runs on a few dozen characters per year, not on the whole text."""
    done = 0
    for year in _YEAR.finditer(text):
        start = max(done, year.start() - _BEFORE_YEAR)
        end = min(len(text), year.end() + _AFTER_YEAR)
        while end < len(text) and text[end].isalnum():  # never cut a number or a word
            end += 1
        for match in _HUMAN.finditer(text, start, end):
            done = match.end()
            yield match


def text_dates(text: str) -> Iterator[Stamp]:
    """The dates of a text in order, each at the precision written; no year alone, no copyright,
    no date an update word stands in front of ("Updated June 13, 2019")."""
    text = ascii_digits(text)
    for match in _matches(text):
        if _COPYRIGHT.search(text, max(0, match.start() - 16), match.start()):
            continue
        if UPDATED.search(text, max(0, match.start() - UPDATE_REACH), match.start()):
            continue
        fields = _fields(match)
        if fields is None:
            continue
        try:
            yield checked(match.group(0), *fields)
        except DateError:
            continue


def short_year_dates(text: str) -> Iterator[Stamp]:
    """Days written with a two-digit year, day first as dotted dates are ('30.10.23'). Only for
    text the page marks as a date: elsewhere '1.2.23' may be a version or a score."""
    for match in _SHORT_YEAR.finditer(ascii_digits(text)):
        day, month, year = map(int, match.groups())
        try:
            yield checked(
                match.group(0), year + (1900 if year >= CENTURY_TURN else 2000), month, day
            )
        except DateError:
            continue


def _with_clock(raw: str, stamp: Stamp, match: re.Match, first: int) -> Stamp:
    """The stamp with its time when the zone is given (GMT and UTC are +00:00)."""
    hour, minute, second, zone = match.group(first, first + 1, first + 2, first + 3)
    clock = (int(hour), int(minute), int(second or 0))
    offset = None
    if zone and zone.upper() in ("Z", "UTC", "GMT"):
        offset = ("+", 0, 0)
    elif zone:
        digits = zone[1:].replace(":", "")
        offset = (zone[0], int(digits[:2]), int(digits[2:] or 0))
    return stamp._replace(date_time=date_time_of(raw, stamp.date, clock, offset))


def value_stamp(raw: str) -> Stamp | None:
    """The date of a page's machine value (meta content, JSON-LD, datetime attribute), or None."""
    value = ascii_digits(raw[:MAX_VALUE].strip())
    try:
        return parse_stamp(value)
    except DateError:
        pass
    try:
        if match := _ISO_START.match(value):
            stamp = checked(raw, *map(int, match.group(1, 2, 3)))
            return _with_clock(raw, stamp, match, 4) if match.group(4) else stamp
        if match := _COMPACT.fullmatch(value):
            return checked(raw, *map(int, match.group(1, 2, 3)))
        match = _RFC_2822.match(value)
        if match and match.group(2).lower() in _NUMBERS:
            day, name, year = match.group(1, 2, 3)
            stamp = checked(raw, int(year), _month(name), int(day))
            return _with_clock(raw, stamp, match, 4)
    except DateError:
        return None
    return next(text_dates(value), None)
