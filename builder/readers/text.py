"""Plain-text articles in the seed's format: a `date YYYY[-MM[-DD]]` header, then the body.

The header may follow leading whitespace and may share its line with the first paragraph.
A file without the header is an undated article: all of it is body. A header whose value
is not a date (`date 2021-13`) rejects the file as bad_date in the dates step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from builder.readers.base import WholeFileReader
from builder.records import Draft, Reject
from builder.sources import Source

HEADER = re.compile(r"\A\s*date[ \t]+([0-9][0-9-]*)(?=\s|\Z)[ \t]*(?:\r\n|\r|\n)?")


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
