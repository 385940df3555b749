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
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from builder.decode import UndecodableError, decode
from builder.readers.base import Reader, WholeFileReader
from builder.records import Draft, Reject, RejectReason, excerpt
from builder.sources import CorruptFileError, Source, iter_lines

FIELD_KEYS: dict[str, tuple[str, ...]] = {
    "text": ("maintext", "text", "raw_text"),
    "title": ("title",),
    "date": ("date_publish", "date", "published"),
    "language": ("language", "lang"),
    "url": ("url", "source"),
    "domain": ("source_domain", "hostname", "domain"),
    "authors": ("authors", "author"),
}


def _first(record: dict[str, Any], field: str) -> Any:
    for key in FIELD_KEYS[field]:
        value = record.get(key)
        if value not in (None, "", []):
            return value
    return None


def _optional_str(record: dict[str, Any], field: str) -> str | None:
    value = _first(record, field)
    return None if value is None else str(value)


def _authors(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [a.strip() for a in value.split(";") if a.strip()]
    if isinstance(value, list):
        return [str(a).strip() for a in value if a is not None and str(a).strip()]
    return [str(value)]


def to_draft(record: Any, source_rel: str, position: int, sha256: str) -> Draft | Reject:
    """Map one parsed crawler record to a Draft using FIELD_KEYS."""
    if not isinstance(record, dict):
        return Reject(
            source_rel,
            position,
            RejectReason.PARSE_ERROR,
            f"expected a JSON object, got {type(record).__name__}",
            excerpt(json.dumps(record)[:400]),
        )
    text = _first(record, "text")
    if not isinstance(text, str):
        keys = ", ".join(FIELD_KEYS["text"])
        return Reject(
            source_rel,
            position,
            RejectReason.NO_TEXT,
            f"record has no text field ({keys})",
            excerpt(json.dumps(record, ensure_ascii=False)[:400]),
        )
    return Draft(
        source_path=source_rel,
        source_record=position,
        source_sha256=sha256,
        text=text,
        title=_optional_str(record, "title"),
        date=_optional_str(record, "date"),
        language=_optional_str(record, "language"),
        url=_optional_str(record, "url"),
        domain=_optional_str(record, "domain"),
        authors=_authors(_first(record, "authors")),
    )


class JsonReader(WholeFileReader):
    """A .json file: one record object, or an array of them (numbered from 1)."""

    def parse(self, source: Source, sha256: str, text: str) -> Iterator[Draft | Reject]:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Reject(
                source.rel, 1, RejectReason.PARSE_ERROR, f"invalid JSON: {exc}", excerpt(text)
            )
            return
        records = parsed if isinstance(parsed, list) else [parsed]
        for position, record in enumerate(records, start=1):
            yield to_draft(record, source.rel, position, sha256)


class JsonLinesReader(Reader):
    """A .jsonl/.ndjson file: one record per line; a bad line rejects that record only."""

    def run(self, source: Source) -> Iterator[Draft | Reject]:
        line_no = 0
        try:
            for line_no, line in enumerate(iter_lines(source.path, self.max_record_bytes), start=1):
                if isinstance(line, int):
                    yield Reject(
                        source.rel,
                        line_no,
                        RejectReason.TOO_LARGE,
                        f"line of {line} bytes is over build.max_record_bytes={self.max_record_bytes}",
                    )
                    continue
                if not line.strip():
                    continue
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
            record = json.loads(decode(line))
        except UndecodableError as exc:
            return Reject(source.rel, line_no, RejectReason.UNDECODABLE, str(exc), excerpt(line))
        except json.JSONDecodeError as exc:
            return Reject(
                source.rel, line_no, RejectReason.PARSE_ERROR, f"invalid JSON: {exc}", excerpt(line)
            )
        return to_draft(record, source.rel, line_no, hashlib.sha256(line).hexdigest())
