"""The `quality` step: the quality signals of every article as published columns
(`builder.text.signals`), and thresholds on them per language (`build.quality`), off unless the
build sets some: an article outside one is rejected as low_quality.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from builder.batch import Batch, Verdicts, with_columns
from builder.outcomes import RejectReason
from builder.rules.quality import ANY_LANGUAGE, rules_of
from builder.steps.base import Step
from builder.text.signals import signals
from schema.languages import UNDETERMINED


class Quality(Step):
    """Compute the quality signals of every article; reject those outside the build's thresholds
    (build.quality) as low_quality, the detail naming the rule and the value."""

    name = "quality"
    needs = ("text", "language")

    def process(self, batch: Batch) -> Batch:
        table = batch.table
        values = signals(table["text"], table["language"])
        table = with_columns(table, **values)
        rules = rules_of(self.context.settings.quality)
        if not rules or not table.num_rows:
            return Batch(table)
        languages = pc.fill_null(table["language"], UNDETERMINED).to_numpy(zero_copy_only=False)
        own = {(r.language, r.key) for r in rules}
        verdicts = Verdicts(table.num_rows)
        for rule in rules:
            if rule.language == ANY_LANGUAGE:
                others = {lang for lang, key in own if key == rule.key and lang != ANY_LANGUAGE}
                applies = ~np.isin(languages, sorted(others))
            else:
                applies = languages == rule.language
            measured = pc.fill_null(values[rule.signal], np.nan).to_numpy(zero_copy_only=False)
            with np.errstate(invalid="ignore"):
                outside = measured < rule.value if rule.bound == "min" else measured > rule.value
            failing = applies & outside & (verdicts.reason == None)  # noqa: E711 (elementwise)
            if failing.any():
                details = [rule.describe(v) for v in measured[failing].tolist()]
                verdicts.reject(failing, RejectReason.LOW_QUALITY, details)
        return verdicts.apply(table)
