"""Per-text reference implementations: the documented spec each batch version is proven against.

The build runs the batch versions (whole Arrow columns, RE2, numpy); these say the same thing
one text at a time, in plain Python, and the tests hold the two equal (on chosen cases and on
random text with hypothesis).
"""

from __future__ import annotations

import re
from functools import cache

from icu4py.breakers import WordBreaker

from builder.text.language import decide, model
from builder.text.normalize import C0, MAX_PASSES, check_complexity, repair, tidy
from builder.text.segment import segmented_set
from builder.text.words import WORD


def normalize_text(text: str) -> str:
    """The normalized form of an article body or title; idempotent and letter-preserving.

    Removing a control character can bring two characters together that ftfy then reads as
    mojibake, so ftfy and the tidy rules repeat until the text stops changing (almost always
    after the first pass). Raises TooComplexError for text built to make that slow.
    `builder.text.normalize_batch.normalize_column` is this, over a column.
    """
    check_complexity(text)
    text = tidy(text, C0)
    for _ in range(MAX_PASSES):
        fixed = repair(text)
        if fixed == text:
            break
        text = fixed
    return text


def normalize_inline(value: str | None) -> str | None:
    """A one-line field (title, author): normalized, newlines folded to spaces; None when empty.
    `normalize_inline_column` is this, over a column."""
    if value is None:
        return None
    value = normalize_text(value).replace("\n\n", " ").replace("\n", " ")
    return value or None


@cache
def _segmented_run() -> re.Pattern[str]:
    return re.compile(segmented_set().re_class() + "+")


def words(text: str) -> list[str]:
    """The words of a text: those of `WORD`, except that each maximal run of Thai, Lao, Khmer or
    Myanmar word characters is cut where ICU's word break iterator cuts that run alone."""
    out, pos = [], 0
    for run in _segmented_run().finditer(text):
        pieces = WordBreaker(run.group(), "root").segments()
        out += WORD.findall(text, pos, run.start()) + [run.group()[a:b] for a, b in pieces]
        pos = run.end()
    return out + WORD.findall(text, pos)


def count_words(text: str) -> int:
    """The words of a text as `num_words` counts them (`word_counts` is this, over a column)."""
    return len(words(text))


def detect_language(text: str) -> str:
    """The language a text with none declared gets: the model's guess, or 'und' when unsure
    (the `language` step does this for many texts at once)."""
    (guess,) = model().guesses([text])
    return decide(guess, *model().best(guess))
