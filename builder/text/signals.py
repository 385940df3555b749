"""Quality signals (Gopher, C4 and dolma style), computed over a whole column of texts at once.

The texts' bytes are classified once (`chars`); words and lines are spans of that array
(`word_batch`, `lines`); distinct words are numbered by Arrow's hash table (`vocabulary`) and
n-grams by sorting integer keys (`ngrams`). Every signal is then a count per text over those
arrays: a few passes over the bytes and a few over the words, whatever the scripts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.text.chars import Chars, Kind, Spans, chars_of, chunks, code_points
from builder.text.lines import lines_of, skip
from builder.text.ngrams import top_ngram_chars
from builder.text.stopwords import stop_languages
from builder.text.vocabulary import vocabulary
from builder.text.word_batch import words_of
from schema.article import QUALITY_MEASURED_CHARS, QUALITY_SIGNALS
from schema.languages import UNDETERMINED


def _codes(characters: str) -> np.ndarray:
    return np.array(sorted(map(ord, characters)))


TERMINALS = _codes(".!?…。！？｡؟۔।॥።‼⁇⁈⁉")  # a line ending in one (then chars.CLOSERS) is terminal
BULLETS = _codes("•‣◦●○▪▫■□►▶➢➤✓✔")  # a line starting with one is a bullet...
BULLET_SIGNS = _codes("-*+")  # ...or with one of these and then
BULLET_SPACES = _codes(" \t\n\f\r")  # one of these (RE2's \s, which the rule was written in)
DOT, ELLIPSIS = ord("."), ord("…")


def _share(part: np.ndarray, whole: np.ndarray) -> pa.Array:
    """part / whole as float64, null where whole is 0."""
    defined = whole > 0
    values = np.divide(part, whole, out=np.zeros(len(whole)), where=defined)
    return pa.array(values, pa.float64(), mask=~defined)


def _per_text(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Sums of `values` (one per word or line) per text: text i's are first[i] .. first[i+1]-1."""
    before = np.zeros(len(values) + 1, np.int64)
    np.cumsum(values, out=before[1:])
    return before[first[1:]] - before[first[:-1]]


