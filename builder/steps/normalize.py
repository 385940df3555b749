"""Text normalization: repair encoding damage and whitespace, change nothing in the wording.

Quotes, apostrophes, accents, ligatures and full-width characters stay as written; only
mojibake (ftfy), Unicode composition (NFC), line endings, control characters and spacing change.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import chain

import ftfy
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.batch import Batch, Verdicts, with_columns
from builder.records import RejectReason
from builder.steps.base import Step

_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,  # '&amp;' in plain text is text; HTML input is unescaped by its reader
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    remove_terminal_escapes=False,  # would delete printable text after a stray ESC; controls go below
    normalization="NFC",
    explain=False,
)


def _char_class(predicate) -> str:
    """A regex character class of the code points (in the planes that hold any) that match.

    Written as ranges: a class of thousands of single characters makes every match slow.
    """
    ranges: list[list[int]] = []
    for c in chain(range(0x20000), range(0xE0000, 0xE1000)):
        if predicate(chr(c)):
            if ranges and ranges[-1][1] == c - 1:
                ranges[-1][1] = c
            else:
                ranges.append([c, c])
    return "[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]"


# Combining marks (Mn, Mc, Me): vowel signs, diacritics, accents that follow their letter.
MARKS = _char_class(lambda ch: unicodedata.category(ch)[0] == "M")
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
        fixed = _tidy(ftfy.fix_text(text, _FTFY), _CONTROLS)
        if fixed == text:
            break
        text = fixed
    return text


def normalize_inline(value: str | None) -> str | None:
    """A one-line field (title, author): normalized, newlines folded to spaces; None when empty."""
    if value is None:
        return None
    value = normalize_text(value).replace("\n\n", " ").replace("\n", " ")
    return value or None


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


class Normalize(Step):
    """Normalize the text fields; reject what has no text left, or would take too long.

    The text fields go through the per-text normalizer row by row for now; a batch normalizer
    replaces `_normalize_rows` without changing what the step does.
    """

    name = "normalize"

    def process(self, batch: Batch) -> Batch:
        table = batch.table
        verdicts = Verdicts(table.num_rows)
        text, title, authors = _normalize_rows(table, verdicts)
        text_array = pa.array(text, pa.string())
        verdicts.reject(
            pc.equal(pc.utf8_length(text_array), 0).to_numpy(zero_copy_only=False),
            RejectReason.NO_TEXT,
            "no text left after normalization",
        )
        verdicts.reject(
            ~_letters(text_array),
            RejectReason.NO_TEXT,
            "no letters, only digits, punctuation or symbols: no words, no language",
        )
        table = with_columns(table, text=text_array, title=pa.array(title, pa.string()))
        table = with_columns(
            table,
            authors=pa.array(authors, table.schema.field("authors").type),
            url=_strip(table["url"]),
            domain=_lower(_strip(table["domain"])),
        )
        return verdicts.apply(table)


def _normalize_rows(table: pa.Table, verdicts: Verdicts) -> tuple[list, list, list]:
    """Text, title and authors normalized per row; a row too complex to normalize keeps its values."""
    texts, titles = table["text"].to_pylist(), table["title"].to_pylist()
    authors = table["authors"].to_pylist()
    for i, text in enumerate(texts):
        try:
            texts[i] = normalize_text(text)
            titles[i] = normalize_inline(titles[i])
            authors[i] = [a for a in map(normalize_inline, authors[i] or []) if a]
        except TooComplexError as exc:
            verdicts.reject_row(i, RejectReason.TOO_COMPLEX, str(exc))
    return texts, titles, authors


_ASCII_LETTER = "[A-Za-z]"


def _letters(texts: pa.Array) -> np.ndarray:
    """Whether each text has a letter: an ASCII one found in Arrow, else asked of Python."""
    found = pc.match_substring_regex(texts, _ASCII_LETTER).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(~found):
        found[i] = has_letters(texts[i].as_py())
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
    lowered = pc.ascii_lower(values).to_pylist()
    for i in np.flatnonzero(~ascii_):
        lowered[i] = values[i].as_py().lower()
    return pa.array(lowered, pa.string())
