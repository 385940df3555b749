"""Words of the scripts written without spaces between them: Thai, Lao, Khmer and Myanmar.

These scripts write a phrase, often a whole sentence, as one run of letters, so the word rule
alone counts a paragraph as a few words and rejects real articles as too short. Their runs are
cut where ICU's word break iterator cuts them: one dictionary per script, bundled with the
pinned icu4py wheel, so the same text gives the same words on every machine. Only the runs go
to ICU, never the text around them: ICU keeps "U.S." and "2.50" whole and glues Latin letters
to Thai, where the word rule cuts them.

Tibetan is left to the word rule: its syllables are separated by a tsheg (U+0F0B, punctuation),
so each syllable counts as a word, and ICU, which has no Tibetan dictionary, finds the same
syllables.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from icu4py.breakers import WordBreaker

from builder.text.re2 import CodeSet
from builder.text.words import word_characters

# The blocks whose words ICU finds with a dictionary. All are in the BMP, where ICU's UTF-16
# offsets are code point offsets.
SEGMENTED_BLOCKS = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer Symbols
    (0xA9E0, 0xA9FF),  # Myanmar Extended-B
    (0xAA60, 0xAA7F),  # Myanmar Extended-A
)


@cache
def segmented_set() -> CodeSet:
    """The word characters (as the word rule counts them) of these blocks: a maximal run of
    them is what ICU cuts."""
    return word_characters() & CodeSet.spanning(SEGMENTED_BLOCKS)


def breaks(text: str) -> np.ndarray:
    """The offsets where ICU's word break iterator ends each piece of `text`, the last being
    len(text). `text` must be in the BMP (then ICU's UTF-16 offsets are code point offsets).

    ICU always breaks before and after a line feed and reads what follows one as the start of a
    text, so runs joined by line feeds are cut in one call exactly as each would be alone."""
    return np.fromiter((end for _, end in WordBreaker(text, "root").segments()), np.int64)
