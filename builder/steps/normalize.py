"""Text normalization: repair encoding damage and whitespace, change nothing in the wording.

Quotes, apostrophes, accents, ligatures and full-width characters stay as written; only
mojibake (ftfy), Unicode composition (NFC), line endings, control characters and spacing change.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy

from builder.records import Draft, Reject, RejectReason
from builder.steps import Step

_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,  # '&amp;' in plain text is text; HTML input is unescaped by its reader
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    remove_terminal_escapes=False,  # would delete printable text after a stray ESC; controls go below
    normalization="NFC",
    explain=False,
)
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\u2028\u2029]")
# C0 controls other than tab and newline, and DEL. C1 controls are kept for ftfy, which reads
# them as the Windows-1252 characters they usually are ('\x85' -> '…'); leftovers go after it.
_C0 = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
_SPACE_RUNS = re.compile("[ \t]+")
_TRAILING = re.compile("[ \t]+$", re.MULTILINE)
_LEADING = re.compile("^[ \t]+", re.MULTILINE)
_BLANK_RUNS = re.compile("\n{3,}")
_MAX_PASSES = 4


def _tidy(text: str, controls: re.Pattern) -> str:
    """The whitespace and control-character rules."""
    text = _LINE_BREAKS.sub("\n", text)
    text = controls.sub("", text)
    text = _SPACE_RUNS.sub(" ", text)
    text = _TRAILING.sub("", text)
    text = _LEADING.sub("", text)
    text = _BLANK_RUNS.sub("\n\n", text)
    return unicodedata.normalize("NFC", text.strip("\n"))


def normalize_text(text: str) -> str:
    """The normalized form of an article body or title; idempotent and letter-preserving.

    Removing a control character can bring two characters together that ftfy then reads as
    mojibake, so ftfy and the tidy rules repeat until the text stops changing (almost always
    after the first pass).
    """
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


class Normalize(Step):
    def process(self, draft: Draft) -> Draft | Reject:
        draft.text = normalize_text(draft.text)
        if not draft.text:
            return Reject.of(draft, RejectReason.NO_TEXT, "no text left after normalization")
        draft.title = normalize_inline(draft.title)
        draft.authors = [a for a in map(normalize_inline, draft.authors) if a]
        draft.url = (draft.url or "").strip() or None
        draft.domain = (draft.domain or "").strip().lower() or None
        return draft
