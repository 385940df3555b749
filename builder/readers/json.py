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
from builder.sources import (
    BYTES_CODEC,
    HEAD_BYTES,
    ContentError,
    RawFile,
    Source,
    iter_lines,
    open_content,
    read_at_most,
    stream_codec,
    text_chunks,
)

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


_END = object()


class _Literal(str):
    """JSON punctuation in an excerpt, as opposed to a string value."""


def _members(value: dict | list) -> Iterator[Any]:
    """The parts of a JSON object or array, in order: punctuation, keys and values (lazily)."""
    if isinstance(value, dict):
        yield _Literal("{")
        for i, (key, item) in enumerate(value.items()):
            yield _Literal(", " if i else "")
            yield _Literal(json.dumps(str(key), ensure_ascii=False) + ": ")
            yield item
        yield _Literal("}")
    else:
        yield _Literal("[")
        for i, item in enumerate(value):
            yield _Literal(", " if i else "")
            yield item
        yield _Literal("]")


def _record_excerpt(record: Any) -> str:
    """The record as JSON, cut at EXCERPT_JSON_CHARS: iterative, so any nesting depth is fine."""
    out, size = [], 0
    stack: list[Iterator[Any]] = [iter((record,))]
    while stack and size < EXCERPT_JSON_CHARS:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
            continue
        if isinstance(item, dict | list):
            stack.append(_members(item))
            continue
        if isinstance(item, _Literal):
            part = str(item)
        elif isinstance(item, str):
            part = json.dumps(item[:EXCERPT_JSON_CHARS], ensure_ascii=False)
        else:
            part = _scalar(item)
        out.append(part)
        size += len(part)
    return excerpt("".join(out)[:EXCERPT_JSON_CHARS])


def _scalar(value: Any) -> str:
    try:
        return json.dumps(value)
    except ValueError:  # an integer too long to print
        return "<number>"


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
    """A .jsonl/.ndjson file: one record per line; a bad line rejects that record only.

    Lines are split after decoding when the content is UTF-16/32, and end at \\n, \\r\\n or \\r.
    """

    def read(self, source: Source, raw: RawFile) -> Iterator[Draft | Reject]:
        limit = self.settings.max_record_bytes
        line_no = 0
        try:
            stream = open_content(raw, source.path.name)
            head = read_at_most(stream, HEAD_BYTES)
            codec = stream_codec(head)
            if codec == BYTES_CODEC and _looks_binary(head):
                yield Reject(
                    source.rel,
                    1,
                    RejectReason.UNDECODABLE,
                    "content looks binary, not JSON Lines text (check the file's format)",
                    excerpt(head),
                )
                return
            width = _UNIT_BYTES.get(codec, 1)
            lines = iter_lines(text_chunks(head, stream, codec), limit // width)
            for line_no, line in lines:
                if isinstance(line, int):
                    yield Reject(
                        source.rel,
                        line_no,
                        RejectReason.TOO_LARGE,
                        f"line of {line * width} bytes is over build.max_record_bytes={limit}",
                    )
                else:
                    yield self._record(source, line_no, line, codec)
        except ContentError as exc:
            yield Reject(
                source.rel,
                line_no + 1,
                exc.reason,
                f"{exc}; lines from {line_no + 1} on are lost" if line_no else str(exc),
            )

    def _record(self, source: Source, line_no: int, line: str, codec: str) -> Draft | Reject:
        if codec == BYTES_CODEC:
            data = line.encode(BYTES_CODEC)
            try:
                text = decode(data)
            except UndecodableError as exc:
                return Reject(
                    source.rel, line_no, RejectReason.UNDECODABLE, str(exc), excerpt(data)
                )
        elif _LONE_SURROGATE.search(line):
            detail = f"bytes that are not valid {codec.upper()} text"
            return Reject(source.rel, line_no, RejectReason.UNDECODABLE, detail, excerpt(line))
        else:
            data, text = line.encode(codec), line.removeprefix("\ufeff")
        try:
            record = parse_json(text)
        except ValueError as exc:
            return Reject(source.rel, line_no, RejectReason.PARSE_ERROR, str(exc), excerpt(text))
        return to_draft(record, source.rel, line_no, hashlib.sha256(data).hexdigest())


_UNIT_BYTES = {"utf-16-le": 2, "utf-16-be": 2, "utf-32-le": 4, "utf-32-be": 4}
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls other than whitespace: JSON text never holds them raw.
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f]")
BINARY_CONTROL_RATIO = 0.05


def _looks_binary(head: bytes) -> bool:
    return bool(head) and len(_CONTROL.findall(head)) > BINARY_CONTROL_RATIO * len(head)