def signals(
    texts: pa.Array | pa.ChunkedArray, languages: pa.Array | pa.ChunkedArray
) -> dict[str, pa.Array]:
    """Every quality signal of each text (`QUALITY_SIGNALS`), null where it is undefined; the
    language picks the stop-word list. Each text is measured on its first QUALITY_MEASURED_CHARS,
    and texts `chars.CHUNK_BYTES` at a time, which bounds the memory the arrays take."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if isinstance(languages, pa.ChunkedArray):
        languages = languages.combine_chunks()
    texts = pc.fill_null(texts, "")
    longer = pc.greater(pc.binary_length(texts), QUALITY_MEASURED_CHARS)  # more bytes than that
    if pc.any(longer).as_py():  # only a text of more bytes can have more characters
        cut = pc.utf8_slice_codeunits(texts.filter(longer), 0, QUALITY_MEASURED_CHARS)
        texts = pc.replace_with_mask(texts, longer, cut)
    languages = pc.fill_null(languages, UNDETERMINED)
    parts = [_signals(chars_of(texts[rows]), languages[rows]) for rows in chunks(texts)]
    return {
        name: pa.concat_arrays([part[name] for part in parts])
        if parts
        else pa.array([], pa.float64())
        for name in QUALITY_SIGNALS
    }


def _signals(chars: Chars, languages: pa.Array) -> dict[str, pa.Array]:
    out = _line_signals(chars, lines_of(chars))
    stop_list = pc.index_in(languages, pa.array(stop_languages(), pa.string()))
    listed = stop_list.is_valid().to_numpy(zero_copy_only=False)
    words = words_of(chars)
    known = vocabulary(chars, words, look_up_stop_words=bool(listed.any()))
    counts = words.counts
    # One gather and one sum per word for two signals: a word's characters (below 2**32 in a
    # text) in the low bits, 1 above them when it holds a letter.
    per_word = known.lengths_and_letter[known.ids]
    lengths = per_word & 0xFFFFFFFF
    per_text = _per_text(per_word, words.first)
    word_chars, letter_words = per_text & 0xFFFFFFFF, per_text >> 32
    others = np.uint8(Kind.WORD | Kind.SPACE | Kind.CONTINUATION)
    symbol = (chars.kinds & others) == 0  # a character neither in a word nor a space
    symbols = np.add.reduceat(symbol, chars.starts[:-1], dtype=np.int64)
    out["mean_word_length"] = _share(word_chars, counts)
    out["letter_word_share"] = _share(letter_words, counts)
    out["non_alnum_char_share"] = _share(symbols, word_chars + symbols)
    for n, covered in top_ngram_chars(known.ids, lengths, words.owner, chars.rows).items():
        out[f"top_{n}gram_char_share"] = _share(covered, np.where(counts >= n, word_chars, 0))
    bit = np.repeat(pc.fill_null(stop_list, 0).to_numpy().astype(np.int64), counts)
    stops = (known.stop_lists[known.ids] >> bit) & 1
    out["stop_word_share"] = _share(_per_text(stops, words.first), np.where(listed, counts, 0))
    return out


def _line_signals(chars: Chars, lines: Spans) -> dict[str, pa.Array]:
    codes, starts, ends = chars.codes, lines.starts, lines.ends

    def of(kind: Kind) -> Callable[[np.ndarray], np.ndarray]:
        return lambda at: (chars.kinds[at] & np.uint8(kind)) != 0

    last = skip(of(Kind.CLOSER), ends - 1, starts - 1, -1)  # last byte before closing quotes
    ended = last >= starts  # (else the line is all closing quotes: `last` is before it)
    last = np.maximum(last, starts)
    final = code_points(codes, skip(of(Kind.CONTINUATION), last, starts - 1, -1))
    dots = (last - 2 >= starts) & (codes[last] == DOT) & (codes[last - 1] == DOT)
    dots &= codes[np.maximum(last - 2, starts)] == DOT
    ellipsis = ended & ((final == ELLIPSIS) | dots)
    bullet = np.isin(code_points(codes, starts), BULLETS) | (
        np.isin(codes[starts], BULLET_SIGNS)
        & (starts + 1 < ends)
        & np.isin(codes[starts + 1], BULLET_SPACES)
    )
    repeated = _repeated(chars, lines)
    lengths, count = chars.lengths(starts, ends), lines.counts
    return {
        "terminal_punct_line_share": _share(
            _per_text(ended & np.isin(final, TERMINALS), lines.first), count
        ),
        "ellipsis_line_share": _share(_per_text(ellipsis, lines.first), count),
        "bullet_line_share": _share(_per_text(bullet, lines.first), count),
        "duplicate_line_share": _share(_per_text(repeated, lines.first), count),
        "duplicate_line_char_share": _share(
            _per_text(lengths * repeated, lines.first), _per_text(lengths, lines.first)
        ),
    }


def _repeated(chars: Chars, lines: Spans) -> np.ndarray:
    """Which lines repeat an earlier line of their text exactly. Lines are first told apart by
    their text, length and first and last bytes; only those sharing all four with another line
    (mostly true repeats) are compared whole."""
    owner = np.repeat(np.arange(chars.rows), lines.counts)
    starts, ends, codes = lines.starts, lines.ends, chars.codes
    size = (ends - starts) & 0xFFFFFF  # lines of 16 MiB apart may share a key: compared whole
    key = (owner << 40) | (size << 16) | (codes[starts].astype(np.int64) << 8) | codes[ends - 1]
    order = np.argsort(key)
    same = key[order[1:]] == key[order[:-1]]
    shared = np.zeros(len(order), bool)
    shared[1:] |= same
    shared[:-1] |= same
    repeated = np.zeros(len(order), bool)
    candidates = np.sort(order[shared])
    if not len(candidates):
        return repeated
    text = codes.tobytes()
    seen: set[tuple[int, bytes]] = set()
    found = []
    for o, a, b in zip(*(x[candidates].tolist() for x in (owner, starts, ends)), strict=True):
        line = (o, text[a:b])
        found.append(line in seen)
        seen.add(line)
    repeated[candidates] = found
    return repeated
