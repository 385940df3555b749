"""Validation: derive the computed fields, apply the build's limits, check the rules of `Article`."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.batch import Batch, Verdicts, with_columns
from builder.constraints import compile_checks
from builder.outcomes import RejectReason, article_id, domain_of
from builder.steps.base import Step
from builder.text.word_batch import word_counts
from schema import Article

_CHECKS = compile_checks(Article)


class Validate(Step):
    """Derive the computed fields, apply build.min_words, and check every rule of `Article`.

    Steps after this one see valid rows, and may still reject some.
    """

    name = "validate"
    # the schema wants a language and an author list on every row, and a date wherever the
    # source wrote one (a raw date left unparsed would leave date_source without a date)
    needs = ("text", "language", "authors", "date")
    provides = ("id", "domain", "num_words", "num_chars", "text_sha256")

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
