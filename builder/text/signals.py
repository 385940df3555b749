"""Quality signals (Gopher, C4 and dolma style), computed over a whole column of texts at once:
Arrow (RE2) cuts the texts into lines and words, numpy counts per text with bincount and finds
repeated lines and n-grams by sorting, so the cost per article is a few passes over its
characters and a sort of its words.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.text.stopwords import stop_keys, stop_words
from builder.text.words import split_pieces, word_patterns, words_of
from schema.article import QUALITY_MEASURED_CHARS, QUALITY_SIGNALS
from schema.languages import UNDETERMINED

TOP_NGRAMS = (2, 3, 4)
CHUNK_BYTES = 1 << 20  # text measured at once (+25 MB; a larger chunk is no faster)
_CLOSERS = "\"'”’»›)\\]」』）"  # may follow the last punctuation of a line (RE2 class body)
TERMINAL_LINE = f"[.!?…。！？｡؟۔।॥።‼⁇⁈⁉][{_CLOSERS}]*$"
ELLIPSIS_LINE = f"(?:\\.\\.\\.|…)[{_CLOSERS}]*$"
BULLET_LINE = "^(?:[•‣◦●○▪▫■□►▶➢➤✓✔]|[-*+]\\s)"


def _share(part: np.ndarray, whole: np.ndarray) -> pa.Array:
    """part / whole as float64, null where whole is 0."""
    defined = whole > 0
    values = np.divide(part, whole, out=np.zeros(len(whole)), where=defined)
    return pa.array(values, pa.float64(), mask=~defined)


def _count(flags: np.ndarray | pa.Array, owner: np.ndarray, rows: int) -> np.ndarray:
    """Per text, how many of its items are flagged (or the sum of their weights)."""
    if isinstance(flags, pa.Array):
        flags = pc.fill_null(flags, False).to_numpy(zero_copy_only=False)
    return np.bincount(owner, weights=flags, minlength=rows)


def _dense(keys: np.ndarray) -> np.ndarray:
    """Equal keys to equal small integers (0 .. distinct - 1)."""
    return np.unique(keys, return_inverse=True)[1].astype(np.int64)


def _line_signals(texts: pa.Array, rows: int) -> dict[str, pa.Array]:
    lines, owner = split_pieces(texts, "\n", regex=False)
    count = np.bincount(owner, minlength=rows)
    lengths = pc.utf8_length(lines).to_numpy().astype(np.int64)
    repeated = np.ones(len(lines), dtype=bool)
    if len(lines):
        ids = lines.dictionary_encode().indices.to_numpy().astype(np.int64)
        _, first = np.unique(owner * (int(ids.max()) + 1) + ids, return_index=True)
        repeated[first] = False
    return {
        "terminal_punct_line_share": _share(
            _count(pc.match_substring_regex(lines, TERMINAL_LINE), owner, rows), count
        ),
        "ellipsis_line_share": _share(
            _count(pc.match_substring_regex(lines, ELLIPSIS_LINE), owner, rows), count
        ),
        "bullet_line_share": _share(
            _count(pc.match_substring_regex(lines, BULLET_LINE), owner, rows), count
        ),
        "duplicate_line_share": _share(_count(repeated, owner, rows), count),
        "duplicate_line_char_share": _share(
            _count(lengths * repeated, owner, rows), _count(lengths, owner, rows)
        ),
    }


def top_ngram_shares(
    ids: np.ndarray, owner: np.ndarray, lengths: np.ndarray, rows: int
) -> dict[int, pa.Array]:
    """Per n of TOP_NGRAMS and per text, the share of its words' characters covered by the
    occurrences of its most frequent word n-gram (ties: the longer, then the first); 0 when no
    n-gram repeats, null with fewer than n words. Words are `ids` (equal words, equal ids) in
    text order, `owner` their text; n-grams are numbered exactly, by sorting, never hashed."""
    words = len(ids)
    ends = np.concatenate(([0], np.cumsum(lengths)))
    chars = np.bincount(owner, weights=lengths, minlength=rows)
    counts = np.bincount(owner, minlength=rows)
    base = int(ids.max(initial=0)) + 1
    prev = owner * base + ids  # numbers each (text, word); then each (text, n-gram) at i
    out = {}
    for n in range(2, max(TOP_NGRAMS) + 1):
        if (int(prev.max(initial=0)) + 1) * base >= 1 << 62:
            prev = _dense(prev)
        starts = np.arange(max(words - n + 1, 0))
        starts = starts[owner[starts] == owner[starts + n - 1]]  # n-grams inside one text
        _, inverse, frequency = np.unique(  # no return_index: it makes the sort stable, 2x slower
            prev[starts] * base + ids[starts + n - 1], return_inverse=True, return_counts=True
        )
        inverse = inverse.ravel()
        prev = np.zeros(max(words - n + 1, 0), dtype=np.int64)
        prev[starts] = inverse
        repeated = np.flatnonzero(frequency >= 2)  # the candidates: usually few
        again = np.flatnonzero(frequency[inverse] >= 2)
        at = starts[again[np.unique(inverse[again], return_index=True)[1]]]  # first of each
        span = ends[at + n] - ends[at]
        order = np.lexsort((-at, span, frequency[repeated], owner[at]))  # per text, best last
        last = order[np.flatnonzero(np.diff(np.append(owner[at][order], -1)))]
        best = np.zeros(len(frequency), dtype=bool)
        best[repeated[last]] = True
        hits = starts[best[inverse]]
        marks = (
            np.bincount(hits, minlength=words + 1)
            - np.bincount(hits + n, minlength=words + n + 1)[: words + 1]
        )
        covered = np.cumsum(marks)[:words] > 0
        if n in TOP_NGRAMS:
            share = np.bincount(owner, weights=lengths * covered, minlength=rows)
            out[n] = _share(share, np.where(counts >= n, chars, 0))
    return out


def signals(
    texts: pa.Array | pa.ChunkedArray, languages: pa.Array | pa.ChunkedArray
) -> dict[str, pa.Array]:
    """Every quality signal of each text (`QUALITY_SIGNALS`), null where it is undefined; the
    language picks the stop-word list. Each text is measured on its first QUALITY_MEASURED_CHARS,
    and texts CHUNK_BYTES at a time: the arrays per word take about 25 times a chunk's bytes."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if isinstance(languages, pa.ChunkedArray):
        languages = languages.combine_chunks()
    texts = pc.utf8_slice_codeunits(pc.fill_null(texts, ""), 0, QUALITY_MEASURED_CHARS)
    languages = pc.fill_null(languages, UNDETERMINED)
    parts = [_signals(texts[rows], languages[rows]) for rows in _chunks(texts)]
    return {
        name: pa.concat_arrays([part[name] for part in parts])
        if parts
        else pa.array([], pa.float64())
        for name in QUALITY_SIGNALS
    }


