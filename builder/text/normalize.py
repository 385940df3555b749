"""Text normalization's rules: repair encoding damage and whitespace, change nothing in the wording.

Quotes, apostrophes, accents, ligatures and full-width characters stay as written; only
mojibake (ftfy), Unicode composition (NFC), line endings, control characters and spacing change.
`builder.text.normalize_batch` applies these rules to whole columns; `tests/reference.py` has
them one text at a time (`normalize_text`), the spec the batch engine is proven against.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy

from builder.text.words import MARKS

FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,  # '&amp;' in plain text is text; HTML input is unescaped by its reader
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    remove_terminal_escapes=False,  # would delete printable text after a stray ESC; controls go below
    normalization="NFC",
    explain=False,
)
# NFC reorders a run of combining marks in quadratic time; Unicode's stream-safe text format
# (UAX #15) allows at most 30 in a row, and no real word comes close.
MAX_MARK_RUN = 30
_LONG_MARK_RUN = re.compile(f"{MARKS}{{{MAX_MARK_RUN + 1},}}")
# Every mark is outside ASCII, so only runs this long of non-ASCII characters can hold such a run.
LONG_NON_ASCII_RUN = re.compile(f"[^\x00-\x7f]{{{MAX_MARK_RUN + 1},}}")
_PARAGRAPH_BREAKS = re.compile("\u2029")
LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\u2028]")
# C0 controls other than tab and newline, and DEL. C1 controls are kept for ftfy, which reads
# them as the Windows-1252 characters they usually are ('\x85' -> '…'); leftovers go after it.
C0 = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
_SPACE_RUNS = re.compile("[ \t]+")
# The runs `_SPACE_RUNS.sub(" ", ...)` changes: not a lone space, which it replaces by itself
# (RE2 pays per match, and most matches would be the single spaces between words).
SPACE_RUNS_CHANGED = re.compile("\t[ \t]*| [ \t]+")
# Stripped at both ends of a line: every Unicode space (NBSP, em space, ideographic space...)
# and the invisible zero-width ones. Inside a line they stay: a non-breaking space is typography.
EDGE_SPACES = "\t\u200b\u2060\ufeff\u180e" + "".join(
    chr(c) for c in range(0x3001) if unicodedata.category(chr(c)) == "Zs"
)
BLANK_RUNS = re.compile("\n{3,}")
MAX_PASSES = 4


class TooComplexError(ValueError):
    """Text whose normalization would take more than linear time."""


def check_complexity(text: str) -> None:
    """TooComplexError for a run of combining marks longer than Unicode's stream-safe limit."""
    for span in LONG_NON_ASCII_RUN.finditer(text):
        run = _LONG_MARK_RUN.search(span.group())
        if run is not None:
            raise TooComplexError(
                f"a run of {len(run.group())} combining marks at character "
                f"{span.start() + run.start()} (more than {MAX_MARK_RUN} in a row, Unicode's "
                "stream-safe limit): normalizing it would take quadratic time"
            )


def tidy(text: str, controls: re.Pattern) -> str:
    """The whitespace and control-character rules."""
    text = _PARAGRAPH_BREAKS.sub("\n\n", text)
    text = LINE_BREAKS.sub("\n", text)
    text = controls.sub("", text)
    text = _SPACE_RUNS.sub(" ", text)
    text = "\n".join(line.strip(EDGE_SPACES) for line in text.split("\n"))
    text = BLANK_RUNS.sub("\n\n", text)
    return unicodedata.normalize("NFC", text.strip("\n"))


def repair(text: str) -> str:
    """One pass of the repair loop: ftfy, then the tidy rules with every control character."""
    return tidy(ftfy.fix_text(text, FTFY_CONFIG), _CONTROLS)


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def has_word_characters(text: str) -> bool:
    """A letter or a digit: what a headline needs to be one ('2024' is, '—' is not)."""
    return any(ch.isalnum() for ch in text)
