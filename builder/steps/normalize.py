"""Text normalization: repair encoding damage and whitespace, change nothing in the wording.

Quotes, apostrophes, accents, ligatures and full-width characters stay as written; only
mojibake (ftfy), Unicode composition (NFC), line endings, control characters and spacing change.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import ftfy
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ftfy.badness import BADNESS_RE
from ftfy.chardata import CONTROL_CHARS

from builder.batch import Batch, Verdicts, with_columns
from builder.records import RejectReason
from builder.steps.base import Step
from builder.steps.charsets import CodeSet, to_re2

_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,  # '&amp;' in plain text is text; HTML input is unescaped by its reader
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    remove_terminal_escapes=False,  # would delete printable text after a stray ESC; controls go below
    normalization="NFC",
    explain=False,
)


# The planes that hold any combining mark or decomposable character (a test checks the rest).
_PLANES = (range(0x30000), range(0xE0000, 0xE1000))


# Combining marks (Mn, Mc, Me): vowel signs, diacritics, accents that follow their letter.
MARK_SET = CodeSet.where(lambda ch: unicodedata.category(ch)[0] == "M", _PLANES)
MARKS = MARK_SET.re_class()
# NFC reorders a run of combining marks in quadratic time; Unicode's stream-safe text format
# (UAX #15) allows at most 30 in a row, and no real word comes close.
MAX_MARK_RUN = 30
_LONG_MARK_RUN = re.compile(f"{MARKS}{{{MAX_MARK_RUN + 1},}}")
# Every mark is outside ASCII, so only runs this long of non-ASCII characters can hold such a run.
_LONG_NON_ASCII_RUN = re.compile(f"[^\x00-\x7f]{{{MAX_MARK_RUN + 1},}}")
_PARAGRAPH_BREAKS = re.compile("\u2029")
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\u2028]")
# C0 controls other than tab and newline, and DEL. C1 controls are kept for ftfy, which reads
# them as the Windows-1252 characters they usually are ('\x85' -> '…'); leftovers go after it.
_C0 = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
_SPACE_RUNS = re.compile("[ \t]+")
# The runs `_SPACE_RUNS.sub(" ", ...)` changes: not a lone space, which it replaces by itself
# (RE2 pays per match, and most matches would be the single spaces between words).
_SPACE_RUNS_CHANGED = re.compile("\t[ \t]*| [ \t]+")
# Stripped at both ends of a line: every Unicode space (NBSP, em space, ideographic space...)
# and the invisible zero-width ones. Inside a line they stay: a non-breaking space is typography.
_EDGE_SPACES = "\t\u200b\u2060\ufeff\u180e" + "".join(
    chr(c) for c in range(0x3001) if unicodedata.category(chr(c)) == "Zs"
)
_BLANK_RUNS = re.compile("\n{3,}")
_MAX_PASSES = 4


class TooComplexError(ValueError):
    """Text whose normalization would take more than linear time."""


def check_complexity(text: str) -> None:
    """TooComplexError for a run of combining marks longer than Unicode's stream-safe limit."""
    for span in _LONG_NON_ASCII_RUN.finditer(text):
        run = _LONG_MARK_RUN.search(span.group())
        if run is not None:
            raise TooComplexError(
                f"a run of {len(run.group())} combining marks at character "
                f"{span.start() + run.start()} (more than {MAX_MARK_RUN} in a row, Unicode's "
                "stream-safe limit): normalizing it would take quadratic time"
            )


