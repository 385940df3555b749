"""Readers turn one raw file into drafts (or rejects); the file's format suffix picks the reader."""

from __future__ import annotations

from builder.readers.base import Reader
from builder.readers.json import JsonLinesReader, JsonReader
from builder.readers.text import TextReader
from builder.sources import Source

READERS: dict[str, type[Reader]] = {
    ".txt": TextReader,
    ".json": JsonReader,
    ".jsonl": JsonLinesReader,
    ".ndjson": JsonLinesReader,
}


def reader_for(source: Source) -> type[Reader] | None:
    """The reader class for this file, or None when its type is not an input format."""
    return READERS.get(source.format_suffix)


__all__ = ["READERS", "Reader", "reader_for"]
