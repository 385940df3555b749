"""The stop-word lists of the `stop_word_share` quality signal, by language (stopwords.toml)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import pyarrow as pa

STOPWORDS_FILE = Path(__file__).with_name("stopwords.toml")


@cache
def stop_words() -> dict[str, frozenset[str]]:
    """The shipped stop-word lists by ISO 639-1 code (a bad file is a bug: the tests load it)."""
    data = tomllib.loads(STOPWORDS_FILE.read_text(encoding="utf-8"))
    return {language: frozenset(words) for language, words in data.items()}


@cache
def stop_keys() -> pa.Array:
    """Every '<language>:<word>' of the lists, for one is_in over a batch's words."""
    keys = sorted(f"{lang}:{word}" for lang, words in stop_words().items() for word in words)
    return pa.array(keys, pa.string())
