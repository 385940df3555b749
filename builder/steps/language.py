"""The `language` step: the record's own ISO 639-1 code when it has one, else the one the model
detects (`builder.text.language`), with the model's probability; 'und' when the text is too
short or too mixed to tell.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from builder.batch import Batch, with_columns
from builder.steps.base import Step
from builder.text.language import DETECT_CHARS, MIN_LETTERS, decide, declared_language, model
from schema.languages import UNDETERMINED


class DetectLanguage(Step):
    """The declared code where it is valid (each distinct value checked once), else detection;
    the model runs on every text, for the confidence and to notice contradicted declarations."""

    name = "language"
    needs = ("text",)
    provides = ("language", "language_confidence")

    def process(self, batch: Batch) -> Batch:
        settings = self.context.settings
        table = batch.table
        declared = table["declared_language"].combine_chunks()
        distinct = pc.unique(declared).drop_null()
        codes = pa.array([declared_language(v) for v in distinct.to_pylist()], pa.string())
        declared_codes = pc.take(codes, pc.index_in(declared, distinct)).to_pylist()
        sliced = pc.utf8_slice_codeunits(table["text"], 0, DETECT_CHARS)
        detector = model()
        texts = sliced.to_pylist()
        guesses = iter(detector.guesses([text for text in texts if text]))
        languages: list[str] = []
        confidences: list[float | None] = []
        for text, code in zip(texts, declared_codes, strict=True):
            if not text:
                languages.append(code or UNDETERMINED)
                confidences.append(None)
                continue
            guess = next(guesses)
            detected, confidence = detector.best(guess)
            if code is None:
                languages.append(decide(guess, detected, confidence))
                confidences.append(confidence)
                continue
            contradicted = (
                detected != code
                and confidence >= settings.language_contradiction
                and guess.letters >= MIN_LETTERS
            )
            if contradicted:
                self.counters.counts[f"declared {code}, detected {detected}"] += 1
            if contradicted and settings.language_source == "detected":
                languages.append(detected)
                confidences.append(confidence)
            else:
                languages.append(code)
                confidences.append(detector.probability_of(guess, code))
        return Batch(
            with_columns(
                table,
                language=pa.array(languages, pa.string()),
                # float32 sums can pass 1 by a rounding step: the schema bounds it to [0, 1]
                language_confidence=pc.min_element_wise(
                    pa.array(confidences, pa.float64()), 1.0, skip_nulls=False
                ),
            )
        )
