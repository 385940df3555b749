"""The steps a build can run, by name: `build.steps` lists them in order. The names are
`builder.config.StepName`, which a test holds equal to this registry."""

from __future__ import annotations

from builder.steps.base import Step
from builder.steps.boilerplate import Boilerplate
from builder.steps.dates import ParseDate
from builder.steps.language import DetectLanguage
from builder.steps.normalize import Normalize
from builder.steps.quality import Quality
from builder.steps.validate import Validate

STEPS: dict[str, type[Step]] = {
    cls.name: cls for cls in (Normalize, ParseDate, DetectLanguage, Boilerplate, Validate, Quality)
}

__all__ = ["STEPS", "Step"]
