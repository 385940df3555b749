"""Language: the record's own ISO 639-1 code when it has one, else detected from the text, with
the model's confidence; 'und' when the text is too short or too mixed to tell.

Detection uses py3langid, whose model ships inside the installed package: nothing is downloaded.
Its probabilities are the calibrated ones (softmax at a temperature of sqrt(bytes)), so a short or
mixed text gets a low one instead of the near-certainty the raw naive Bayes scores give.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from py3langid.langid import MODEL_FILE, LanguageIdentifier, visit_counts

from builder.batch import Batch, with_columns
from builder.steps.base import Step
from schema.languages import ISO_639_1, UNDETERMINED

DETECT_CHARS = 1500  # enough for a stable guess; longer texts only cost time (the costliest step)
# Below either bound a text with no declared language is 'und' (measured in the README: on 390
# real articles, texts of fewer letters are wrong too often, and guesses under this probability
# are wrong more often than right).
MIN_LETTERS = 20
MIN_CONFIDENCE = 0.5
_CODE = re.compile(r"^([A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*$")
_LETTER_RE2 = r"\pL"
# The model's labels for varieties of an ISO 639-1 macrolanguage: their probabilities add to it.
_MACRO = {"yue": "zh", "wuu": "zh", "arz": "ar", "ary": "ar", "uzs": "uz", "gug": "gn"}


def declared_language(value: str | None) -> str | None:
    """'en', 'EN', 'en-US', 'pt_BR' -> the ISO 639-1 code; anything else -> None (detect instead)."""
    match = _CODE.match(value.strip()) if value else None
    code = match.group(1).lower() if match else None
    return code if code in ISO_639_1 else None


@dataclass(frozen=True, slots=True)
class Guess:
    """What the model makes of a text: each ISO 639-1 code's probability, and the best code of
    each half of the text (None where a half is too short or unsure), which differ in mixed text."""

    probabilities: np.ndarray  # over _Model.codes
    halves: tuple[str | None, str | None]


class _Model:
    """py3langid's model, its probabilities summed per ISO 639-1 code (labels without one, such
    as 'zxx' for no linguistic content, keep their share, so they lower every code's)."""

    def __init__(self) -> None:
        self.identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        codes = [_MACRO.get(label, label) for label in self.identifier.nb_classes]
        self.codes = sorted({code for code in codes if code in ISO_639_1})
        self.position = {code: i for i, code in enumerate(self.codes)}
        # one row per label: which code it adds to (an extra column for labels without one)
        self.fold = np.zeros((len(codes), len(self.codes) + 1), dtype=np.float32)
        for row, code in enumerate(codes):
            self.fold[row, self.position.get(code, len(self.codes))] = 1.0

    def guess(self, text: str) -> Guess:
        """The model on the text's first DETECT_CHARS, and on each half of them: one walk over
        the bytes, since the naive Bayes scores of the halves add up to the whole's."""
        text = text[:DETECT_CHARS]
        middle = len(text) // 2
        halves = [self._raw(half) for half in (text[:middle], text[middle:])]
        with_features = [(raw, size) for raw, size in halves if raw is not None]
        if not with_features:
            return Guess(self._calibrated(None, 0), (None, None))
        whole = sum(raw for raw, _ in with_features) - (len(with_features) - 1) * self._prior
        total = sum(size for _, size in halves)
        return Guess(
            self._calibrated(whole, total),
            (self._sure(*halves[0], text[:middle]), self._sure(*halves[1], text[middle:])),
        )

    @property
    def _prior(self) -> np.ndarray:
        return self.identifier.nb_pc

    def _raw(self, text: str) -> tuple[np.ndarray | None, int]:
        """The naive Bayes log-scores per label (None without any feature), and the bytes seen."""
        encoded = LanguageIdentifier._encode(text)
        identifier = self.identifier
        visits = visit_counts(
            identifier.tk_nextmove, identifier._rowbase, identifier.tk_output, encoded
        )
        return (identifier._sparse_score(visits, identifier.nb_ptc) if visits else None), len(
            encoded
        )

    def _calibrated(self, raw: np.ndarray | None, size: int) -> np.ndarray:
        """Probabilities per code: softmax at py3langid's temperature sqrt(bytes), then folded."""
        if raw is None:  # nothing the model knows: every label alike
            scores = np.full(len(self.fold), 1 / len(self.fold), dtype=np.float32)
        else:
            scores = np.exp((raw - raw.max()) / math.sqrt(size or 1))
            scores /= scores.sum()
        return (scores @ self.fold)[:-1]

    def _sure(self, raw: np.ndarray | None, size: int, text: str) -> str | None:
        """The best code of one half, when it is long and sure enough to count on its own."""
        if raw is None or letters(text) < MIN_LETTERS:
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


