"""Plain-text articles in the seed's format: a `date YYYY[-MM[-DD]]` header, then the body.

The header may follow leading whitespace and may share its line with the first paragraph. A
day may carry a time of day (`date 2021-02-03T10:00:00+01:00`, `date 2021-02-03 10:00`): the
time belongs to the header, and so do the spaces of any kind (a non-breaking space) after it.
A file without the header is an undated article: all of it is body. A header whose value
is not a date (`date 2021-13`) rejects the file as bad_date in the dates step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from builder.readers.base import WholeFileReader
from builder.records import Draft, Reject
from builder.sources import Source

HEADER = re.compile(
    r"\A\s*date[ \t]+"
    r"(\d[\d-]*(?:[T ]\d{1,2}:[\d:.,]*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?)"
    r"(?=[\s\u200b\u2060\ufeff]|\Z)(?:[^\S\r\n]|[\u200b\u2060\ufeff])*(?:\r\n|\r|\n)?"
)


def split_header(text: str) -> tuple[str | None, str]:
    """(date value or None, body) of a seed-format text."""
    match = HEADER.match(text)
    if match is None:
        return None, text
    return match.group(1), text[match.end() :]


class TextReader(WholeFileReader):
    def parse(self, source: Source, sha256: str, text: str) -> Iterator[Draft | Reject]:
        date, body = split_header(text)
        yield Draft(
            source_path=source.rel, source_record=1, source_sha256=sha256, text=body, date=date
        )