def _chunks(texts: pa.Array) -> list[slice]:
    """Consecutive rows of about CHUNK_BYTES of text (at least one row each)."""
    ends = np.cumsum(pc.binary_length(texts).to_numpy(zero_copy_only=False))
    chunks, start = [], 0
    while start < len(texts):
        before = int(ends[start - 1]) if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, before + CHUNK_BYTES, side="right")))
        chunks.append(slice(start, stop))
        start = stop
    return chunks


def _signals(texts: pa.Array, languages: pa.Array) -> dict[str, pa.Array]:
    rows = len(texts)
    out = _line_signals(texts, rows)
    words, owner = words_of(texts)
    lengths = pc.utf8_length(words).to_numpy().astype(np.int64)
    counts = np.bincount(owner, minlength=rows)
    word_chars = np.bincount(owner, weights=lengths, minlength=rows)
    patterns = word_patterns()
    symbols = pc.count_substring_regex(texts, patterns.symbol).to_numpy().astype(np.int64)
    out["mean_word_length"] = _share(word_chars, counts)
    out["letter_word_share"] = _share(
        _count(pc.match_substring_regex(words, patterns.letter), owner, rows), counts
    )
    out["non_alnum_char_share"] = _share(symbols, word_chars + symbols)
    ids = words.dictionary_encode().indices.to_numpy().astype(np.int64)
    for n, share in top_ngram_shares(ids, owner, lengths, rows).items():
        out[f"top_{n}gram_char_share"] = share
    listed = pc.is_in(languages, pa.array(sorted(stop_words()), pa.string()))
    keys = pc.binary_join_element_wise(languages.take(pa.array(owner)), pc.utf8_lower(words), ":")
    stops = _count(pc.is_in(keys, value_set=stop_keys()), owner, rows)
    out["stop_word_share"] = _share(
        stops, np.where(listed.to_numpy(zero_copy_only=False), counts, 0)
    )
    return out
