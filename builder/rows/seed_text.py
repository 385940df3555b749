"""The `seed_text` row maker: plain-text articles in the seed's format (a `date` header, then
the body)."""

from __future__ import annotations

import re
from typing import Any

from builder.records import RawRecord
from builder.rows.base import RowMaker
from schema import DateSource

HEADER = re.compile(
    r"\A\s*date[ \t]+"
    r"(\d[\d-]*(?:[T ]\d{1,2}:[\d:.,]*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?)"
    r"(?=[\s\u200b\u2060\ufeff]|\Z)(?:[^\S\r\n]|[\u200b\u2060\ufeff])*(?:\r\n|\r|\n)?"
)

# A header line with no value, only spaces: the text is undated, and the line is no part of it.
BLANK_HEADER = re.compile(r"\A\s*date(?:[^\S\r\n]|[\u200b\u2060\ufeff])+(?:\r\n|\r|\n|\Z)")


def split_header(text: str) -> tuple[str | None, str]:
    """(date value or None, body) of a seed-format text."""
    match = HEADER.match(text)
    if match is not None:
        return match.group(1), text[match.end() :]
    blank = BLANK_HEADER.match(text)
    return None, text[blank.end() :] if blank else text


class SeedText(RowMaker):
    """Plain-text articles in the seed's format: a `date YYYY[-MM[-DD]]` header, then the body.

    The header may follow leading whitespace and may share its line with the first paragraph. A
    day may carry a time of day (`date 2021-02-03T10:00:00+01:00`, `date 2021-02-03 10:00`): the
    time belongs to the header, and so do the spaces of any kind (a non-breaking space) after it.
    A file without the header is an undated article: all of it is body; so is one whose header
    line holds only spaces (the line is dropped). A header whose value is not a date (`date 2021-13`) rejects the file as bad_date in the dates step.
    """

    name = "seed_text"
    columns = ("text", "raw_date", "date_source")

    def row(self, record: RawRecord) -> dict[str, Any]:
        date, body = split_header(record.payload)
        return {"text": body, "raw_date": date, "date_source": date and DateSource.HEADER}
