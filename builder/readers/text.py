"""Plain-text files: one article each, its text handed whole to the seed-format content step."""

from __future__ import annotations

from collections.abc import Iterator

from builder.batch import RawRecord
from builder.readers.base import WholeFileContainer
from builder.sources import Source


class TextReader(WholeFileContainer):
    content = "seed_text"

    def split(self, source: Source, sha256: str, text: str) -> Iterator[RawRecord]:
        yield RawRecord(source.rel, 1, sha256, text, len(text))
