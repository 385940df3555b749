"""The `crawler_fields` row maker: JSON records as news crawlers write them.

Field mapping, first key present wins (see docs/inputs.md):

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

import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from builder.outcomes import RejectError, RejectReason, excerpt, record_domain
from builder.records import RawRecord
from builder.rows.base import RowMaker, line_paragraphs
from schema import DateSource
from schema.article import TitleSource

EXCERPT_JSON_CHARS = 400

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
    """(key, value) of the first key of FIELD_KEYS[field] with a non-empty value; a date of
    only spaces is no date, as a missing one is (crawlers write one when they found none)."""
    for key in FIELD_KEYS[field]:
        value = record.get(key)
        blank = field == "date" and isinstance(value, str) and not value.strip()
        if value not in (None, "", []) and not blank:
            return key, value
    return "", None


def _optional_str(record: dict[str, Any], field: str) -> str | None:
    key, value = _first(record, field)
    if value is None or isinstance(value, str):
        return value
    raise FieldTypeError(f"`{key}` is {_a_json(value)}, expected a string")


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
            raise FieldTypeError(f"`{key}` holds {_a_json(item)}, expected names as strings")
        names.append(name)
    return [n.strip() for n in names if n.strip()]


# JSON's names for the types json.loads makes: a message speaks of the input, not of Python.
_JSON_TYPES: dict[type, str] = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    type(None): "null",
}


def _a_json(value: Any) -> str:
    """'a JSON string', 'a JSON array', 'JSON null': the value's type as JSON names it."""
    name = _JSON_TYPES[type(value)]
    return "JSON null" if name == "null" else f"a JSON {name}"


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


class CrawlerFields(RowMaker):
    """JSON records as news crawlers write them, mapped with FIELD_KEYS."""

    name = "crawler_fields"
    columns = (
        "text",
        "title",
        "title_source",
        "raw_date",
        "date_source",
        "declared_language",
        "url",
        "domain",
        "authors",
    )

    def row(self, record: RawRecord) -> dict[str, Any]:
        value = record.payload
        if not isinstance(value, dict):
            raise RejectError(
                RejectReason.PARSE_ERROR,
                f"expected a JSON object, got {_a_json(value)}",
                _record_excerpt(value),
            )
        try:
            key, text = _first(value, "text")
            if text is None:
                keys = ", ".join(FIELD_KEYS["text"])
                raise RejectError(
                    RejectReason.NO_TEXT,
                    f"record has no text field ({keys})",
                    _record_excerpt(value),
                )
            if not isinstance(text, str):
                raise FieldTypeError(f"`{key}` is {_a_json(text)}, expected a string")
            raw_date = _optional_str(value, "date")
            title = _optional_str(value, "title")
            return {
                "text": text,  # paragraphs are made in `finish`
                "title": title,
                "title_source": title and TitleSource.RECORD,  # none if normalized away
                "raw_date": raw_date,
                "date_source": raw_date and DateSource.RECORD,
                "declared_language": _optional_str(value, "language"),
                "url": _optional_str(value, "url"),
                "domain": _optional_str(value, "domain"),
                "authors": _authors(value),
            }
        except FieldTypeError as exc:
            raise RejectError(
                RejectReason.INVALID_RECORD, str(exc), _record_excerpt(value)
            ) from exc

    def finish(self, table: pa.Table) -> pa.Table:
        return line_paragraphs(table)

    def domain(self, record: RawRecord) -> str | None:
        value = record.payload
        if not isinstance(value, dict):
            return None
        domain, url = (_first(value, field)[1] for field in ("domain", "url"))
        return record_domain(
            domain if isinstance(domain, str) else None, url if isinstance(url, str) else None
        )
