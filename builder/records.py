"""What flows between pipeline steps: a draft article, or a reject that says why it was dropped."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class RejectReason(StrEnum):
    UNREADABLE = "unreadable"  # the file cannot be opened (a broken link, no permission)
    UNDECODABLE = "undecodable"  # bytes that are not text in any detectable encoding
    CORRUPT_FILE = "corrupt_file"  # a truncated or damaged .gz/.zst stream
    PARSE_ERROR = "parse_error"  # not valid JSON, or JSON that is not an article object
    NO_TEXT = "no_text"  # nothing left after normalization
    TOO_SHORT = "too_short"  # fewer words than build.min_words
    TOO_LARGE = "too_large"  # over build.max_record_bytes
    BAD_DATE = "bad_date"  # a date that does not parse or does not exist (2021-13)
    FUTURE_DATE = "future_date"  # a date after the build day
    INVALID_RECORD = "invalid_record"  # a field the schema refuses (e.g. an unknown language code)
    ID_CONFLICT = "id_conflict"  # the id (URL) of a kept article, with a different text
    CHANGED_WHILE_READING = "changed_while_reading"  # the file was rewritten during the build
    TOO_COMPLEX = "too_complex"  # text whose normalization would cost more than linear time


class DuplicateReason(StrEnum):
    SAME_TEXT = "same_text"  # normalized text equal to a kept article's


EXCERPT_CHARS = 200


@dataclass(slots=True)
class Draft:
    """An article on its way through the steps; fields fill in as steps run."""

    source_path: str
    source_record: int
    source_sha256: str
    text: str
    title: str | None = None
    date: str | None = None
    date_precision: str | None = None
    language: str | None = None
    url: str | None = None
    domain: str | None = None
    authors: list[str] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class Reject:
    source_path: str
    source_record: int
    reason: RejectReason
    detail: str
    excerpt: str = ""

    @classmethod
    def of(cls, draft: Draft, reason: RejectReason, detail: str) -> Reject:
        return cls(draft.source_path, draft.source_record, reason, detail, excerpt(draft.text))


def excerpt(text: str | bytes) -> str:
    """A short, printable beginning of the record, so a reject can be found and judged."""
    if isinstance(text, bytes):
        text = text[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    return "".join(
        ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in text[:EXCERPT_CHARS]
    )
