"""The language model: py3langid's naive Bayes model, run on many texts side by side in numpy.

Its model ships inside the installed package: nothing is downloaded. Its probabilities are the
calibrated ones (softmax at a temperature of sqrt(bytes)), so a short or mixed text gets a low
one instead of the near-certainty the raw scores give; `decide` makes 'und' of a text too short,
too unsure or too mixed to tell.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
from py3langid.langid import MODEL_FILE, RAW_FLOOR, LanguageIdentifier, visit_counts

from builder.text.re2 import CodeSet
from builder.text.words import LETTER_PLANES
from schema.languages import ISO_639_1, UNDETERMINED

DETECT_CHARS = 1500  # enough for a stable guess; longer texts only cost time (the costliest step)
# Below either bound a text with no declared language is 'und'. Measured on 389 real articles in
# 20 languages cut to 10 to 1,500 characters: guesses at 20+ letters and probability 0.5+ were
# wrong 2 times in 3,051; under probability 0.5, 7% to 45% were wrong (README).
MIN_LETTERS = 20
MIN_CONFIDENCE = 0.5
WALK_ROWS = 256  # byte strings walked side by side (0.8 MB of bytes, 3 MB of features at most)
SIDE_BY_SIDE = 16  # fewer strings are walked one by one
SUM_ROWS = 32  # strings whose features are gathered at once (about 8 MB)
_CODE = re.compile(r"^([A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*$")
# The model's labels for varieties of an ISO 639-1 macrolanguage: their probabilities add to it.
_MACRO = {"yue": "zh", "wuu": "zh", "arz": "ar", "ary": "ar", "uzs": "uz", "gug": "gn"}


def declared_language(value: str | None) -> str | None:
    """'en', 'EN', 'en-US', 'pt_BR' -> the ISO 639-1 code; anything else -> None (detect instead)."""
    match = _CODE.match(value.strip()) if value else None
    code = match.group(1).lower() if match else None
    return code if code in ISO_639_1 else None


@dataclass(frozen=True, slots=True)
class Guess:
    """What the model makes of a text: each ISO 639-1 code's probability, the letters it saw,
    and the best code of each half of the text (None where a half is too short or unsure): two
    different codes mean mixed text."""

    probabilities: np.ndarray  # over Model.codes
    letters: int
    halves: tuple[str | None, str | None]


class Model:
    """py3langid's model, run on many texts at once, its probabilities summed per ISO 639-1 code
    (labels without one, such as 'zxx' for no linguistic content, keep their share)."""

    def __init__(self) -> None:
        # py3langid's identifier is not kept: its float16 table (28 MB) would stay beside ours
        identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
        # py3langid has no public API for its model's parts: `_rowbase` (the automaton's rows),
        # `_alias_pairs` (labels it has twice) and `_encode` (its text to bytes) are read as its
        # own `classify` reads them; tests hold our scores and ranking equal to its own.
        # the byte automaton that finds the model's features: as Python sequences for
        # py3langid's own walk of a few strings, as arrays for the side-by-side walk
        self.walker = (identifier.tk_nextmove, identifier._rowbase, identifier.tk_output)
        self.next_state = np.frombuffer(identifier.tk_nextmove, dtype=np.uint32)
        self.row_start = np.asarray(identifier.tk_row, dtype=np.int64) << 8
        self.feature = np.asarray(identifier.tk_output, dtype=np.int32)  # -1: none at a state
        # features x labels; float32 once (57 MB) rather than float16 converted at every gather
        self.table = identifier.nb_ptc.astype(np.float32)
        self.prior = identifier.nb_pc.astype(np.float32)
        self.labels: list[str] = list(identifier.nb_classes)
        self.aliases: list[tuple[int, int]] = identifier._alias_pairs  # (first, dupe) columns
        codes = [_MACRO.get(label, label) for label in self.labels]
        self.codes = sorted({code for code in codes if code in ISO_639_1})
        self.position = {code: i for i, code in enumerate(self.codes)}
        # one row per label: which code it adds to (an extra column for labels without one)
        self.fold = np.zeros((len(codes), len(self.codes) + 1), dtype=np.float32)
        for row, code in enumerate(codes):
            self.fold[row, self.position.get(code, len(self.codes))] = 1.0

    def guesses(self, texts: list[str]) -> list[Guess]:
        """The model on each text's first DETECT_CHARS, and on each half of them, walking the
        bytes once: the halves' naive Bayes scores, added, stand for the whole's (log(1 + count)
        is taken per half; no guess changed in the measurement)."""
        halves = []
        for text in texts:
            text = text[:DETECT_CHARS]
            halves += [text[: len(text) // 2], text[len(text) // 2 :]]
        encoded = [LanguageIdentifier._encode(half) for half in halves]
        raw = self.raw_scores(encoded)
        counts = letter_counts(halves).tolist()
        out = []
        for i in range(len(texts)):
            pair = [(raw[j], len(encoded[j]), counts[j]) for j in (2 * i, 2 * i + 1)]
            with_features = [scores for scores, _, _ in pair if scores is not None]
            letter_count = pair[0][2] + pair[1][2]
            if not with_features:
                out.append(Guess(self._calibrated(None, 0), letter_count, (None, None)))
                continue
            whole = sum(with_features) - (len(with_features) - 1) * self.prior
            size = pair[0][1] + pair[1][1]
            out.append(
                Guess(
                    self._calibrated(whole, size),
                    letter_count,
                    (self._sure(*pair[0]), self._sure(*pair[1])),
                )
            )
        return out

    def raw_scores(self, encoded: list[bytes]) -> list[np.ndarray | None]:
        """py3langid's naive Bayes log-scores per label of each byte string (None where it has
        no feature), WALK_ROWS strings at a time, in order of length."""
        scores: list[np.ndarray | None] = [None] * len(encoded)
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
        for start in range(0, len(order), WALK_ROWS):
            rows = order[start : start + WALK_ROWS]
            strings = [encoded[i] for i in rows]
            walked = (
                self._scores(strings) if len(rows) >= SIDE_BY_SIDE else self._one_by_one(strings)
            )
            for row, row_scores in zip(rows, walked, strict=True):
                scores[row] = row_scores
        return scores

    def _one_by_one(self, strings: list[bytes]) -> list[np.ndarray | None]:
        """Scores of a few byte strings, walked by py3langid's own loop (numpy's side-by-side
        walk only pays over many strings)."""
        out: list[np.ndarray | None] = []
        for data in strings:
            visits = visit_counts(*self.walker, data)
            if not visits:
                out.append(None)
                continue
            features = np.fromiter(visits.keys(), dtype=np.intp, count=len(visits))
            counts = np.fromiter(visits.values(), dtype=np.float32, count=len(visits))
            order = np.argsort(features)
            out.append(self._weighted_sum(features[order], np.log1p(counts[order])))
        return out

    def _weighted_sum(self, features: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The prior plus each feature's log-probabilities times its weight, features in
        ascending order, added one after another: float32 sums depend on their order, and a
        text's scores must not depend on the texts it shares a batch with. One text at a time:
        a group's gathered rows at once outgrow the CPU caches, and took 25% longer."""
        gathered = self.table[features]
        gathered *= weights[:, None]
        return np.add.reduceat(gathered, [0], axis=0)[0] + self.prior

    def _scores(self, strings: list[bytes]) -> list[np.ndarray | None]:
        """Scores of byte strings sorted longest first: the automaton walks them side by side,
        one byte position at a time, over the strings still that long."""
        lengths = np.array([len(s) for s in strings], dtype=np.int64)
        width = int(lengths[0]) if len(strings) else 0
        matrix = np.zeros((width, len(strings)), dtype=np.uint8)  # byte position x string
        for column, data in enumerate(strings):
            matrix[: len(data), column] = np.frombuffer(data, dtype=np.uint8)
        active = np.searchsorted(-lengths, -np.arange(width), side="left")  # strings longer than p
        found = np.full((width, len(strings)), -1, dtype=np.int32)
        state = np.zeros(len(strings), dtype=np.int64)
        for p, k in enumerate(active.tolist()):
            state[:k] = self.next_state[self.row_start[state[:k]] + matrix[p, :k]]
            found[p, :k] = self.feature[state[:k]]
        return self._sum(found, len(strings))

    def _sum(self, found: np.ndarray, count: int) -> list[np.ndarray | None]:
        """Per string: the prior plus log(1 + count) times each feature's log-probabilities, as
        py3langid sums them (in groups of SUM_ROWS strings, to bound the memory)."""
        positions, columns = np.nonzero(found >= 0)
        features = len(self.table)
        keys, counts = np.unique(
            columns.astype(np.int64) * features + found[positions, columns], return_counts=True
        )
        column_of, feature_of = np.divmod(keys, features)
        weights = np.log1p(counts.astype(np.float32))
        out: list[np.ndarray | None] = [None] * count
        bounds = np.searchsorted(column_of, np.arange(0, count + SUM_ROWS, SUM_ROWS))
        for low, high in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            if low == high:
                continue
            group = column_of[low:high]
            starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
            stops = [*starts[1:].tolist(), high - low]
            for column, start, stop in zip(
                group[starts].tolist(), starts.tolist(), stops, strict=True
            ):
                out[column] = self._weighted_sum(
                    feature_of[low + start : low + stop], weights[low + start : low + stop]
                )
        return out

    def _calibrated(self, raw: np.ndarray | None, size: int) -> np.ndarray:
        """Probabilities per code: softmax at py3langid's temperature sqrt(bytes), then folded."""
        if raw is None:  # nothing the model knows: every label alike
            scores = np.full(len(self.fold), 1 / len(self.fold), dtype=np.float32)
        else:
            scores = np.exp((raw - raw.max()) / math.sqrt(size or 1))
            scores /= scores.sum()
        return (scores @ self.fold)[:-1]

    def _sure(self, raw: np.ndarray | None, size: int, letter_count: int) -> str | None:
        """The best code of one half, when it is long and sure enough to count on its own."""
        if raw is None or letter_count < MIN_LETTERS:
            return None
        probabilities = self._calibrated(raw, size)
        best = int(probabilities.argmax())
        return self.codes[best] if probabilities[best] >= MIN_CONFIDENCE else None

    def best(self, guess: Guess) -> tuple[str, float]:
        index = int(guess.probabilities.argmax())
        return self.codes[index], float(guess.probabilities[index])

    def probability_of(self, guess: Guess, code: str) -> float:
        """The probability of a declared code; 0 for a language the model does not know."""
        index = self.position.get(code)
        return 0.0 if index is None else float(guess.probabilities[index])

    def ranked(self, text: str) -> list[tuple[str, float]]:
        """py3langid's `rank`: each label with its raw naive Bayes score, best first (a label
        the model has twice, such as a script variant, keeps the better of its two)."""
        raw = self.raw_scores([LanguageIdentifier._encode(text)])[0]
        scores = np.full(len(self.labels), RAW_FLOOR, np.float32) if raw is None else raw
        for first, dupe in self.aliases:
            scores[first], scores[dupe] = max(scores[first], scores[dupe]), RAW_FLOOR
        merged: dict[str, float] = {}
        for label, score in zip(self.labels, scores.tolist(), strict=True):
            merged.setdefault(label, score)
        return sorted(merged.items(), key=lambda item: item[1], reverse=True)


