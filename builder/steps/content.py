"""Content steps: turn a container's raw records into rows of the working schema.

`seed_text` reads the seed's plain-text format; `crawler_fields` maps JSON records as news
crawlers write them. Field mapping, first key present wins (see README, "Input formats"):

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
import re
from collections.abc import Iterator
from functools import cache
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from ftfy.fixes import fix_surrogates

from builder.batch import Batch, RawBatch, RawRecord, reject_table, with_columns
from builder.records import RejectError, RejectReason, excerpt
from builder.steps.base import Step
from builder.steps.charsets import to_re2
from schema import DateSource
from schema.article import TitleSource
from schema.working import working_table

# Columns whose lone UTF-16 surrogates (from a JSON '\\ud800') become U+FFFD, as normalization's
# ftfy does, or that later steps parse and replace; any other column that holds one makes the row
# invalid, which Validate reports (after the steps that could reject it for another reason).
_REPAIRED = ("text", "title", "authors", "raw_date", "declared_language")
_SURROGATE = re.compile("[\\ud800-\\udfff]")


class ContentStep(Step):
    """Makes one row per raw record with `row`; a RejectError from it rejects that record."""

    columns: ClassVar[tuple[str, ...]]

    def row(self, record: RawRecord) -> dict[str, Any]:
        raise NotImplementedError

    def finish(self, table: pa.Table) -> pa.Table:
        """Work on whole columns of the rows made: in Arrow it costs less than per row."""
        return table

    def process(self, batch: RawBatch) -> Batch:  # type: ignore[override]
        names = ("source_path", "source_record", "source_sha256", *self.columns)
        values: dict[str, list] = {name: [] for name in names}
        rejects = []
        for record in batch.records:
            try:
                row = self.row(record)
            except RejectError as exc:
                rejects.append(exc.reject(record.source_path, record.source_record))
                continue
            values["source_path"].append(record.source_path)
            values["source_record"].append(record.source_record)
            values["source_sha256"].append(record.source_sha256)
            for name in self.columns:
                values[name].append(row.get(name))
        table = self.finish(_storable(values, len(values["source_path"])))
        return Batch(table, [reject_table(rejects)] if rejects else [])


def _storable(values: dict[str, list], rows: int) -> pa.Table:
    """The working table of these columns; strings Arrow cannot hold (lone surrogates) are
    repaired, and flagged in `unstorable` where the column is not one of _REPAIRED."""
    try:
        return working_table(values, rows)
    except UnicodeEncodeError:
        pass
    unstorable: list[str | None] = [None] * rows
    for name, column in values.items():
        for i, value in enumerate(column):
            items = value if isinstance(value, list) else [value]
            found = [m for v in items if isinstance(v, str) for m in [_SURROGATE.search(v)] if m]
            if not found:
                continue
            if name not in _REPAIRED and unstorable[i] is None:
                unstorable[i] = (
                    f"{name}: holds a lone UTF-16 surrogate ({found[0].group()!r}), which is "
                    "not a character; fix the escapes in the source"
                )
            fixed = [fix_surrogates(v) if isinstance(v, str) else v for v in items]
            column[i] = fixed if isinstance(value, list) else fixed[0]
    return working_table(values | {"unstorable": unstorable}, rows)


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


class SeedText(ContentStep):
    """Plain-text articles in the seed's format: a `date YYYY[-MM[-DD]]` header, then the body.

    The header may follow leading whitespace and may share its line with the first paragraph. A
    day may carry a time of day (`date 2021-02-03T10:00:00+01:00`, `date 2021-02-03 10:00`): the
    time belongs to the header, and so do the spaces of any kind (a non-breaking space) after it.
    A file without the header is an undated article: all of it is body. A header whose value
    is not a date (`date 2021-13`) rejects the file as bad_date in the dates step.
    """

    name = "seed_text"
    columns = ("text", "raw_date", "date_source")

    def row(self, record: RawRecord) -> dict[str, Any]:
        date, body = split_header(record.payload)
        return {"text": body, "raw_date": date, "date_source": date and DateSource.HEADER}


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


def _has_word(text: str | None) -> bool:
    return text is not None and any(ch.isalnum() for ch in text)


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


class CrawlerFields(ContentStep):
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
                f"expected a JSON object, got a JSON {_json_type(value)}",
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
                raise FieldTypeError(f"`{key}` is a JSON {_json_type(text)}, expected a string")
            raw_date = _optional_str(value, "date")
            title = _optional_str(value, "title")
            return {
                "text": text,  # paragraphs are made in `finish`
                "title": title,
                # normalization keeps every letter and digit: a title with one keeps a value
                "title_source": TitleSource.RECORD if _has_word(title) else None,
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
            ) from None

    def finish(self, table: pa.Table) -> pa.Table:
        return line_paragraphs(table)


def line_paragraphs(table: pa.Table) -> pa.Table:
    """Each run of line breaks in the text becomes a paragraph break ("\\n\\n"), for sources
    that end each paragraph with one line break (crawlers, trafilatura)."""
    if table.num_rows == 0:
        return table
    text = table["text"].combine_chunks()
    return with_columns(table, text=pc.replace_substring_regex(text, _line_breaks_re2(), "\n\n"))


@cache
def _line_breaks_re2() -> str:
    return to_re2(_LINE_BREAKS)
