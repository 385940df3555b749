"""The per-file half of a build: read one raw file, run its steps, spill rows and rejects to parts.

A file's container yields raw records; the content step it names makes working rows of them,
in batches, and the configured steps (`build.steps`) run over those batches. `process_file`
runs in worker processes; everything it needs travels in its `FileTask`, and everything the
build needs back travels in its `FileResult`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from builder.accounting import StepCounters
from builder.batch import Batch, RawBatch, RawRecord, reject_table
from builder.config import BuildSection
from builder.layout import partition_dir
from builder.readers import reader_for
from builder.readers.base import unreadable
from builder.records import REJECT_SCHEMA, Reject, RejectReason
from builder.sources import NOT_INPUT_FORMAT, SkippedFile, Source, open_source
from builder.steps import CONTENT_STEPS, STEPS, Step, StepContext
from schema import arrow_schema
from schema.working import published

SPILL_ROWS = 20_000  # rows (and rejects) buffered per file before they are written to its parts
BATCH_ROWS = 2_000  # raw records per batch through the steps
BATCH_SIZE = 8 * 1024 * 1024  # or fewer, when their sizes as read add up to this (bytes)
READ_STEP = "read"  # the counters of the container: records found, rejects while reading


@dataclass(frozen=True, slots=True)
class FileTask:
    index: int
    source: Source
    work_dir: Path
    today: dt.date
    settings: BuildSection


@dataclass(slots=True)
class FileResult:
    index: int
    rel: str
    size: int  # bytes read (0 when the file was not read)
    sha256: str  # of the bytes read, for the input fingerprint
    skipped: str | None = (
        None  # why the file was not read: its kind ("fifo", "not an input format")
    )
    records: int = 0
    rejects: Counter = field(default_factory=Counter)  # for progress; the build counts the tables
    parts: list[str] = field(default_factory=list)  # part files (relative to work_dir) holding rows
    rejects_part: str | None = None
    steps: list[StepCounters] = field(default_factory=list)  # read, content, then build.steps

    @property
    def supported(self) -> bool:
        return self.skipped is None


class _Spill:
    """Buffers tables of one kind and spills them to Parquet files in batches of SPILL_ROWS."""

    def __init__(self, work_dir: Path, schema: pa.Schema):
        self.work_dir, self.schema = work_dir, schema
        self.buffers: dict[str, list[pa.Table]] = {}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.buffered = 0

    def add(self, rel: str, table: pa.Table) -> None:
        """Add rows to the file `rel` (relative to the work folder)."""
        self.buffers.setdefault(rel, []).append(table)
        self.buffered += table.num_rows
        if self.buffered >= SPILL_ROWS:
            self.flush()

    def flush(self) -> None:
        for rel, tables in self.buffers.items():
            if rel not in self.writers:
                path = self.work_dir / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                self.writers[rel] = pq.ParquetWriter(path, self.schema, compression="lz4")
            self.writers[rel].write_table(pa.concat_tables(tables))
        self.buffers, self.buffered = {}, 0

    def close(self) -> list[str]:
        """Write what is buffered; the files written, relative to the work folder."""
        self.flush()
        for writer in self.writers.values():
            writer.close()
        return sorted(self.writers)

    def discard(self) -> None:
        """Drop everything: nothing of this file is published."""
        self.buffers, self.buffered = {}, 0
        for rel, writer in self.writers.items():
            writer.close()
            (self.work_dir / rel).unlink()
        self.writers = {}


def partitions(table: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    """(partition folder, its rows) for every language/month in a table of published rows."""
    month = pc.fill_null(pc.utf8_slice_codeunits(table["date"], 0, 7), "")
    key = pc.binary_join_element_wise(table["language"], month, "/")
    for value in pc.unique(key).to_pylist():
        rows = table.filter(pc.equal(key, value))
        yield partition_dir(rows["language"][0].as_py(), rows["date"][0].as_py()), rows


class _Sinks:
    """Where one file's rows (per partition) and rejects go."""

    def __init__(self, work_dir: Path, index: int, result: FileResult):
        self.index, self.result = index, result
        self.rows = _Spill(work_dir, arrow_schema())
        self.rejects = _Spill(work_dir, REJECT_SCHEMA)

    def add(self, batch: Batch) -> None:
        for rejects in batch.rejects:
            self.rejects.add(f"rejects/{self.index:08d}.parquet", rejects)
        if batch.table.num_rows:
            for partition, rows in partitions(published(batch.table)):
                self.rows.add(f"parts/{partition}/{self.index:08d}.parquet", rows)

    def discard(self) -> None:
        self.rows.discard()
        self.rejects.discard()

    def close(self) -> None:
        self.result.parts = self.rows.close()
        self.result.rejects_part = next(iter(self.rejects.close()), None)


