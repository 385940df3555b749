"""Words as Broadsheet counts them, and the character classes they are made of.

A word is a run of letters or digits with their combining marks (Hindi vowel signs, Arabic
vowel points), except that
- each Han or kana letter is a word of its own (those scripts do not separate words with
  spaces), a kana voicing mark after a letter staying in that letter's word; the punctuation
  of those blocks (the katakana middle dot ・, the double hyphen ゠) is no word, as elsewhere;
- a run of Thai, Lao, Khmer or Myanmar word characters is cut into words where ICU's word
  break iterator cuts it (`builder.text.segment`): those scripts do not separate words either.

`WORD` is the rule without that last clause. `builder.text.word_batch` finds the words of a
whole column; `tests/reference.py` has the one-text-at-a-time spec it is tested against.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from builder.text.re2 import CodeSet

# The planes that hold any combining mark or decomposable character (a test checks the rest).
PLANES = (range(0x30000), range(0xE0000, 0xE1000))


# Combining marks (Mn, Mc, Me): vowel signs, diacritics, accents that follow their letter.
MARK_SET = CodeSet.where(lambda ch: unicodedata.category(ch)[0] == "M", PLANES)
MARKS = MARK_SET.re_class()

# Han and kana: each of their word characters (\w or a mark) is a word of its own.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORD = re.compile(f"(?=\\w|{MARKS})[{CJK}]|(?:[^\\W{CJK}]|{MARKS})+")

LETTER_PLANES = (range(0x40000),)  # every letter is in planes 0 to 3 (a test checks the rest)


@cache
def word_characters() -> CodeSet:
    """The characters a run of the word rule is made of: \\w or a combining mark."""
    return CodeSet.matching(r"\w") | MARK_SET


@cache
def cjk_set() -> CodeSet:
    """The Han and kana characters that are words of their own: the blocks' word characters."""
    return CodeSet.matching(f"[{CJK}]") & word_characters()