@cache
def model() -> Model:
    return Model()


def language_and_confidence(text: str) -> tuple[str, float]:
    """The most likely ISO 639-1 language and its uncalibrated naive Bayes posterior, near 1 for
    almost any text: a key to rank readings of the same bytes by (decode), not a confidence to
    publish (that is `language_probabilities`)."""
    ranked = model().ranked(text[:DETECT_CHARS])
    language, score = next((lang, score) for lang, score in ranked if lang in ISO_639_1)
    return language, 1 / sum(math.exp(min(other - score, 700)) for _, other in ranked)


def letter_counts(texts: list[str]) -> np.ndarray:
    """The letters (str.isalpha) of each text, counted over all of them at once: their code
    points looked up in a table of letters, summed per text."""
    lengths = np.fromiter((len(text) for text in texts), dtype=np.int64, count=len(texts))
    points = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    running = np.concatenate(([0], np.cumsum(_letter_table()[points], dtype=np.int64)))
    ends = np.cumsum(lengths)
    return running[ends] - running[ends - lengths]


@cache
def _letter_table() -> np.ndarray:
    return CodeSet.where(str.isalpha, LETTER_PLANES).members


def decide(guess: Guess, language: str, confidence: float) -> str:
    """The model's guess, or 'und' for too few letters, too low a probability, or halves sure
    of two different languages (mixed text)."""
    first, second = guess.halves
    mixed = first is not None and second is not None and first != second
    sure = guess.letters >= MIN_LETTERS and confidence >= MIN_CONFIDENCE and not mixed
    return language if sure else UNDETERMINED
