"""Thresholds on the quality signals (`build.quality`), per language: how a rule's key reads
('min_stop_word_share') and the order rules are tried in."""

from __future__ import annotations

from dataclasses import dataclass

from schema.article import QUALITY_SIGNALS

ANY_LANGUAGE = "*"


def quality_rule(key: str) -> tuple[str, str]:
    """'min_stop_word_share' -> ('min', 'stop_word_share'); ValueError for a key that is not a
    bound of a quality signal."""
    bound, _, signal = key.partition("_")
    if bound not in ("min", "max") or signal not in QUALITY_SIGNALS:
        raise ValueError(
            f"unknown rule {key!r}: a rule is min_<signal> or max_<signal>, the signals are "
            f"{', '.join(QUALITY_SIGNALS)}"
        )
    return bound, signal


@dataclass(frozen=True, slots=True)
class Rule:
    """One threshold: `signal` must not be below (`min`) or above (`max`) `value` for the
    articles of `language` ('*': those whose language has no rule of this name)."""

    language: str
    key: str
    bound: str
    signal: str
    value: float

    def describe(self, measured: float) -> str:
        side = "below" if self.bound == "min" else "above"
        return f"{self.signal} {measured:.4g} {side} build.quality.{self.language}.{self.key} = {self.value:g}"


def rules_of(quality: dict[str, dict[str, float]]) -> list[Rule]:
    """The configured thresholds in the order they are tried: by signal, min before max."""
    rules = []
    for language, table in quality.items():
        for key, value in table.items():
            bound, signal = quality_rule(key)
            rules.append(Rule(language, key, bound, signal, value))
    position = {signal: i for i, signal in enumerate(QUALITY_SIGNALS)}
    return sorted(rules, key=lambda r: (position[r.signal], r.bound == "max", r.language))
