"""Plain-text files: one article each, its text handed whole to the seed-format row maker."""

from __future__ import annotations

from collections.abc import Iterator

from builder.inputs.discover import Source
from builder.readers.base import WholeFileReader
from builder.records import RawRecord


class TextReader(WholeFileReader):
    rows = "seed_text"

    def split(self, source: Source, sha256: str, text: str) -> Iterator[RawRecord]:
        yield RawRecord(source.rel, 1, sha256, text, len(text))
