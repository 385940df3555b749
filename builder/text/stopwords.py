"""The stop-word lists of the `stop_word_share` quality signal, by language (stopwords.toml),
and the lower-casing a word goes through before it is looked up in them."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa

from builder.text.re2 import CODE_POINTS, CodeSet

STOPWORDS_FILE = Path(__file__).with_name("stopwords.toml")
CASED_PLANES = (range(0x20000),)  # every character str.lower changes (a test checks the rest)
# Python lower-cases these to something other than one fixed code point: İ to two (i and a
# combining dot), Σ to σ or, at the end of a word, ς. The table maps them to a code point no
# stop word holds, which is exact while no stop word holds a combining dot, σ or ς (a test
# checks the lists).
CONTEXTUAL = "İΣ"
NO_CHARACTER = CODE_POINTS


@cache
def stop_words() -> dict[str, frozenset[str]]:
    """The shipped stop-word lists by ISO 639-1 code (a bad file is a bug: the tests load it)."""
    data = tomllib.loads(STOPWORDS_FILE.read_text(encoding="utf-8"))
    return {language: frozenset(words) for language, words in data.items()}


@cache
def stop_languages() -> tuple[str, ...]:
    """The languages with a list, in the order of their bits in `stop_table`."""
    return tuple(sorted(stop_words()))


@cache
def stop_table() -> tuple[pa.Array, np.ndarray]:
    """Every word of any list in UTF-32 (binary, for Arrow's is_in over a batch's lower-cased
    words spelled the same way), and for each the bits of the lists holding it."""
    lists = stop_languages()
    words = sorted(set().union(*stop_words().values()))
    bits = [sum(1 << i for i, lang in enumerate(lists) if w in stop_words()[lang]) for w in words]
    spelled = [w.encode("utf-32-le") for w in words]
    return pa.array(spelled, pa.binary()), np.array(bits, np.int64)


@cache
def lower_table() -> np.ndarray:
    """For every code point, the one code point `str.lower` makes of it (NO_CHARACTER for the
    CONTEXTUAL ones): lower-casing a word is then a table lookup per character."""
    table = np.arange(CODE_POINTS, dtype=np.uint32)
    for plane in CASED_PLANES:
        for code in CodeSet.where(lambda ch: ch.lower() != ch, [plane]).codepoints():
            lowered = chr(code).lower()
            single = len(lowered) == 1 and chr(code) not in CONTEXTUAL
            table[code] = ord(lowered) if single else NO_CHARACTER
    return table
