"""Batch normalization: row by row the same text as the per-text reference (`normalize_text` in
tests/reference.py), paid per column. Every rule runs over the whole column in RE2 (Arrow's
regex engine); Python sees only the rows a conservative RE2 test picks: NFC for rows holding a
character NFC could change, and the repair loop (ftfy, tidy) for rows holding something it could
change. Rows the tests pass over are provably unchanged by those rules;
tests/test_normalize_batch.py checks each fact the proof uses, and the result.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc
from ftfy.badness import BADNESS_RE
from ftfy.chardata import CONTROL_CHARS

from builder.text.normalize import (
    BLANK_RUNS,
    C0,
    EDGE_SPACES,
    FTFY_CONFIG,
    LINE_BREAKS,
    LONG_NON_ASCII_RUN,
    MAX_PASSES,
    SPACE_RUNS_CHANGED,
    TooComplexError,
    check_complexity,
    repair,
)
from builder.text.re2 import CodeSet, to_re2
from builder.text.words import MARK_SET, PLANES

# Batch normalization: the same text as `normalize_text`, row by row, paid per column. Every
# rule runs over the whole column in RE2 (Arrow's regex engine); Python sees only the rows a
# conservative RE2 test picks: NFC for rows holding a character NFC could change, and the
# reference's repair loop (ftfy, tidy) for rows holding something it could change. Rows the
# tests pass over are provably unchanged by those steps; tests/test_normalize_batch.py checks
# each fact the proof uses, and the result against `normalize_text`.


@dataclass(frozen=True)
class NormalizedColumn:
    """A normalized string column (nulls stay null) and the rows that could not be normalized.

    `errors` maps a row index to the TooComplexError message; that row's value is null.
    """

    values: pa.Array | pa.ChunkedArray
    errors: dict[int, str]


def normalize_column(values: pa.Array | pa.ChunkedArray) -> NormalizedColumn:
    """`normalize_text` over a string column: row i of the result is `normalize_text(values[i])`.

    A row that `normalize_text` refuses (TooComplexError) is null in the result and its message
    is in `errors`, so the caller can reject it. Takes string, large_string or null columns.
    """
    return _per_chunk(values, inline=False)


def normalize_inline_column(values: pa.Array | pa.ChunkedArray) -> NormalizedColumn:
    """`normalize_inline` over a string column: empty results are null, as there None."""
    return _per_chunk(values, inline=True)


def normalize_inline_lists(values: pa.Array | pa.ChunkedArray) -> NormalizedColumn:
    """Per row of a list<string> column (authors): `[a for a in map(normalize_inline, row) if a]`.

    A null list stays null; `errors` maps the row holding a refused item to its message.
    """
    return _per_chunk(values, inline=True, each=_normalize_lists)


def _normalize_lists(values: pa.Array, inline: bool) -> NormalizedColumn:
    """The items normalized as one flat column, then regrouped without the empty ones."""
    if not pa.types.is_list(values.type) and not pa.types.is_large_list(values.type):
        raise TypeError(f"normalization takes a column of lists of strings, not of {values.type}")
    parents = pc.list_parent_indices(values).to_pylist()
    done = _normalize_array(values.flatten(), inline)
    kept = pc.is_valid(done.values)
    lengths = [0] * len(values)
    for parent, keep in zip(parents, kept.to_pylist(), strict=True):
        lengths[parent] += keep
    offsets = pa.array([0, *itertools.accumulate(lengths)], pa.int32())
    kind = pa.ListArray if pa.types.is_list(values.type) else pa.LargeListArray
    lists = kind.from_arrays(
        offsets.cast(pa.int64()) if kind is pa.LargeListArray else offsets,
        done.values.filter(kept),
        mask=values.is_null(),
    )
    errors: dict[int, str] = {}
    for item, message in sorted(done.errors.items()):  # a row's first refused item, as per row
        errors.setdefault(parents[item], message)
    return NormalizedColumn(lists, errors)


def _per_chunk(
    values: pa.Array | pa.ChunkedArray,
    inline: bool,
    each: Callable[[pa.Array, bool], NormalizedColumn] | None = None,
) -> NormalizedColumn:
    each = each or _normalize_array
    if isinstance(values, pa.Array):
        return each(values, inline)
    chunks, errors, offset = [], {}, 0
    for chunk in values.chunks:
        done = each(chunk, inline)
        chunks.append(done.values)
        errors.update({offset + row: message for row, message in done.errors.items()})
        offset += len(chunk)
    empty = each(pa.array([], values.type), inline) if not chunks else None
    kind = empty.values.type if empty else chunks[0].type
    return NormalizedColumn(pa.chunked_array(chunks, type=kind), errors)


def _normalize_array(values: pa.Array, inline: bool) -> NormalizedColumn:
    if pa.types.is_null(values.type):
        return NormalizedColumn(pa.nulls(len(values), pa.string()), {})
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raise TypeError(f"normalization takes a column of strings, not of {values.type}")
    patterns = batch_patterns()
    errors = _too_complex(values)
    refused = sorted(errors)
    # Refused rows leave before NFC, which would take quadratic time on them.
    text = _put(values, refused, pa.nulls(len(refused), values.type))
    text = _update(text, patterns.tidy_can_change, _tidy_column)
    text = _update(text, patterns.nfc_can_change, lambda part: _map(_nfc, part))
    repair = _repair_rows(text)
    if repair:
        text = _put(text, repair, _repair_column(_take(text, repair)))
    if inline:
        text = pc.replace_substring(pc.replace_substring(text, "\n\n", " "), "\n", " ")
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)
    return NormalizedColumn(text, errors)


def _too_complex(values: pa.Array) -> dict[int, str]:
    """The rows `check_complexity` refuses, with its message; RE2 finds the few it must read."""
    patterns = batch_patterns()
    long_runs = _rows(values, patterns.long_non_ascii_run)
    candidates = [long_runs[row] for row in _rows(_take(values, long_runs), patterns.mark)]
    errors = {}
    for row, text in zip(candidates, _take(values, candidates).to_pylist(), strict=True):
        try:
            check_complexity(text)
        except TooComplexError as exc:
            errors[row] = str(exc)
    return errors


def _repair_column(values: pa.Array) -> pa.Array:
    """`normalize_text`'s repair loop on rows after their first tidy, with its passes and result.

    A row leaves the loop when a pass changes nothing, or when RE2 finds nothing a next pass
    could change: that pass would change nothing, as `normalize_text` would find.
    """
    texts = values.to_pylist()
    active: list[int] | range = range(len(texts))
    for _ in range(MAX_PASSES):
        if not active:
            break
        changed = []
        for row in active:
            fixed = repair(texts[row])
            if fixed != texts[row]:
                texts[row] = fixed
                changed.append(row)
        still = _repair_rows(pa.array([texts[row] for row in changed], values.type))
        active = [changed[row] for row in still]
    return pa.array(texts, values.type)


def _repair_rows(values: pa.Array) -> list[int]:
    """The rows a repair pass could change: RE2 finds something ftfy or the tidy rules act on.

    Or a line longer than ftfy cuts into segments, which might not be NFC on their own.
    """
    found = _rows(values, batch_patterns().repair_can_change)
    long_rows = _indices(pc.greater(pc.utf8_length(values), FTFY_CONFIG.max_decode_length))
    return sorted(set(found).union(long_rows)) if long_rows else found


def _tidy_column(values: pa.Array) -> pa.Array:
    """`tidy(text, C0)` over a column, up to (not including) its NFC."""
    patterns = batch_patterns()
    values = pc.replace_substring(values, "\u2029", "\n\n")
    values = pc.replace_substring_regex(values, patterns.line_breaks, "\n")
    values = pc.replace_substring_regex(values, patterns.c0, "")
    values = pc.replace_substring_regex(values, patterns.space_runs, " ")
    values = pc.replace_substring_regex(values, patterns.edge_spaces, "")
    values = pc.replace_substring_regex(values, patterns.blank_runs, "\n\n")
    return pc.utf8_trim(values, characters="\n")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _map(function: Callable[[str], str], values: pa.Array) -> pa.Array:
    """A Python function over the (few) non-null strings of a column."""
    return pa.array([function(text) for text in values.to_pylist()], values.type)


def _take(values: pa.Array, rows: list[int]) -> pa.Array:
    return values.take(pa.array(rows, pa.int64()))


def _indices(mask: pa.Array) -> list[int]:
    return pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()


def _rows(values: pa.Array, pattern: str) -> list[int]:
    """The rows whose text has a match of the RE2 pattern."""
    if len(values) == 0:
        return []  # compiling a pattern costs up to a few milliseconds
    return _indices(pc.match_substring_regex(values, pattern))


def _update(values: pa.Array, pattern: str, function: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """`values` with `function` (column to column) applied to the rows matching the pattern."""
    rows = _rows(values, pattern)
    return _put(values, rows, function(_take(values, rows))) if rows else values


def _put(values: pa.Array, rows: list[int], new: pa.Array) -> pa.Array:
    """`values` with the given rows replaced, in order, by `new`."""
    if not rows:
        return values
    mask = [False] * len(values)
    for row in rows:
        mask[row] = True
    return pc.replace_with_mask(values, pa.array(mask, pa.bool_()), new)


@dataclass(frozen=True)
class BatchPatterns:
    """The RE2 patterns of the batch path, derived from the `re` ones above (built on first use)."""

    tidy_can_change: str
    line_breaks: str
    c0: str
    space_runs: str
    edge_spaces: str
    blank_runs: str
    long_non_ascii_run: str
    mark: str
    nfc_can_change: str
    repair_can_change: str


@cache
def batch_patterns() -> BatchPatterns:
    edge = CodeSet.of(map(ord, EDGE_SPACES)).re2_class()
    return BatchPatterns(
        # Text without any of these is left as it is by `tidy` up to its NFC: no separator, line
        # break or control (tab included, for the space runs), no two spaces in a row, no
        # Unicode space at a line's edge, no three newlines in a row, none at either end.
        tidy_can_change=(
            "[\\x{0}-\\x{9}\\x{b}-\\x{1f}\\x{7f}\\x{2028}\\x{2029}]|  |\\n\\n\\n|\\A\\n|\\n\\z"
            f"|(?m:^){edge}|{edge}(?m:$)"
        ),
        line_breaks=to_re2(LINE_BREAKS),
        c0=to_re2(C0),
        space_runs=to_re2(SPACE_RUNS_CHANGED),
        edge_spaces=f"(?m)^{edge}+|{edge}+$",
        blank_runs=to_re2(BLANK_RUNS),
        long_non_ascii_run=to_re2(LONG_NON_ASCII_RUN),
        mark=MARK_SET.re2_class(),
        nfc_can_change=_nfc_can_change().re2_class(),
        repair_can_change=CodeSet.of(_FTFY_ACTS_ON).re2_class() + "|" + to_re2(BADNESS_RE, True),
    )


@cache
def _nfc_can_change() -> CodeSet:
    """The characters that can make NFC's quick check answer other than yes for a string.

    Without any, it answers yes and NFC returns the string unchanged: a combining mark
    (reordering), a character NFC replaces, or one that can join the character before it (the
    second half of a canonical decomposition, a Hangul vowel or final consonant).
    """
    replaced, seconds = [], []
    for c in CodeSet.where(unicodedata.decomposition, PLANES).codepoints():
        ch, decomposition = chr(c), unicodedata.decomposition(chr(c))
        if unicodedata.normalize("NFC", ch) != ch:
            replaced.append(c)
        if not decomposition.startswith("<"):  # canonical, not compatibility
            seconds += [int(part, 16) for part in decomposition.split()[1:]]
    return (
        CodeSet.where(unicodedata.combining, PLANES)
        | CodeSet.of(replaced)
        | CodeSet.of(seconds)
        | CodeSet.spanning([(0x1161, 0x11C2)])
    )


# What the enabled ftfy fixers act on besides mojibake (C1 controls, line breaks, the control
# characters it removes) and what the second tidy removes beyond the first (U+FFFE, U+FFFF).
# Surrogates, which fix_surrogates acts on, cannot be in an Arrow string.
_FTFY_ACTS_ON = sorted(
    set(CONTROL_CHARS) | set(range(0x80, 0xA0)) | {0x0D, 0x2028, 0x2029, 0xFFFE, 0xFFFF}
)
