"""The step interface: a transform from rows to rows; `build.steps` lists them by name."""

from __future__ import annotations

from builder.batch import Batch
from builder.transform import Transform


class Step(Transform[Batch]):
    """One step of `build.steps`: rows of the working schema in, the rows it keeps out."""
