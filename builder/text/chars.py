"""A column of texts as one array of UTF-8 bytes, each byte classified by what its character is.

Counting words and measuring quality ask, of every character, whether it is a word character,
a Han or kana character, a space, a letter. RE2 answered each question in a pass of its own,
matching classes of thousands of ranges; here one pass (`bytes.translate`) classifies the ASCII
characters and the others are decoded and looked up one table entry each. Every byte of a
character carries the character's bits, so a run of word characters is a run of bytes, and
nothing is decoded for an ASCII text. The table is built from Python's own definitions
(`CodeSet`, `str.isspace`, `str.isalpha`), so each character is classified as the per-text
rules classify it, whatever Unicode version Arrow carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.text.re2 import CODE_POINTS, CodeSet
from builder.text.segment import segmented_set
from builder.text.words import LETTER_PLANES, MARK_SET, cjk_set, word_characters

CHUNK_BYTES = 1 << 20  # text classified at once: the arrays per byte take ~10 times its size
LINE_FEED = 0x0A
CLOSERS = "\"'”’»›)]」』）"  # may follow the punctuation that ends a line (quality signals)


class Kind(IntFlag):
    """What the character a byte belongs to is, as bits."""

    WORD = 1  # part of a word: \w, a combining mark, or a Han or kana character
    CJK = 2  # a Han or kana character: a word of its own...
    CJK_MARK = 4  # ...except a kana voicing mark continuing the word before it
    SEGMENTED = 8  # a word character of Thai, Lao, Khmer or Myanmar: cut by ICU
    SPACE = 16  # str.isspace
    LETTER = 32  # str.isalpha
    CLOSER = 64  # a closing quote or bracket (CLOSERS)
    CONTINUATION = 128  # not the first byte of its character


@cache
def kind_table() -> np.ndarray:
    """The Kind bits of every code point (built once per process, in about a second)."""
    sets = {
        Kind.WORD: word_characters() | cjk_set(),
        Kind.CJK: cjk_set(),
        Kind.CJK_MARK: cjk_set() & MARK_SET,
        Kind.SEGMENTED: segmented_set(),
        Kind.SPACE: CodeSet.where(str.isspace),
        Kind.LETTER: CodeSet.where(str.isalpha, LETTER_PLANES),
        Kind.CLOSER: CodeSet.of(map(ord, CLOSERS)),
    }
    table = np.zeros(CODE_POINTS, np.uint8)
    for kind, members in sets.items():
        table[members.members] |= np.uint8(kind)
    return table


@cache
def _ascii_table() -> bytes:
    """`bytes.translate` table: the bits of each ASCII character (other bytes are set later)."""
    return kind_table()[:0x80].tobytes() + bytes(0x80)


@dataclass(frozen=True, slots=True)
class Chars:
    """The UTF-8 bytes of a column of texts, each text followed by a line feed: no word or line
    runs from one text into the next, and the last byte is a line feed (so position -1 is one,
    never part of a word)."""

    codes: np.ndarray  # uint8 UTF-8 bytes
    kinds: np.ndarray  # uint8 Kind bits of each byte
    starts: np.ndarray  # int64, rows + 1: text i is codes[starts[i] : starts[i + 1] - 1]
    present: Kind  # every bit some byte has: work for an absent kind is skipped

    @property
    def rows(self) -> int:
        return len(self.starts) - 1

    def has(self, kind: Kind) -> np.ndarray:
        """For each byte, whether its character is of (any of) these kinds."""
        return (self.kinds & np.uint8(kind)) != 0

    def first_bytes(self, kind: Kind) -> np.ndarray:
        """The position of each character of this kind (of its first byte)."""
        bits = np.uint8(kind | Kind.CONTINUATION)
        return np.flatnonzero((self.kinds & bits) == np.uint8(kind))

    def lengths(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The characters of each span of bytes (spans start and end at characters)."""
        if not self.present & Kind.CONTINUATION:
            return ends - starts
        inner = np.flatnonzero(self.has(Kind.CONTINUATION))
        return ends - starts - (np.searchsorted(inner, ends) - np.searchsorted(inner, starts))


@dataclass(frozen=True, slots=True)
class Spans:
    """Pieces of the texts of a Chars (its words, its lines), in text order."""

    starts: np.ndarray  # int64 position in Chars.codes of each piece's first byte
    ends: np.ndarray  # and one past its last
    first: np.ndarray  # int64, rows + 1: the pieces of text i are first[i] .. first[i + 1] - 1

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.first)

    @property
    def owner(self) -> np.ndarray:
        """The text of each piece."""
        return np.repeat(np.arange(len(self.first) - 1), self.counts)


def chars_of(texts: pa.Array) -> Chars:
    """The bytes of `texts` (a string array without nulls), classified."""
    if len(texts) == 0:
        empty = np.zeros(0, np.uint8)
        return Chars(empty, empty, np.zeros(1, np.int64), Kind(0))
    line_feed, nothing = pa.scalar("\n", texts.type), pa.scalar("", texts.type)
    joined = pc.binary_join_element_wise(texts, line_feed, nothing)  # each text, a line feed
    width = np.int64 if pa.types.is_large_string(joined.type) else np.int32
    offsets = np.frombuffer(joined.buffers()[1], width)[
        joined.offset : joined.offset + len(joined) + 1
    ].astype(np.int64)
    codes = np.frombuffer(joined.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
    kinds = classify(codes)
    return Chars(codes, kinds, offsets - offsets[0], Kind(int(np.bitwise_or.reduce(kinds))))


def classify(codes: np.ndarray) -> np.ndarray:
    """The Kind bits of each byte of UTF-8 text: its character's, and CONTINUATION for every
    byte but a character's first."""
    kinds = np.frombuffer(codes.tobytes().translate(_ascii_table()), np.uint8)
    if not len(codes) or codes.max() < 0x80:
        return kinds
    kinds = kinds.copy()
    leads = np.flatnonzero(codes >= 0xC0)
    size = char_sizes(codes[leads])
    bits = kind_table()[code_points(codes, leads)]
    kinds[leads] = bits
    for offset in (1, 2, 3):
        longer = size > offset
        kinds[leads[longer] + offset] = bits[longer] | np.uint8(Kind.CONTINUATION)
    return kinds


def char_sizes(leads: np.ndarray) -> np.ndarray:
    """The bytes of each character, from its first byte."""
    return 1 + (leads >= 0xC0).astype(np.int64) + (leads >= 0xE0) + (leads >= 0xF0)


def code_points(codes: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The code point of the character starting at each of these positions (UTF-8 decoded)."""
    first = codes[at].astype(np.int64)
    size = char_sizes(first)
    points = first & np.array([0, 0x7F, 0x1F, 0x0F, 0x07])[size]
    for offset in (1, 2, 3):
        longer = size > offset
        following = codes[np.minimum(at + offset, len(codes) - 1)].astype(np.int64) & 0x3F
        points = np.where(longer, (points << 6) | following, points)
    return points


def chunks(texts: pa.Array) -> list[slice]:
    """Consecutive rows of about CHUNK_BYTES of text (at least one row each): the memory the
    per-byte arrays take is bounded by a chunk and the largest text."""
    ends = np.cumsum(pc.binary_length(texts).to_numpy(zero_copy_only=False))
    out, start = [], 0
    while start < len(texts):
        before = int(ends[start - 1]) if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, before + CHUNK_BYTES, side="right")))
        out.append(slice(start, stop))
        start = stop
    return out
