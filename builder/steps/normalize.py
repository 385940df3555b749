"""The `normalize` step: text, title and authors normalized per batch (`builder.text.normalize_batch`);
a row with no text or no letter left is `no_text`, one whose normalization would take more than
linear time `too_complex`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.batch import Batch, Verdicts, with_columns
from builder.outcomes import RejectReason
from builder.steps.base import Step
from builder.text.normalize import has_letters, has_word_characters
from builder.text.normalize_batch import (
    NormalizedColumn,
    normalize_column,
    normalize_inline_column,
    normalize_inline_lists,
)


class Normalize(Step):
    """Normalize the text fields per batch; reject what has no text left, or would take too long."""

    name = "normalize"
    rewrites = ("text", "title", "title_source", "authors", "url", "domain")
    needs = ("text",)
    provides = ("authors",)  # an empty list where the source gave none

    def process(self, batch: Batch) -> Batch:
        table = batch.table
        verdicts = Verdicts(table.num_rows)
        text, title, authors = (
            _normalized(table, verdicts, column, normalize)
            for column, normalize in (
                ("text", normalize_column),
                ("title", normalize_inline_column),
                ("authors", normalize_inline_lists),
            )
        )
        verdicts.reject(
            pc.equal(pc.utf8_length(text), 0).to_numpy(zero_copy_only=False),
            RejectReason.NO_TEXT,
            "no text left after normalization",
        )
        verdicts.reject(
            ~_having(text, "[A-Za-z]", has_letters),
            RejectReason.NO_TEXT,
            "no letters, only digits, punctuation or symbols: no words, no language",
        )
        # a title of no letters or digits ('—', '***') is no headline, as on a web page
        title = pc.if_else(_having(title, "[A-Za-z0-9]", has_word_characters), title, None)
        table = with_columns(
            table,
            text=text,
            title=title,
            # a title normalized away (only spaces, controls or marks) has no source either
            title_source=pc.if_else(pc.is_null(title), None, table["title_source"]),
            authors=pc.fill_null(authors, pa.scalar([], authors.type)),  # no authors: an empty list
            url=_strip(table["url"]),
            domain=_lower(_strip(table["domain"])),
        )
        return verdicts.apply(table)


def _normalized(
    table: pa.Table,
    verdicts: Verdicts,
    column: str,
    normalize: Callable[[pa.Array | pa.ChunkedArray], NormalizedColumn],
) -> pa.Array:
    """One column normalized; a row too complex to normalize is rejected and keeps its value."""
    original = table[column].combine_chunks()
    done = normalize(original)
    if not done.errors:
        return done.values
    failed = np.zeros(len(original), dtype=bool)
    for row, message in sorted(done.errors.items()):
        verdicts.reject_row(row, RejectReason.TOO_COMPLEX, message)
        failed[row] = True
    return pc.if_else(pa.array(failed), original, done.values)


def _having(texts: pa.Array, ascii_class: str, has: Callable[[str], bool]) -> np.ndarray:
    """Whether each text has a character of a kind: an ASCII one found in Arrow, else asked of
    Python (whose idea of a letter, str.isalpha, Arrow's \\pL does not share exactly). A null
    text has none."""
    found = pc.match_substring_regex(texts, ascii_class).to_numpy(zero_copy_only=False)
    found[texts.is_null().to_numpy(zero_copy_only=False)] = False
    rest = np.flatnonzero(~found & texts.is_valid().to_numpy(zero_copy_only=False))
    found[rest] = [has(text) for text in texts.take(rest).to_pylist()]
    return found


# Python's str.strip() whitespace, so the strip below matches it exactly.
_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())


def _strip(values: pa.ChunkedArray) -> pa.Array:
    """Each value stripped of whitespace; null where nothing is left."""
    stripped = pc.utf8_trim(values, _WHITESPACE)
    return pc.if_else(pc.equal(stripped, ""), None, stripped).combine_chunks()


def _lower(values: pa.Array) -> pa.Array:
    """Lower case as Python writes it: ASCII in Arrow, anything else through str.lower()."""
    ascii_ = pc.fill_null(pc.string_is_ascii(values), True).to_numpy(zero_copy_only=False)
    lowered = pc.ascii_lower(values)
    if ascii_.all():
        return lowered
    rest = np.flatnonzero(~ascii_)
    replaced = lowered.to_pylist()
    for i, value in zip(rest, values.take(rest).to_pylist(), strict=True):
        replaced[i] = value.lower()
    return pa.array(replaced, pa.string())
