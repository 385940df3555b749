"""JSON and JSON Lines records as news crawlers write them.

Field mapping, first key present wins (see README, "Input formats"):

| field    | news-please     | trafilatura          |
|----------|-----------------|----------------------|
| text     | maintext        | text (raw_text)      |
| title    | title           | title                |
| date     | date_publish    | date                 |
| language | language        | language             |
| url      | url             | url, source          |
| domain   | source_domain   | hostname             |
| authors  | authors (list)  | author ('; '-joined) |

Line breaks in the text end paragraphs, as both crawlers write them. A mapped field with the
wrong JSON type (a title that is an object, a date that is a number) rejects the record as
invalid_record, naming the key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from builder.decode import UndecodableError, decode
from builder.readers.base import Reader, WholeFileReader
from builder.records import Draft, Reject, RejectReason, excerpt
from builder.sources import CorruptFileError, Source, iter_lines

EXCERPT_JSON_CHARS = 400
# Crawlers end each paragraph with one line break; the schema separates paragraphs by a blank line.
_LINE_BREAKS = re.compile(r"(?:\r\n|\r|\n)+")

FIELD_KEYS: dict[str, tuple[str, ...]] = {
    "text": ("maintext", "text", "raw_text"),
    "title": ("title",),
    "date": ("date_publish", "date", "published"),
    "language": ("language", "lang"),
    "url": ("url", "source"),
    "domain": ("source_domain", "hostname", "domain"),
    "authors": ("authors", "author"),
}


class FieldTypeError(ValueError):
    """A mapped field holds a JSON type that cannot mean what the field means."""


def _first(record: dict[str, Any], field: str) -> tuple[str, Any]:
    """(key, value) of the first key of FIELD_KEYS[field] with a non-empty value."""
    for key in FIELD_KEYS[field]:
        value = record.get(key)
        if value not in (None, "", []):
            return key, value
    return "", None


def _optional_str(record: dict[str, Any], field: str) -> str | None:
    key, value = _first(record, field)
    if value is None or isinstance(value, str):
        return value
    raise FieldTypeError(f"`{key}` is a JSON {_json_type(value)}, expected a string")


def _authors(record: dict[str, Any]) -> list[str]:
    """Authors as a list, a '; '-joined string, or schema.org-style objects with a `name`."""
    key, value = _first(record, "authors")
    if value is None:
        return []
    if isinstance(value, str):
        return [a.strip() for a in value.split(";") if a.strip()]
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str):
            raise FieldTypeError(
                f"`{key}` holds a JSON {_json_type(item)}, expected names as strings"
            )
        names.append(name)
    return [n.strip() for n in names if n.strip()]


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )


def _record_excerpt(record: Any) -> str:
    return excerpt(json.dumps(record, ensure_ascii=False)[:EXCERPT_JSON_CHARS])


def to_draft(record: Any, source_rel: str, position: int, sha256: str) -> Draft | Reject:
    """Map one parsed crawler record to a Draft using FIELD_KEYS."""
    if not isinstance(record, dict):
        return Reject(
            source_rel,
            position,
            RejectReason.PARSE_ERROR,
            f"expected a JSON object, got a JSON {_json_type(record)}",
            _record_excerpt(record),
        )
    try:
        key, text = _first(record, "text")
        if text is None:
            keys = ", ".join(FIELD_KEYS["text"])
            return Reject(
                source_rel,
                position,
                RejectReason.NO_TEXT,
                f"record has no text field ({keys})",
                _record_excerpt(record),
            )
        if not isinstance(text, str):
            raise FieldTypeError(f"`{key}` is a JSON {_json_type(text)}, expected a string")
        return Draft(
            source_path=source_rel,
            source_record=position,
            source_sha256=sha256,
            text=_LINE_BREAKS.sub("\n\n", text),
            title=_optional_str(record, "title"),
            date=_optional_str(record, "date"),
            language=_optional_str(record, "language"),
            url=_optional_str(record, "url"),
            domain=_optional_str(record, "domain"),
            authors=_authors(record),
        )
    except FieldTypeError as exc:
        return Reject(
            source_rel, position, RejectReason.INVALID_RECORD, str(exc), _record_excerpt(record)
        )


def parse_json(text: str) -> Any:
    """json.loads, with every way it can fail on bad input turned into a ValueError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and numbers too long to convert
        raise ValueError(f"invalid JSON: {exc}") from None


class JsonReader(WholeFileReader):
    """A .json file, read whole up to build.max_file_bytes: one record object, or an array of them."""

    limit_setting = "max_file_bytes"

    def parse(self, source: Source, sha256: str, text: str) -> Iterator[Draft | Reject]:
        try:
            parsed = parse_json(text)
        except ValueError as exc:
            yield Reject(source.rel, 1, RejectReason.PARSE_ERROR, str(exc), excerpt(text))
            return
        records = parsed if isinstance(parsed, list) else [parsed]
        for position, record in enumerate(records, start=1):
            yield to_draft(record, source.rel, position, sha256)


class JsonLinesReader(Reader):
    """A .jsonl/.ndjson file: one record per line; a bad line rejects that record only."""

    def run(self, source: Source) -> Iterator[Draft | Reject]:
        limit = self.settings.max_record_bytes
        line_no = 0
        try:
            for line_no, line in enumerate(iter_lines(source.path, limit), start=1):
                if isinstance(line, int):
                    yield Reject(
                        source.rel,
                        line_no,
                        RejectReason.TOO_LARGE,
                        f"line of {line} bytes is over build.max_record_bytes={limit}",
                    )
                elif line.strip():
                    yield self._record(source, line_no, line)
        except CorruptFileError as exc:
            yield Reject(
                source.rel,
                line_no + 1,
                RejectReason.CORRUPT_FILE,
                f"{exc}; lines from {line_no + 1} on are lost",
            )

    def _record(self, source: Source, line_no: int, line: bytes) -> Draft | Reject:
        try:
            record = parse_json(decode(line))
        except UndecodableError as exc:
            return Reject(source.rel, line_no, RejectReason.UNDECODABLE, str(exc), excerpt(line))
        except ValueError as exc:
            return Reject(source.rel, line_no, RejectReason.PARSE_ERROR, str(exc), excerpt(line))
        return to_draft(record, source.rel, line_no, hashlib.sha256(line).hexdigest())
