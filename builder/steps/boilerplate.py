"""Boilerplate at the edges of bodies: paragraphs such as "Riproduzione riservata" or "Sign up for
our newsletter" removed from the start or the end, by rules kept as data per language.

The rules are `builder.rules.boilerplate`'s: the shipped ones and a maintainer's own. RE2 first
tells, over the whole column, which bodies could start or end with a rule's paragraph; only
those are split into paragraphs and matched in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.batch import Batch, with_columns
from builder.rules.boilerplate import BoilerplateRule, shipped_rules
from builder.steps.base import Step
from builder.text.re2 import to_re2
from builder.transform import StepContext

PARAGRAPH = "\n\n"  # the normalize step's paragraph break
MAX_RULE_CHARS = 300  # a longer paragraph is never boilerplate: no rule is tried on it
MAX_EDGE_PARAGRAPHS = 5  # paragraphs examined (and at most removed) at each edge
ANY_LANGUAGE = "*"


@dataclass(frozen=True, slots=True)
class _Compiled:
    key: str  # "<language>:<name>", as counted
    at_start: bool
    at_end: bool
    regex: re.Pattern[str]


class Rules:
    """The rules by language, compiled, with the RE2 filters for the two edges."""

    def __init__(self, rules: tuple[BoilerplateRule, ...]):
        self.by_language: dict[str, list[_Compiled]] = {}
        for rule in rules:
            flags = re.IGNORECASE if rule.ignore_case else 0
            compiled = _Compiled(
                rule.key,
                rule.where in ("start", "both"),
                rule.where in ("end", "both"),
                re.compile(rule.pattern, flags),
            )
            self.by_language.setdefault(rule.language, []).append(compiled)
        self.start_filter = _edge_filter([r for r in rules if r.where != "end"])
        self.end_filter = _edge_filter([r for r in rules if r.where != "start"])

    def for_language(self, language: str) -> list[_Compiled]:
        return self.by_language.get(language, []) + self.by_language.get(ANY_LANGUAGE, [])


def _edge_filter(rules: list[BoilerplateRule]) -> str | None:
    """An RE2 pattern matching every paragraph one of the rules matches, and maybe more."""
    if not rules:
        return None
    alternatives = "|".join(
        f"(?{'i' if rule.ignore_case else ''}:{to_re2(re.compile(rule.pattern), widen=True)})"
        for rule in rules
    )
    return f"^(?:{alternatives})$"


def edge_paragraphs(texts: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The first and the last paragraph of each text, cut to MAX_RULE_CHARS + 1 characters (so
    a paragraph too long for any rule stays too long), by Arrow over the column."""
    texts = pc.fill_null(texts, "")
    head = pc.utf8_slice_codeunits(texts, 0, MAX_RULE_CHARS + 1)
    tail = pc.utf8_slice_codeunits(texts, -(MAX_RULE_CHARS + 1))
    first = pc.list_element(pc.split_pattern(head, PARAGRAPH, max_splits=1), 0)
    pieces = pc.split_pattern(tail, PARAGRAPH, max_splits=1, reverse=True)
    ends = pieces.offsets.to_numpy()[1:] - 1  # every text has at least one piece
    return first, pieces.flatten().take(pa.array(ends - pieces.offsets[0].as_py()))


def strip_edges(text: str, rules: list[_Compiled]) -> tuple[str, set[str]]:
    """The text without its boilerplate paragraphs at either edge, and the rules that matched;
    a text that is boilerplate through and through is returned whole (validate judges it)."""
    paragraphs = text.split(PARAGRAPH)
    first, touched = 0, set()
    while first < min(MAX_EDGE_PARAGRAPHS, len(paragraphs)):
        key = _match(paragraphs[first], rules, start=True)
        if key is None:
            break
        touched.add(key)
        first += 1
    last = len(paragraphs)
    while last > max(first, len(paragraphs) - MAX_EDGE_PARAGRAPHS):
        key = _match(paragraphs[last - 1], rules, start=False)
        if key is None:
            break
        touched.add(key)
        last -= 1
    if first >= last or not touched:
        return text, set()
    return PARAGRAPH.join(paragraphs[first:last]), touched


def _match(paragraph: str, rules: list[_Compiled], start: bool) -> str | None:
    """The key of the first rule for this edge that matches the whole paragraph."""
    if len(paragraph) > MAX_RULE_CHARS:
        return None
    for rule in rules:
        if (rule.at_start if start else rule.at_end) and rule.regex.fullmatch(paragraph):
            return rule.key
    return None


class Boilerplate(Step):
    """Remove boilerplate paragraphs at the edges of bodies, by the rules of each body's language
    and those for every language; count the articles each rule touched."""

    name = "boilerplate"
    rewrites = ("text",)
    needs = ("text", "language")

    def __init__(self, context: StepContext):
        super().__init__(context)
        extra = context.settings.boilerplate_rules
        self.rules = _rules(shipped_rules() + (tuple(extra.rules) if extra else ()))

    def process(self, batch: Batch) -> Batch:
        table = batch.table
        texts = table["text"].combine_chunks()
        candidates = self._candidates(texts)
        if not candidates.any():
            return Batch(table)
        rows = np.flatnonzero(candidates)
        chosen = pa.array(rows)
        languages = table["language"].take(chosen).to_pylist()
        stripped = []
        for row, text, language in zip(
            rows.tolist(), texts.take(chosen).to_pylist(), languages, strict=True
        ):
            kept, touched = strip_edges(text, self.rules.for_language(language))
            candidates[row] = bool(touched)  # now: the rows that change
            if touched:
                stripped.append(kept)
                self.counters.counts.update(touched)
        if not stripped:
            return Batch(table)
        text = pc.replace_with_mask(texts, pa.array(candidates), pa.array(stripped, pa.string()))
        return Batch(with_columns(table, text=text))

    def _candidates(self, texts: pa.Array) -> np.ndarray:
        """Which bodies RE2 says could start or end with a rule's paragraph."""
        found = np.zeros(len(texts), dtype=bool)
        if not len(texts):
            return found
        for pattern, paragraphs in zip(
            (self.rules.start_filter, self.rules.end_filter), edge_paragraphs(texts), strict=True
        ):
            if pattern is not None:
                matched = pc.match_substring_regex(paragraphs, pattern)
                found |= matched.to_numpy(zero_copy_only=False)
        return found


@cache
def _rules(rules: tuple[BoilerplateRule, ...]) -> Rules:
    """Compiled once per process for the same rules (each worker builds its steps per unit)."""
    return Rules(rules)
