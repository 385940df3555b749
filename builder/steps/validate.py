"""Validation: derive the computed fields, apply the build's limits, check the rules of `Article`."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.batch import Batch, Verdicts, with_columns
from builder.constraints import compile_checks
from builder.records import RejectReason
from builder.steps.base import Step
from builder.steps.charsets import to_re2
from builder.steps.normalize import MARKS
from schema import Article

# A word is a run of letters/digits with their combining marks (Hindi vowel signs, Arabic
# vowel points), except that each Han or kana character is a word of its own (those scripts
# do not separate words with spaces).
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD = re.compile(f"[{CJK}]|(?:[^\\W{CJK}]|{MARKS})+")


def count_words(text: str) -> int:
    """The reference for `word_counts`, one text at a time."""
    return len(WORD.findall(text))


@cache
def word_re2() -> str:
    return to_re2(WORD)


def word_counts(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """`count_words` of each text (nulls count 0), counted by RE2 over the whole column."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()  # RE2 compiles the pattern once per chunk
    if len(texts) == 0:
        return np.zeros(0, dtype=np.int64)
    counts = pc.count_substring_regex(texts, word_re2())
    return pc.fill_null(counts, 0).to_numpy(zero_copy_only=False).astype(np.int64)


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


_CHECKS = compile_checks(Article)


class Validate(Step):
    """Derive the computed fields, apply build.min_words, and check every rule of `Article`.

    Steps after this one see valid rows, and may still reject some.
    """

    name = "validate"

    def process(self, batch: Batch) -> Batch:
        table = batch.table
        verdicts = Verdicts(table.num_rows)
        unstorable = table["unstorable"]
        flagged = pc.is_valid(unstorable).to_numpy(zero_copy_only=False)
        verdicts.reject(
            flagged,
            RejectReason.INVALID_RECORD,
            unstorable.filter(pc.is_valid(unstorable)).to_pylist(),
        )
        num_words = word_counts(table["text"])
        short = num_words < self.context.settings.min_words
        verdicts.reject(
            short,
            RejectReason.TOO_SHORT,
            [
                f"{n} words, fewer than build.min_words={self.context.settings.min_words}"
                for n in num_words[short]
            ],
        )
        table = with_columns(table, **_derived(table, num_words))
        for check in _CHECKS:
            failing = check.failing(table) & (verdicts.reason == None)  # noqa: E711
            if failing.any():
                rows = table.filter(pa.array(failing)).to_pylist()
                details = [f"{check.field}: {check.detail(row)}" for row in rows]
                verdicts.reject(failing, RejectReason.INVALID_RECORD, details)
        return verdicts.apply(table)


def _derived(table: pa.Table, num_words: np.ndarray) -> dict[str, pa.Array]:
    """The computed fields: id, domain (from the URL when the source gives none), counts, hash."""
    urls, domains = table["url"].to_pylist(), table["domain"].to_pylist()
    paths, records = table["source_path"].to_pylist(), table["source_record"].to_pylist()
    return {
        "id": pa.array([article_id(*key) for key in zip(urls, paths, records, strict=True)]),
        "domain": pa.array(
            [d or domain_of(u) for d, u in zip(domains, urls, strict=True)], pa.string()
        ),
        "num_words": pa.array(num_words),
        "num_chars": pc.utf8_length(table["text"]),
        "text_sha256": pa.array(  # of the UTF-8 bytes as Arrow holds them: no decoding
            [hashlib.sha256(t).hexdigest() for t in table["text"].cast(pa.binary()).to_pylist()],
            pa.string(),
        ),
    }
