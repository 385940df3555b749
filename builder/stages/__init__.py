"""The build's stages, in order: decisions over the whole input (see `builder.stages.base`).

A stage is one more entry in STAGES: the driver (`builder.stages.driver`) does not change.
Takedowns come first (`builder.stages.remove`): a listed article is removed wherever it is, and
no copy or conflict is judged against it. Then ids (`builder.stages.exact`), so no exact copy names a record rejected after it;
near-duplicates (`builder.stages.near`) come after the exact stages, so exact copies are
`same_text`.
"""

from __future__ import annotations

from builder.config import BuildSection
from builder.stages.base import WHERE, Stage
from builder.stages.exact import SameId, SameText
from builder.stages.near import NearDuplicates
from builder.stages.remove import Remove

STAGES: tuple[Stage, ...] = (Remove(), SameId(), SameText(), NearDuplicates())


def active(settings: BuildSection | None) -> tuple[Stage, ...]:
    """The stages a build with these settings runs (None: the defaults), configured for it."""
    configured = (stage.configured(settings) for stage in STAGES)
    return tuple(stage for stage in configured if stage is not None)


def key_columns() -> list[str]:
    """The working columns the workers take for key rows: every stage's key, columns and
    inputs that it does not compute itself, then where the row sits."""
    names = [
        name
        for stage in STAGES
        for name in (stage.key, *stage.columns, *stage.inputs)
        if name not in stage.produces
    ]
    return list(dict.fromkeys(names)) + WHERE