@cache
def _model() -> _Model:
    return _Model()


def language_probabilities(text: str) -> dict[str, float]:
    """The model's probability (0 to 1) of each ISO 639-1 language it knows, for this text."""
    model = _model()
    return dict(zip(model.codes, model.guess(text).probabilities.tolist(), strict=True))


def language_and_confidence(text: str) -> tuple[str, float]:
    """The most likely ISO 639-1 language and the model's probability for it (0 to 1)."""
    model = _model()
    return model.best(model.guess(text))


def letters(text: str) -> int:
    """The letters of a text (the model sees the first DETECT_CHARS characters)."""
    return sum(ch.isalpha() for ch in text[:DETECT_CHARS])


def detect_language(text: str) -> str:
    """The language a text with none declared gets: the model's guess, or 'und' when unsure."""
    model = _model()
    guess = model.guess(text)
    return decide(guess, *model.best(guess), letters(text))


def decide(guess: Guess, language: str, confidence: float, letter_count: int) -> str:
    """The model's guess, or 'und' for too few letters, too low a probability, or halves sure
    of two different languages (mixed text)."""
    first, second = guess.halves
    mixed = first is not None and second is not None and first != second
    sure = letter_count >= MIN_LETTERS and confidence >= MIN_CONFIDENCE and not mixed
    return language if sure else UNDETERMINED


class DetectLanguage(Step):
    """The declared code where it is valid (each distinct value checked once), else detection;
    the model runs on every text, for the confidence and to notice contradicted declarations."""

    name = "language"

    def process(self, batch: Batch) -> Batch:
        settings = self.context.settings
        table = batch.table
        declared = table["declared_language"].combine_chunks()
        distinct = pc.unique(declared).drop_null()
        codes = pa.array([declared_language(v) for v in distinct.to_pylist()], pa.string())
        declared_codes = pc.take(codes, pc.index_in(declared, distinct)).to_pylist()
        sliced = pc.utf8_slice_codeunits(table["text"], 0, DETECT_CHARS)
        letter_counts = pc.count_substring_regex(sliced, _LETTER_RE2).to_pylist()
        model = _model()
        languages: list[str] = []
        confidences: list[float | None] = []
        for text, count, code in zip(
            sliced.to_pylist(), letter_counts, declared_codes, strict=True
        ):
            if not text:
                languages.append(code or UNDETERMINED)
                confidences.append(None)
                continue
            guess = model.guess(text)
            detected, confidence = model.best(guess)
            if code is None:
                languages.append(decide(guess, detected, confidence, count))
                confidences.append(confidence)
                continue
            contradicted = (
                detected != code
                and confidence >= settings.language_contradiction
                and count >= MIN_LETTERS
            )
            if contradicted:
                self.counters.counts[f"declared {code}, detected {detected}"] += 1
            if contradicted and settings.language_source == "detected":
                languages.append(detected)
                confidences.append(confidence)
            else:
                languages.append(code)
                confidences.append(model.probability_of(guess, code))
        return Batch(
            with_columns(
                table,
                language=pa.array(languages, pa.string()),
                language_confidence=pa.array(confidences, pa.float64()),
            )
        )
