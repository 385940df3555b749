"""A transform: a pure function of a batch, run over a stream of them with its counters kept.

Two kinds of transform make up the per-record work: a row maker (`builder.rows`) turns a reader's
raw records into rows of the working schema, and a step (`builder.steps`) turns rows into rows.
Both are counted the same way, as the build summary and the manifest's `steps` show them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar

import pyarrow as pa

from builder.accounting import StepCounters
from builder.batch import Batch
from builder.config import BuildSection


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a transform may depend on besides its batch: the build's settings and day."""

    settings: BuildSection
    today: dt.date


class Carrier(Protocol):
    """What a transform takes in: records or rows, and the rejects made on their way so far."""

    rejects: list[pa.Table]

    def __len__(self) -> int: ...


In = TypeVar("In", bound=Carrier)


class Transform(Generic[In]):
    """One transformation of a batch. Subclasses set `name` and implement `process`, which returns
    the rows kept and only the rejects it made; `run` keeps the counters and carries rejects on."""

    name: ClassVar[str]

    def __init__(self, context: StepContext):
        self.context = context
        self.counters = StepCounters(self.name)

    def process(self, batch: In) -> Batch:
        raise NotImplementedError

    def run(self, batches: Iterable[In]) -> Iterator[Batch]:
        for batch in batches:
            start = time.perf_counter()
            out = self.process(batch)
            self.counters.seconds += time.perf_counter() - start
            self.counters.rows_in += len(batch)
            self.counters.rows_out += len(out)
            for rejects in out.rejects:
                self.counters.rejects.update(rejects["reason"].to_pylist())
            yield Batch(out.table, batch.rejects + out.rejects)
