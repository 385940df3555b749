"""Language: the record's own ISO 639-1 code when it has one, else detected from the text.

Detection uses py3langid, whose model ships inside the installed package: nothing is downloaded.
"""

from __future__ import annotations

import math
import re

import py3langid
import pyarrow as pa
import pyarrow.compute as pc

from builder.batch import Batch, with_columns
from builder.steps.base import Step
from schema.languages import ISO_639_1

DETECT_CHARS = (
    1500  # enough for a stable guess; longer texts only cost time (it is the costliest step)
)
_CODE = re.compile(r"^([A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*$")


def declared_language(value: str | None) -> str | None:
    """'en', 'EN', 'en-US', 'pt_BR' -> the ISO 639-1 code; anything else -> None (detect instead)."""
    match = _CODE.match(value.strip()) if value else None
    code = match.group(1).lower() if match else None
    return code if code in ISO_639_1 else None


def detect_language(text: str) -> str:
    """The most likely ISO 639-1 language (the model also knows some languages with only 3-letter codes)."""
    return language_and_confidence(text)[0]


def language_and_confidence(text: str) -> tuple[str, float]:
    """The most likely ISO 639-1 language and the model's probability for it (0 to 1)."""
    ranked = py3langid.rank(text[:DETECT_CHARS])
    language, score = next((lang, score) for lang, score in ranked if lang in ISO_639_1)
    return language, 1 / sum(math.exp(min(other - score, 700)) for _, other in ranked)


class DetectLanguage(Step):
    """The declared code where it is valid (each distinct value checked once), else detection."""

    name = "language"

    def process(self, batch: Batch) -> Batch:
        table = batch.table
        declared = table["declared_language"].combine_chunks()
        distinct = pc.unique(declared).drop_null()
        codes = pa.array([declared_language(v) for v in distinct.to_pylist()], pa.string())
        language = pc.take(codes, pc.index_in(declared, distinct)).to_pylist()
        texts = table["text"]
        for i, code in enumerate(language):
            if code is None:
                language[i] = detect_language(texts[i].as_py())
        return Batch(with_columns(table, language=pa.array(language, pa.string())))
