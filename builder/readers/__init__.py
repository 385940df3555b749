"""Readers turn one raw file into raw records (or rejects); the file's format suffix picks one."""

from __future__ import annotations

from builder.inputs.discover import Source
from builder.readers.base import Reader
from builder.readers.html import HtmlReader
from builder.readers.json import JsonLinesReader, JsonReader
from builder.readers.text import TextReader
from builder.readers.warc import WarcReader

READERS: dict[str, type[Reader]] = {
    ".txt": TextReader,
    ".json": JsonReader,
    ".jsonl": JsonLinesReader,
    ".ndjson": JsonLinesReader,
    ".html": HtmlReader,
    ".htm": HtmlReader,
    ".warc": WarcReader,
}


def reader_for(source: Source) -> type[Reader] | None:
    """The reader class for this file, or None when its type is not an input format."""
    return READERS.get(source.format_suffix)


__all__ = ["READERS", "Reader", "reader_for"]
