"""The transforms of one work unit: records read in batches, a row maker per kind of record, then
the configured steps (`build.steps`), each one instance (one set of counters) per unit.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Sequence

import pyarrow as pa

from builder.accounting import READ_STEP, StepCounters
from builder.batch import Batch, RawBatch, reject_table
from builder.config import REQUIRED_STEP, BuildSection
from builder.errors import ConfigError
from builder.outcomes import Reject
from builder.records import RawRecord, ReadItem, Skipped
from builder.rows import ROW_MAKERS
from builder.steps import STEPS, Step
from builder.transform import StepContext

# A batch's temporary arrays (the language model's walk, word lists) set a worker's peak memory:
# 1,000 records or 4 MiB took 67 MB less on a 64 MB unit, and 15% more time (per-batch costs).
BATCH_ROWS = 2_000  # raw records per batch through the steps
BATCH_SIZE = 8 * 1024 * 1024  # or fewer, when their sizes as read add up to this (bytes)


class Chain:
    """The transforms of one unit: a row maker per kind of record, then the configured steps,
    each one instance (one set of counters) for all the unit's files."""

    def __init__(self, settings: BuildSection, today: dt.date):
        self.context = context = StepContext(settings, today)
        self.read = StepCounters(READ_STEP)
        self.makers = {name: maker(context) for name, maker in ROW_MAKERS.items()}
        self.steps: list[Step] = [STEPS[name](context) for name in settings.steps]

    def run(self, rows: str, items: Iterable[ReadItem]) -> Iterator[Batch]:
        """A reader's items through the row maker called `rows`, then the steps."""
        made = self.makers[rows].run(raw_batches(items, self.read))
        return run_steps(coalesced(made), self.steps)

    def counters(self) -> list[StepCounters]:
        used = [m.counters for m in self.makers.values() if m.counters.rows_in]
        return [self.read, *used, *(s.counters for s in self.steps)]

    def forget(self) -> None:
        """Drop what was counted: the unit's only file changed, and is read again later."""
        for counters in self.counters():
            counters.rows_in = counters.rows_out = 0
            counters.rejects.clear()
            counters.counts.clear()


def raw_batches(items: Iterable[ReadItem], counters: StepCounters) -> Iterator[RawBatch]:
    """A reader's records in batches of BATCH_ROWS (or BATCH_SIZE), counted as the read step;
    records it skipped are counted by kind and go no further. Its rejects count towards the
    batch's rows: a file of bad lines is held a batch at a time too."""
    records: list[RawRecord] = []
    rejects: list[Reject] = []
    size, start, items = 0, time.perf_counter(), iter(items)
    for item in items:
        if isinstance(item, Skipped):
            counters.counts[item.kind] += 1
            continue
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            records.append(item)
            size += item.size
        if len(records) + len(rejects) >= BATCH_ROWS or size >= BATCH_SIZE:
            yield _counted(records, rejects, counters, start)
            records, rejects, size = [], [], 0
            start = time.perf_counter()
    if records or rejects:
        yield _counted(records, rejects, counters, start)


def _counted(
    records: list[RawRecord], rejects: list[Reject], counters: StepCounters, start: float
) -> RawBatch:
    counters.seconds += time.perf_counter() - start
    counters.rows_in += len(records) + len(rejects)
    counters.rows_out += len(records)
    counters.rejects.update(r.reason.value for r in rejects)
    return RawBatch(records, [reject_table(rejects)] if rejects else [])


def coalesced(batches: Iterable[Batch]) -> Iterator[Batch]:
    """Consecutive batches joined up to BATCH_ROWS rows or BATCH_SIZE bytes. A row maker
    that shrinks its records (a page's HTML to its text) leaves batches small, and the steps
    after it pay per batch (RE2 compiles its patterns per call, the language model's walk)."""
    held: list[Batch] = []
    rows = size = 0
    for batch in batches:
        held.append(batch)
        rows += len(batch) + sum(len(rejects) for rejects in batch.rejects)  # rejects are held too
        size += batch.table.nbytes
        if rows >= BATCH_ROWS or size >= BATCH_SIZE:
            yield _joined(held)
            held, rows, size = [], 0, 0
    if held:
        yield _joined(held)


def _joined(batches: list[Batch]) -> Batch:
    if len(batches) == 1:
        return batches[0]
    table = pa.concat_tables([b.table for b in batches])
    return Batch(table, [rejects for b in batches for rejects in b.rejects])


def run_steps(batches: Iterable[Batch], steps: Sequence[Step]) -> Iterator[Batch]:
    """The batches through every step, in order."""
    for step in steps:
        batches = step.run(batches)
    return iter(batches)


def check_steps(steps: Sequence[str]) -> None:
    """ConfigError when the steps, after any row maker, leave a column a later step needs
    unfilled (such a build could not make a single valid row of that kind of input), or rewrite
    a column after `validate` computed the published fields from it (they would be stale)."""
    validated = STEPS[REQUIRED_STEP].needs
    makers = {name: set(maker.columns) for name, maker in ROW_MAKERS.items()}
    for maker, filled in sorted(makers.items()):
        available = set(filled)
        for position, name in enumerate(steps):
            step = STEPS[name]
            stale = [c for c in step.rewrites if c in validated]
            if stale and REQUIRED_STEP in steps[:position]:
                raise ConfigError(
                    f"build.steps: {name!r} changes the {stale[0]} after {REQUIRED_STEP!r} "
                    f"computed the published fields from it: list it before {REQUIRED_STEP!r}"
                )
            missing = [column for column in step.needs if column not in available]
            if missing:
                makers_of = sorted(n for n, cls in STEPS.items() if missing[0] in cls.provides)
                raise ConfigError(
                    f"build.steps: {name!r} needs {missing[0]!r}, which rows made by the "
                    f"{maker} row maker only get from the {' or '.join(map(repr, makers_of))} "
                    f"step: add it before {name!r} (steps are {', '.join(map(repr, steps))})"
                )
            available.update(step.provides)
