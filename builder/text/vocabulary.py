"""The distinct words of a chunk of texts, numbered exactly, and what the quality signals ask of each.

Equal words get equal numbers from Arrow's hash table over their bytes (no hash of a word ever
stands for the word), so repeated n-grams are found exactly. A word's length, whether it holds
a letter and which stop-word lists hold it lower-cased are asked once per distinct word.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.text.chars import Chars, Kind, Spans, classify
from builder.text.stopwords import lower_table, stop_table


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Per word, the number of its distinct word; per distinct word, what the signals ask."""

    ids: np.ndarray  # int64 per word
    lengths_and_letter: np.ndarray  # int64 per distinct word: its characters, + 2**32 if it
    # holds a letter (str.isalpha): one gather and one sum per word give both, per text
    stop_lists: np.ndarray  # int64 per distinct word: bit i for stop_languages()[i]'s list


def vocabulary(chars: Chars, words: Spans, look_up_stop_words: bool) -> Vocabulary:
    """The vocabulary of these words. Their stop-word lists are looked up only when some text
    of the chunk has a language with a list (`look_up_stop_words`); else they are left empty."""
    # The words partition the word characters: their bytes in a row are every word byte's.
    spelled = _binary(np.compress(chars.has(Kind.WORD), chars.codes), words.ends - words.starts)
    encoded = spelled.dictionary_encode()
    codes, offsets = _bytes(encoded.dictionary)
    ids = encoded.indices.to_numpy().astype(np.int64)
    if len(offsets) == 1:
        return Vocabulary(ids, np.zeros(0, np.int64), np.zeros(0, np.int64))
    kinds = classify(codes)
    firsts = (kinds & np.uint8(Kind.CONTINUATION)) == 0
    lengths = np.add.reduceat(firsts, offsets[:-1], dtype=np.int64)
    letter = np.logical_or.reduceat((kinds & np.uint8(Kind.LETTER)) != 0, offsets[:-1])
    lengths_and_letter = lengths | (letter.astype(np.int64) << 32)
    if not look_up_stop_words:
        return Vocabulary(ids, lengths_and_letter, np.zeros(len(lengths), np.int64))
    points = np.frombuffer(codes.tobytes().decode().encode("utf-32-le"), np.uint32)
    lowered = _binary(lower_table()[points], lengths)
    keys, lists = stop_table()
    found = pc.index_in(lowered, value_set=keys)
    stop_lists = np.where(found.is_valid(), lists[pc.fill_null(found, 0)], 0)
    return Vocabulary(ids, lengths_and_letter, stop_lists)


def _binary(values: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """Strings of these many values each, in a row, as one binary array."""
    offsets = np.concatenate(([0], np.cumsum(lengths))) * values.itemsize
    buffers = [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(values)]
    return pa.Array.from_buffers(pa.binary(), len(lengths), buffers)


def _bytes(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of a binary array, and where each string starts in them (and the end)."""
    offsets = np.frombuffer(strings.buffers()[1], np.int32)
    offsets = offsets[strings.offset : strings.offset + len(strings) + 1].astype(np.int64)
    data = strings.buffers()[2]
    codes = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    return codes[offsets[0] : offsets[-1]], offsets - offsets[0]