def _tidy(text: str, controls: re.Pattern) -> str:
    """The whitespace and control-character rules."""
    text = _PARAGRAPH_BREAKS.sub("\n\n", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = controls.sub("", text)
    text = _SPACE_RUNS.sub(" ", text)
    text = "\n".join(line.strip(_EDGE_SPACES) for line in text.split("\n"))
    text = _BLANK_RUNS.sub("\n\n", text)
    return unicodedata.normalize("NFC", text.strip("\n"))


def normalize_text(text: str) -> str:
    """The normalized form of an article body or title; idempotent and letter-preserving.

    Removing a control character can bring two characters together that ftfy then reads as
    mojibake, so ftfy and the tidy rules repeat until the text stops changing (almost always
    after the first pass). Raises TooComplexError for text built to make that slow.
    """
    check_complexity(text)
    text = _tidy(text, _C0)
    for _ in range(_MAX_PASSES):
        fixed = _repair(text)
        if fixed == text:
            break
        text = fixed
    return text


def _repair(text: str) -> str:
    """One pass of the repair loop: ftfy, then the tidy rules with every control character."""
    return _tidy(ftfy.fix_text(text, _FTFY), _CONTROLS)


def normalize_inline(value: str | None) -> str | None:
    """A one-line field (title, author): normalized, newlines folded to spaces; None when empty."""
    if value is None:
        return None
    value = normalize_text(value).replace("\n\n", " ").replace("\n", " ")
    return value or None


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
    patterns = _patterns()
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
    patterns = _patterns()
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
    for _ in range(_MAX_PASSES):
        if not active:
            break
        changed = []
        for row in active:
            fixed = _repair(texts[row])
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
    found = _rows(values, _patterns().repair_can_change)
    long_rows = _indices(pc.greater(pc.utf8_length(values), _FTFY.max_decode_length))
    return sorted(set(found).union(long_rows)) if long_rows else found


def _tidy_column(values: pa.Array) -> pa.Array:
    """`_tidy(text, _C0)` over a column, up to (not including) its NFC."""
    patterns = _patterns()
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
class _Patterns:
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
def _patterns() -> _Patterns:
    edge = CodeSet.of(map(ord, _EDGE_SPACES)).re2_class()
    return _Patterns(
        # Text without any of these is left as it is by `_tidy` up to its NFC: no separator, line
        # break or control (tab included, for the space runs), no two spaces in a row, no
        # Unicode space at a line's edge, no three newlines in a row, none at either end.
        tidy_can_change=(
            "[\\x{0}-\\x{9}\\x{b}-\\x{1f}\\x{7f}\\x{2028}\\x{2029}]|  |\\n\\n\\n|\\A\\n|\\n\\z"
            f"|(?m:^){edge}|{edge}(?m:$)"
        ),
        line_breaks=to_re2(_LINE_BREAKS),
        c0=to_re2(_C0),
        space_runs=to_re2(_SPACE_RUNS_CHANGED),
        edge_spaces=f"(?m)^{edge}+|{edge}+$",
        blank_runs=to_re2(_BLANK_RUNS),
        long_non_ascii_run=to_re2(_LONG_NON_ASCII_RUN),
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
    for c in CodeSet.where(unicodedata.decomposition, _PLANES).codepoints():
        ch, decomposition = chr(c), unicodedata.decomposition(chr(c))
        if unicodedata.normalize("NFC", ch) != ch:
            replaced.append(c)
        if not decomposition.startswith("<"):  # canonical, not compatibility
            seconds += [int(part, 16) for part in decomposition.split()[1:]]
    return (
        CodeSet.where(unicodedata.combining, _PLANES)
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


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


class Normalize(Step):
    """Normalize the text fields per batch; reject what has no text left, or would take too long."""

    name = "normalize"

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
            ~_letters(text),
            RejectReason.NO_TEXT,
            "no letters, only digits, punctuation or symbols: no words, no language",
        )
        table = with_columns(
            table,
            text=text,
            title=title,
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


_ASCII_LETTER = "[A-Za-z]"


def _letters(texts: pa.Array) -> np.ndarray:
    """Whether each text has a letter: an ASCII one found in Arrow, else asked of Python (whose
    idea of a letter, str.isalpha, Arrow's \\pL does not share exactly)."""
    found = pc.match_substring_regex(texts, _ASCII_LETTER).to_numpy(zero_copy_only=False)
    rest = np.flatnonzero(~found)
    found[rest] = [has_letters(text) for text in texts.take(rest).to_pylist()]
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
