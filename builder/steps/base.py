"""The step interface: a pure function of a batch, with counters kept by the base class."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from builder.accounting import StepCounters
from builder.batch import Batch, RawBatch
from builder.config import BuildSection


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a step may depend on besides its batch: the build's settings and day."""

    settings: BuildSection
    today: dt.date


class Step:
    """One transformation of a batch. Subclasses set `name` and implement `process`, which returns
    the rows kept and only the rejects it made; `run` keeps the counters and carries rejects on."""

    name: ClassVar[str]

    def __init__(self, context: StepContext):
        self.context = context
        self.counters = StepCounters(self.name)

    def process(self, batch: Batch) -> Batch:
        raise NotImplementedError

    def run(self, batches: Iterable[Batch | RawBatch]) -> Iterator[Batch]:
        for batch in batches:
            start = time.perf_counter()
            out = self.process(batch)  # type: ignore[arg-type]
            self.counters.seconds += time.perf_counter() - start
            self.counters.rows_in += len(batch)
            self.counters.rows_out += len(out)
            for rejects in out.rejects:
                self.counters.rejects.update(rejects["reason"].to_pylist())
            yield Batch(out.table, batch.rejects + out.rejects)
