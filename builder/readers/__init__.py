"""Containers turn one raw file into raw records (or rejects); the file's format suffix picks one."""

from __future__ import annotations

from builder.readers.base import Container
from builder.readers.html import HtmlReader
from builder.readers.json import JsonLinesReader, JsonReader
from builder.readers.text import TextReader
from builder.readers.warc import WarcReader
from builder.sources import Source

READERS: dict[str, type[Container]] = {
    ".txt": TextReader,
    ".json": JsonReader,
    ".jsonl": JsonLinesReader,
    ".ndjson": JsonLinesReader,
    ".html": HtmlReader,
    ".htm": HtmlReader,
    ".warc": WarcReader,
}


def reader_for(source: Source) -> type[Container] | None:
    """The container class for this file, or None when its type is not an input format."""
    return READERS.get(source.format_suffix)


__all__ = ["READERS", "Container", "reader_for"]
