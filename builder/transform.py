"""A transform: a pure function of a batch, run over a stream of them with its counters kept.

Two kinds of transform make up the per-record work: a row maker (`builder.rows`) turns a reader's
raw records into rows of the working schema, and a step (`builder.steps`) turns rows into rows.
Both are counted the same way, as the build summary and the manifest's `steps` show them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Protocol, TypeVar

import pyarrow as pa

from builder.accounting import StepCounters
from builder.batch import Batch
from builder.config import BuildSection


@dataclass(slots=True)
class DayDependence:
    """Whether the build day changed an outcome: a date judged to be in the future, a page date
    candidate dropped for being after the day. A unit's cached results are valid on another day
    only when it did not (builder.cache)."""

    seen: bool = False

    def note(self) -> None:
        self.seen = True


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a transform may depend on besides its batch: the build's settings and day, and where
    to say that the day mattered."""

    settings: BuildSection
    today: dt.date
    day: DayDependence = field(default_factory=DayDependence)


class Carrier(Protocol):
    """What a transform takes in: records or rows, and the rejects made on their way so far."""

    rejects: list[pa.Table]

    def __len__(self) -> int: ...


In = TypeVar("In", bound=Carrier)


class Transform(Generic[In]):
    """One transformation of a batch. Subclasses set `name` and implement `process`, which returns
    the rows kept and only the rejects it made; `run` keeps the counters and carries rejects on."""

    name: ClassVar[str]
    # Columns it reads, which an earlier transform must have filled, and columns it fills: a
    # build whose steps leave a need unmet cannot make a valid row (builder.reading.chain).
    needs: ClassVar[tuple[str, ...]] = ()
    provides: ClassVar[tuple[str, ...]] = ()
    rewrites: ClassVar[tuple[str, ...]] = ()  # columns it changes in place

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
