"""Gopher's top n-gram measure, on words, for every text of a batch at once.

N-grams are numbered exactly, from the numbers of their words, by sorting integer keys that also
carry each n-gram's position: one sort groups equal n-grams and lists their occurrences in text
order. An n-gram can repeat only where the two (n-1)-grams in it both repeat, so beyond 2-grams
only those are numbered: usually a small part of the words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOP_NGRAMS = (2, 3, 4)
MAX_WORDS = 1 << 20  # keys of (n-gram, position) fit in int64 below this many words


@dataclass(frozen=True, slots=True)
class _Groups:
    """N-grams sorted so that equal ones of a text are together, in text order."""

    at: np.ndarray  # the position of each n-gram (its first word), in that order
    number: np.ndarray  # the number of its group of equal n-grams (0, 1, ...)
    starts: np.ndarray  # where in that order each group starts
    frequency: np.ndarray  # the size of each group


def top_ngram_chars(
    ids: np.ndarray, lengths: np.ndarray, owner: np.ndarray, rows: int
) -> dict[int, np.ndarray]:
    """Per n of TOP_NGRAMS and per text, the characters of its words covered by the occurrences
    of its most frequent word n-gram (ties: the longer, then the first); 0 when no n-gram
    repeats. Words are `ids` (equal words, equal ids) of `lengths` characters, in text order,
    `owner` the text of each."""
    words = len(ids)
    if words >= MAX_WORDS:
        raise ValueError(f"{words:,} words: n-grams are numbered for fewer than {MAX_WORDS:,}")
    ends = np.zeros(words + 1, np.int64)
    np.cumsum(lengths, out=ends[1:])
    distinct = int(ids.max(initial=-1)) + 1
    at = np.flatnonzero(owner[:-1] == owner[1:])  # 2-grams inside one text
    left = ids[at]  # the number of the (n-1)-gram at each position of `at`
    out = {}
    for n in range(2, max(TOP_NGRAMS) + 1):
        groups = _groups(left * distinct + ids[at + n - 1], at, owner)
        if n in TOP_NGRAMS:
            out[n] = _covered(groups, n, owner, ends, rows)
        at, left = _both_halves_repeat(groups)
    return out


def _groups(keys: np.ndarray, at: np.ndarray, owner: np.ndarray) -> _Groups:
    """The n-grams at these positions, of these keys (equal keys, equal n-grams), grouped."""
    shift = max(len(owner), 1).bit_length()
    packed = np.sort((keys << shift) | at)
    at = packed & ((1 << shift) - 1)
    keys = packed >> shift
    texts = owner[at]
    new = np.ones(len(at), bool)
    new[1:] = (keys[1:] != keys[:-1]) | (texts[1:] != texts[:-1])
    starts = np.flatnonzero(new)
    return _Groups(at, np.cumsum(new) - 1, starts, np.diff(np.append(starts, len(at))))


def _both_halves_repeat(groups: _Groups) -> tuple[np.ndarray, np.ndarray]:
    """Where an (n+1)-gram may repeat, n-grams at i and i + 1 both repeating, in text order,
    and the number of the n-gram at each."""
    entries = _members(groups, np.flatnonzero(groups.frequency >= 2))
    shift = max(len(groups.number), 1).bit_length()
    packed = np.sort((groups.at[entries] << shift) | groups.number[entries])
    at, number = packed >> shift, packed & ((1 << shift) - 1)
    followed = np.flatnonzero(at[1:] == at[:-1] + 1)
    return at[followed], number[followed]


def _covered(groups: _Groups, n: int, owner: np.ndarray, ends: np.ndarray, rows: int) -> np.ndarray:
    """Per text, the characters covered by the occurrences of its best repeated n-gram."""
    repeated = np.flatnonzero(groups.frequency >= 2)
    at = groups.at[groups.starts[repeated]]  # the first occurrence of each repeated n-gram
    text = owner[at]
    score = (groups.frequency[repeated] << 32) | (ends[at + n] - ends[at])  # both below 2**31
    best = np.full(rows, -1)
    np.maximum.at(best, text, score)
    tied = np.flatnonzero(score == best[text])  # the most frequent, then the longest...
    earliest = np.full(rows, len(owner))
    np.minimum.at(earliest, text[tied], at[tied])
    chosen = repeated[tied[at[tied] == earliest[text[tied]]]]  # ...then the first, per text
    entries = _members(groups, chosen)
    hits = groups.at[entries]  # every occurrence of the chosen n-grams, in text order
    covered_from = hits.copy()  # an occurrence adds what the one before it left uncovered
    later = np.zeros(len(hits), bool)  # not the first occurrence of its n-gram
    later[1:] = groups.number[entries[1:]] == groups.number[entries[:-1]]
    covered_from[later] = np.maximum(hits[later], hits[np.flatnonzero(later) - 1] + n)
    return np.bincount(owner[hits], weights=ends[hits + n] - ends[covered_from], minlength=rows)


def _members(groups: _Groups, which: np.ndarray) -> np.ndarray:
    """Where in the sorted order every n-gram of these groups is, group after group."""
    sizes = groups.frequency[which]
    before = np.cumsum(sizes) - sizes
    return np.repeat(groups.starts[which] - before, sizes) + np.arange(sizes.sum())
