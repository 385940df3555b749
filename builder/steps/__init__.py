"""The steps a build can run, by name; the pipeline is a list of these names (`build.steps`)."""

from __future__ import annotations

from builder.steps.base import Step, StepContext
from builder.steps.boilerplate import Boilerplate
from builder.steps.content import ContentStep, CrawlerFields, SeedText
from builder.steps.dates import ParseDate
from builder.steps.language import DetectLanguage
from builder.steps.normalize import Normalize
from builder.steps.quality import Quality
from builder.steps.validate import Validate
from builder.steps.web import WebPageFields

STEPS: dict[str, type[Step]] = {
    cls.name: cls for cls in (Normalize, ParseDate, DetectLanguage, Boilerplate, Validate, Quality)
}
# The content steps: a container names the one that makes rows of its records.
CONTENT_STEPS: dict[str, type[ContentStep]] = {
    cls.name: cls for cls in (SeedText, CrawlerFields, WebPageFields)
}
REQUIRED_STEP = "validate"  # it computes the published fields every later step and shard needs


def check_steps(names: list[str]) -> list[str]:
    """The names if they make a pipeline; ValueError naming what is wrong otherwise."""
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        raise ValueError(f"unknown step {unknown[0]!r}; the steps are {', '.join(sorted(STEPS))}")
    if len(set(names)) != len(names):
        raise ValueError("a step is listed twice")
    if REQUIRED_STEP not in names:
        raise ValueError(f"must include {REQUIRED_STEP!r}, which computes the published fields")
    return names


__all__ = [
    "CONTENT_STEPS",
    "STEPS",
    "ContentStep",
    "Step",
    "StepContext",
    "check_steps",
]
