"""The word rule (`builder.text.words`) over a whole column: where every word starts and ends.

Words are the runs of word characters (one comparison of neighbours over the column's
classified bytes, `builder.text.chars`), cut further where the rule says a word ends inside such a run:
around a Han or kana character, at the edges of a Thai, Lao, Khmer or Myanmar run and where ICU
cuts it. Only texts holding those characters pay for the cuts. `num_words` and the quality
signals read the same spans, so both count the same words.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.text.chars import CHUNK_BYTES, Chars, Kind, Spans, char_sizes, chars_of, chunks
from builder.text.segment import breaks

_NONE = np.zeros(0, np.int64)


def words_of(chars: Chars) -> Spans:
    """The words of every text of `chars`."""
    inside = chars.has(Kind.WORD)
    edges = np.flatnonzero(inside[1:] != inside[:-1]) + 1  # starts and ends, alternating
    if inside[:1].any():
        edges = np.concatenate(([0], edges))
    cuts = np.sort(np.concatenate([_cjk_cuts(chars), _segment_cuts(chars)]))
    cuts = cuts[np.diff(cuts, prepend=-1) > 0]  # each once (two Han characters share one)
    cuts = cuts[inside[cuts - 1] & inside[cuts]]  # a cut at p ends a word at p, starts one there
    if len(cuts):
        edges = np.sort(np.concatenate([edges, cuts, cuts]))
    starts = edges[0::2]
    return Spans(starts, edges[1::2], np.searchsorted(starts, chars.starts))


def word_counts(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The number of words of each text (nulls count 0). With a text of more than CHUNK_BYTES
    the texts are counted in pieces split at their spaces, which no word holds: the arrays per
    byte then take ~10 times a chunk, not ~10 times the largest text."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = pc.fill_null(texts, "")
    if not pc.any(pc.greater(pc.binary_length(texts), CHUNK_BYTES)).as_py():
        return _counts(texts)
    pieces = pc.split_pattern(texts, " ")
    counts = _counts(pieces.flatten())
    parents = pc.list_parent_indices(pieces).to_numpy()
    return np.bincount(parents, weights=counts, minlength=len(texts)).astype(np.int64)


def _counts(texts: pa.Array) -> np.ndarray:
    counts = [words_of(chars_of(texts[rows])).counts for rows in chunks(texts)]
    return np.concatenate(counts) if counts else _NONE


def _cjk_cuts(chars: Chars) -> np.ndarray:
    """Both sides of every Han or kana character that is a word of its own."""
    if not chars.present & Kind.CJK:
        return _NONE
    cjk = chars.first_bytes(Kind.CJK)
    if chars.present & Kind.CJK_MARK:
        cjk = cjk[~_continuing(chars, cjk)]
    return np.concatenate([cjk, cjk + char_sizes(chars.codes[cjk])])


def _continuing(chars: Chars, cjk: np.ndarray) -> np.ndarray:
    """Which of these Han and kana characters are voicing marks continuing a word: a run of
    such marks continues the word of the character before it when that character is a word
    character other than Han or kana (the word rule's runs take marks in), and not the end of a
    Thai, Lao, Khmer or Myanmar run (the word rule starts afresh after one)."""
    marks = (chars.kinds[cjk] & np.uint8(Kind.CJK_MARK)) != 0
    at = cjk[marks]
    first = _run_starts(at, chars)
    run_start = at[np.maximum.accumulate(np.where(first, np.arange(len(at)), 0))]
    before = chars.kinds[run_start - 1] & np.uint8(Kind.WORD | Kind.CJK | Kind.SEGMENTED)
    out = np.zeros(len(cjk), bool)
    out[marks] = before == Kind.WORD
    return out


def _segment_cuts(chars: Chars) -> np.ndarray:
    """Both ends of every Thai, Lao, Khmer or Myanmar run, and each place ICU cuts it. All the
    runs of the chunk go to ICU in one call, joined by line feeds (`segment.breaks`)."""
    if not chars.present & Kind.SEGMENTED:
        return _NONE
    at = chars.first_bytes(Kind.SEGMENTED)
    ends = at + char_sizes(chars.codes[at])
    first = np.flatnonzero(_run_starts(at, chars))  # index in `at` of each run's first character
    last = np.append(first[1:], len(at)) - 1
    runs = [chars.codes[a:b].tobytes().decode() for a, b in zip(at[first], ends[last], strict=True)]
    source = np.insert(at, first[1:], -1)  # where each character of the joined runs is; -1: "\n"
    cut = breaks("\n".join(runs))[:-1]
    inner = cut[(source[cut - 1] >= 0) & (source[cut] >= 0)]  # run characters on both sides
    return np.concatenate([at[first], ends[last], source[inner]])


def _run_starts(at: np.ndarray, chars: Chars) -> np.ndarray:
    """Which of these characters (first bytes, in order) does not follow the one before it."""
    follows = at[1:] == at[:-1] + char_sizes(chars.codes[at[:-1]])
    return np.concatenate(([True], ~follows)) if len(at) else np.zeros(0, bool)
