"""Words as Broadsheet counts them, and the character classes they are made of.

A word is a run of letters or digits with their combining marks (Hindi vowel signs, Arabic
vowel points), except that each Han or kana character is a word of its own (those scripts do not
separate words with spaces). `word_counts` and `words_of` find
them over a whole Arrow column in RE2; `tests/reference.py` has the one-text-at-a-time spec.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.text.re2 import CodeSet, re2_class, to_re2

# The planes that hold any combining mark or decomposable character (a test checks the rest).
PLANES = (range(0x30000), range(0xE0000, 0xE1000))


# Combining marks (Mn, Mc, Me): vowel signs, diacritics, accents that follow their letter.
MARK_SET = CodeSet.where(lambda ch: unicodedata.category(ch)[0] == "M", PLANES)
MARKS = MARK_SET.re_class()

# Han and kana: each character is a word of its own.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD = re.compile(f"[{CJK}]|(?:[^\\W{CJK}]|{MARKS})+")


@cache
def word_re2() -> str:
    return to_re2(WORD)


def word_counts(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The number of words of each text (nulls count 0), counted by RE2 over the whole column."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()  # RE2 compiles the pattern once per chunk
    if len(texts) == 0:
        return np.zeros(0, dtype=np.int64)
    counts = pc.count_substring_regex(texts, word_re2())
    return pc.fill_null(counts, 0).to_numpy(zero_copy_only=False).astype(np.int64)


LETTER_PLANES = (range(0x40000),)  # every letter is in planes 0 to 3 (a test checks the rest)


@dataclass(frozen=True, slots=True)
class WordPatterns:
    """RE2 patterns of the word rule (`WORD`) and of the characters around words."""

    cjk: str  # a Han or kana character: a text with one needs the word rule itself
    word: str  # a word, by the word rule
    non_word: str  # a run of characters outside words: what separates them
    letter: str  # a letter anywhere
    symbol: str  # a character neither in a word nor a space: punctuation, symbols, emoji


@cache
def word_patterns() -> WordPatterns:
    word = CodeSet.matching(r"\w") | MARK_SET
    space = CodeSet.matching(r"\s")
    return WordPatterns(
        cjk=CodeSet.matching(f"[{CJK}]").re2_class(),
        word=word_re2(),
        non_word=re2_class(word.ranges(), negate=True) + "+",
        letter=CodeSet.where(str.isalpha, LETTER_PLANES).re2_class(),
        symbol=re2_class((word | space).ranges(), negate=True),
    )


def split_pieces(texts: pa.Array, pattern: str, regex: bool) -> tuple[pa.Array, np.ndarray]:
    """The non-empty pieces of each text split at `pattern`, flat, and the text each came from."""
    split = pc.split_pattern_regex(texts, pattern) if regex else pc.split_pattern(texts, pattern)
    pieces, parent = split.flatten(), pc.list_parent_indices(split)
    if not regex:
        pieces = pc.utf8_trim_whitespace(pieces)
    keep = pc.greater(pc.utf8_length(pieces), 0)
    return pieces.filter(keep), parent.filter(keep).to_numpy().astype(np.int64)


def words_of(texts: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Every word of the texts as `num_words` counts them, and the text it is in.

    Without Han or kana, words are the runs of word characters, split apart by Arrow. A text
    with them first gets a space on each side of every word the word rule finds (a Han
    character is a word of its own, a kana voicing mark after a letter is part of its word).
    """
    patterns = word_patterns()
    cjk = pc.match_substring_regex(texts, patterns.cjk)
    if pc.any(cjk).as_py():
        spaced = pc.replace_substring_regex(texts.filter(cjk), patterns.word, r" \0 ")
        texts = pc.replace_with_mask(texts, cjk, spaced)
    return split_pieces(texts, patterns.non_word, regex=True)