def raw_batches(items: Iterable[RawRecord | Reject], counters: StepCounters) -> Iterator[RawBatch]:
    """A container's records in batches of BATCH_ROWS (or BATCH_SIZE), counted as the read step."""
    records: list[RawRecord] = []
    rejects: list[Reject] = []
    size, start, items = 0, time.perf_counter(), iter(items)
    for item in items:
        if isinstance(item, Reject):
            rejects.append(item)
        else:
            records.append(item)
            size += item.size
        if len(records) >= BATCH_ROWS or size >= BATCH_SIZE:
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


def run_steps(batches: Iterable[Batch | RawBatch], steps: Sequence[Step]) -> Iterator[Batch]:
    """The batches through every step, in order."""
    for step in steps:
        batches = step.run(batches)
    return iter(batches)  # type: ignore[arg-type]


def preview(
    source: Source, settings: BuildSection, today: dt.date, steps: Iterable[str] = ()
) -> list[dict | Reject]:
    """One file through its content step and the named steps, as rows (dicts in the working
    schema) and Rejects in record order: to look at what a file becomes, and for tests."""
    container = reader_for(source)(settings)  # type: ignore[misc]
    context = StepContext(settings, today)
    chain = [CONTENT_STEPS[container.content](context), *(STEPS[n](context) for n in steps)]
    batches = run_steps(raw_batches(container.run(source), StepCounters(READ_STEP)), chain)
    return items_of(batches)


def items_of(batches: Iterable[Batch]) -> list[dict | Reject]:
    """The rows (as dicts) and rejects of batches, in (source_path, source_record) order."""
    items: list[dict | Reject] = []
    for batch in batches:
        items += batch.table.to_pylist()
        for rejects in batch.rejects:
            items += [
                Reject(**r | {"reason": RejectReason(r["reason"])}) for r in rejects.to_pylist()
            ]

    def where(item: dict | Reject) -> tuple[str, int]:
        if isinstance(item, Reject):
            return item.source_path, item.source_record
        return item["source_path"], item["source_record"]

    return sorted(items, key=where)


def _file_reject(result: FileResult, sinks: _Sinks, reject: Reject) -> None:
    """A reject for the whole file (it could not be read, or changed, or held nothing)."""
    sinks.add(Batch(pa.table({}), [reject_table([reject])]))
    read = StepCounters(READ_STEP, rows_in=1, rejects=Counter({reject.reason.value: 1}))
    result.steps, result.records, result.rejects = [read], 1, Counter(read.rejects)


def process_file(task: FileTask) -> FileResult:
    """Read one file and run its records through the steps.

    A file that changed while it was read is rejected whole: none of its rows are kept.
    """
    source = task.source
    result = FileResult(task.index, source.rel, 0, "")
    container_cls = reader_for(source)
    result.skipped = source.skip or (NOT_INPUT_FORMAT if container_cls is None else None)
    if result.skipped is not None or container_cls is None:
        return result
    sinks = _Sinks(task.work_dir, task.index, result)
    try:
        raw = open_source(source)
    except SkippedFile as exc:
        result.skipped = exc.kind
        return result
    except OSError as exc:  # a broken link, no permission
        _file_reject(result, sinks, unreadable(source, exc))
        sinks.close()
        return result
    container = container_cls(task.settings)
    context = StepContext(task.settings, task.today)
    steps: list[Step] = [CONTENT_STEPS[container.content](context)]
    steps += [STEPS[name](context) for name in task.settings.steps]
    read = StepCounters(READ_STEP)
    with raw:
        for batch in run_steps(raw_batches(container.records(source, raw), read), steps):
            sinks.add(batch)
        change = raw.finish()
        result.size, result.sha256 = raw.bytes_read, raw.sha256
    result.steps = [read] + [step.counters for step in steps]
    result.records = read.rows_in
    result.rejects = sum((s.rejects for s in result.steps), Counter())
    if change is not None:
        sinks.discard()
        detail = f"{change}; build again once it is complete"
        _file_reject(
            result, sinks, Reject(source.rel, 1, RejectReason.CHANGED_WHILE_READING, detail)
        )
    elif result.records == 0:  # an empty .jsonl or '[]': say so rather than let the file vanish
        _file_reject(
            result, sinks, Reject(source.rel, 1, RejectReason.NO_TEXT, "the file holds no records")
        )
    sinks.close()
    return result
