"""Last step: derive the computed fields, apply the build's limits, and validate against `Article`."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from urllib.parse import urlsplit

from pydantic import ValidationError

from builder.records import Draft, Reject, RejectReason
from builder.steps import Step
from builder.steps.normalize import MARKS
from schema import Article

# A word is a run of letters/digits with their combining marks (Hindi vowel signs, Arabic
# vowel points), except that each Han or kana character is a word of its own (those scripts
# do not separate words with spaces).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(f"[{_CJK}]|(?:[^\\W{_CJK}]|{MARKS})+")
_SURROGATE = re.compile("[\ud800-\udfff]")


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def article_id(url: str | None, source_path: str, source_record: int) -> str:
    """Stable id: from the URL when there is one, else from where the record sits in the input."""
    key = f"url:{url}" if url else f"path:{source_path}#{source_record}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def domain_of(url: str | None) -> str | None:
    try:
        host = urlsplit(url).hostname if url else None
    except ValueError:
        return None
    return host or None


def _unstorable_field(draft: Draft) -> str | None:
    """Why a string field cannot be written as UTF-8 (a lone surrogate from a JSON '\\ud800'), or None."""
    for field in dataclasses.fields(draft):
        value = getattr(draft, field.name)
        for item in value if isinstance(value, list) else [value]:
            found = _SURROGATE.search(item) if isinstance(item, str) else None
            if found is not None:
                return (
                    f"{field.name}: holds a lone UTF-16 surrogate ({found.group()!r}), which is "
                    "not a character; fix the escapes in the source"
                )
    return None


class Validate(Step):
    """Draft -> Article, or a reject for too_short / invalid_record."""

    def __init__(self, min_words: int):
        self.min_words = min_words

    def process(self, draft: Draft) -> Article | Reject:
        unstorable = _unstorable_field(draft)
        if unstorable is not None:
            return Reject.of(draft, RejectReason.INVALID_RECORD, unstorable)
        num_words = count_words(draft.text)
        if num_words < self.min_words:
            return Reject.of(
                draft,
                RejectReason.TOO_SHORT,
                f"{num_words} words, fewer than build.min_words={self.min_words}",
            )
        try:
            return Article(
                id=article_id(draft.url, draft.source_path, draft.source_record),
                title=draft.title,
                text=draft.text,
                date=draft.date,
                date_precision=draft.date_precision,
                language=draft.language,
                url=draft.url,
                domain=draft.domain or domain_of(draft.url),
                authors=draft.authors,
                source_path=draft.source_path,
                source_record=draft.source_record,
                source_sha256=draft.source_sha256,
                num_words=num_words,
                num_chars=len(draft.text),
                text_sha256=hashlib.sha256(draft.text.encode("utf-8")).hexdigest(),
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            return Reject.of(draft, RejectReason.INVALID_RECORD, f"{where}: {first['msg']}")
