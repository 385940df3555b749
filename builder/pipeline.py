"""The parallel half of a build: read one work unit (a file, a range of one, or a group of small
files), run its records through the steps, spill rows and rejects to parts.

A file's container yields raw records; the content step it names makes working rows of them,
in batches, and the configured steps (`build.steps`) run over those batches. `process_unit`
runs in worker processes; everything it needs travels in its `UnitTask`, and everything the
build needs back travels in its `UnitResult`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.accounting import READ_STEP, StepCounters
from builder.batch import Batch, RawBatch, RawRecord, ReadItem, Skipped, reject_table
from builder.config import BuildSection
from builder.layout import partition_dir
from builder.readers import reader_for
from builder.readers.base import Container, unreadable
from builder.records import REJECT_SCHEMA, Reject, RejectReason
from builder.sources import NOT_INPUT_FORMAT, InputFile, SkippedFile, Source, open_source
from builder.stages import key_columns, key_writer
from builder.stages.base import KeyFile
from builder.steps import CONTENT_STEPS, STEPS, Step, StepContext
from builder.storage import PartWriter, Storage
from builder.units import Piece
from schema import arrow_schema
from schema.working import published

SPILL_ROWS = 20_000  # rows (and rejects) buffered per unit before they are written to its parts
SPILL_BYTES = 16 * 1024 * 1024  # or fewer rows, when they hold this many bytes: parts' batches
# stay small, so the shard writers that read them back hold little
# A batch's temporary arrays (the language model's walk, word lists) set a worker's peak memory:
# 1,000 records or 4 MiB took 67 MB less on a 64 MB unit, and 15% more time (per-batch costs).
BATCH_ROWS = 2_000  # raw records per batch through the steps
BATCH_SIZE = 8 * 1024 * 1024  # or fewer, when their sizes as read add up to this (bytes)


@dataclass(frozen=True, slots=True)
class UnitTask:
    index: int
    pieces: list[Piece]
    work: Storage  # where parts, rejects and key files go (a local path is taken as one)
    today: dt.date
    settings: BuildSection
    buckets: int = 1  # of the stages' keys (builder.stages)

    def __post_init__(self) -> None:
        object.__setattr__(self, "work", Storage.of(self.work))


@dataclass(slots=True)
class FileResult:
    """What a unit read of one file: all of it, or one range."""

    rel: str
    size: int = 0  # bytes read (0 when the file was not read)
    sha256: str = ""  # of the bytes read: the file's, or the range's
    skipped: str | None = (
        None  # why the file was not read: its kind ("fifo", "not an input format")
    )
    records: int = 0
    passed_over: int = 0  # records skipped on purpose (a WARC's requests): the file is not empty
    change: str | None = (
        None  # a range that changed since it was planned: the build rejects the file
    )

    @property
    def supported(self) -> bool:
        return self.skipped is None


@dataclass(slots=True)
class UnitResult:
    index: int
    files: list[FileResult] = field(default_factory=list)
    # part files (keys in the work storage) holding rows, with their rows' bytes in memory
    parts: dict[str, int] = field(default_factory=dict)
    rejects_part: str | None = None
    keys: KeyFile | None = None  # the rows' key rows, for the stages
    steps: list[StepCounters] = field(default_factory=list)  # read, content steps, build.steps

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)


class _Spill:
    """Buffers tables of one kind and spills them to part files (Storage.part_writer) in batches
    of SPILL_ROWS rows or SPILL_BYTES bytes, whichever comes first."""

    def __init__(self, work: Storage, schema: pa.Schema):
        self.work, self.schema = work, schema
        self.buffers: dict[str, list[pa.Table]] = {}
        self.writers: dict[str, PartWriter] = {}
        self.buffered = self.buffered_bytes = 0
        self.rows: dict[str, int] = {}  # rows added to each file so far
        self.nbytes: dict[str, int] = {}  # and their bytes in memory

    def add(self, rel: str, table: pa.Table) -> int:
        """Add rows to the file `rel` (a key in the work storage); the number of the first."""
        self.buffers.setdefault(rel, []).append(table)
        self.buffered += table.num_rows
        self.buffered_bytes += table.nbytes
        first = self.rows.get(rel, 0)
        self.rows[rel] = first + table.num_rows
        self.nbytes[rel] = self.nbytes.get(rel, 0) + table.nbytes
        if self.buffered >= SPILL_ROWS or self.buffered_bytes >= SPILL_BYTES:
            self.flush()
        return first

    def flush(self) -> None:
        for rel, tables in self.buffers.items():
            if rel not in self.writers:
                self.writers[rel] = self.work.part_writer(rel, self.schema)
            self.writers[rel].write_table(pa.concat_tables(tables))
        self.buffers, self.buffered, self.buffered_bytes = {}, 0, 0

    def close(self) -> dict[str, int]:
        """Write what is buffered; the files written (keys in the work storage), with the bytes
        their rows take in memory (what sorting them costs)."""
        self.flush()
        for writer in self.writers.values():
            writer.close()
        return {rel: self.nbytes[rel] for rel in sorted(self.writers)}

    def discard(self) -> None:
        """Drop everything: nothing of this file is published."""
        self.buffers, self.buffered, self.buffered_bytes, self.rows = {}, 0, 0, {}
        self.nbytes = {}
        for rel, writer in self.writers.items():
            writer.close()
            self.work.remove(rel)
        self.writers = {}


def partitions(table: pa.Table) -> tuple[pa.Table, list[tuple[str, int, int]]]:
    """The rows grouped by language/month (a stable sort: one take, not a filter per partition),
    and each partition's folder with its (start, stop) in the grouped table, in order of first
    appearance."""
    month = pc.fill_null(pc.utf8_slice_codeunits(table["date"], 0, 7), "")
    key = pc.binary_join_element_wise(table["language"], month, "/")
    codes = pc.dictionary_encode(pa.chunked_array([key]).combine_chunks()).indices.to_numpy()
    grouped = table.take(pa.array(np.argsort(codes, kind="stable")))
    spans, start = [], 0
    for count in np.bincount(codes).tolist():
        language, date = grouped["language"][start].as_py(), grouped["date"][start].as_py()
        spans.append((partition_dir(language, date), start, start + count))
        start += count
    return grouped, spans


class _Sinks:
    """Where one unit's rows (per partition), their key rows, and its rejects go."""

    def __init__(self, task: UnitTask):
        self.index = task.index
        self.rows = _Spill(task.work, arrow_schema())
        self.rejects = _Spill(task.work, REJECT_SCHEMA)
        self.keys = key_writer(task.work, task.index, task.buckets, task.settings)

    def add(self, batch: Batch) -> None:
        for rejects in batch.rejects:
            self.rejects.add(f"rejects/{self.index:08d}.arrow", rejects)
        if not batch.table.num_rows:
            return
        grouped, spans = partitions(batch.table)
        rows, numbers, parts = published(grouped), [], []
        for partition, start, stop in spans:
            parts.append(f"parts/{partition}/{self.index:08d}.arrow")
            first = self.rows.add(parts[-1], rows.slice(start, stop - start))
            numbers.append(np.arange(first, first + stop - start, dtype=np.int64))
        which = np.repeat(np.arange(len(parts)), [stop - start for _, start, stop in spans])
        keys = grouped.select(_KEY_COLUMNS)
        keys = keys.append_column("_part", pa.array(parts, pa.string()).take(pa.array(which)))
        keys = keys.append_column("_row", pa.array(np.concatenate(numbers)))
        self.keys.write(keys)

    def discard(self) -> None:
        self.rows.discard()
        self.rejects.discard()
        self.keys.discard()

    def close(self, result: UnitResult) -> None:
        result.parts = self.rows.close()
        result.rejects_part = next(iter(self.rejects.close()), None)
        result.keys = self.keys.close()


_KEY_COLUMNS = [c for c in key_columns() if c not in ("_part", "_row")]


class _Chain:
    """The steps of one unit: a content step per kind of content, then the configured steps,
    each one instance (one set of counters) for all the unit's files."""

    def __init__(self, settings: BuildSection, today: dt.date):
        context = StepContext(settings, today)
        self.read = StepCounters(READ_STEP)
        self.content = {name: step(context) for name, step in CONTENT_STEPS.items()}
        self.steps: list[Step] = [STEPS[name](context) for name in settings.steps]

    def run(self, content: str, items: Iterable[ReadItem]) -> Iterator[Batch]:
        rows = self.content[content].run(raw_batches(items, self.read))
        return run_steps(coalesced(rows), self.steps)

    def counters(self) -> list[StepCounters]:
        used = [s.counters for s in self.content.values() if s.counters.rows_in]
        return [self.read, *used, *(s.counters for s in self.steps)]

    def forget(self) -> None:
        """Drop what was counted: the unit's only file changed, and is rejected whole instead."""
        for counters in self.counters():
            counters.rows_in = counters.rows_out = 0
            counters.rejects.clear()
            counters.counts.clear()


def raw_batches(items: Iterable[ReadItem], counters: StepCounters) -> Iterator[RawBatch]:
    """A container's records in batches of BATCH_ROWS (or BATCH_SIZE), counted as the read step;
    records it skipped are counted by kind and go no further."""
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


def coalesced(batches: Iterable[Batch]) -> Iterator[Batch]:
    """Consecutive batches joined up to BATCH_ROWS rows or BATCH_SIZE bytes. A content step
    that shrinks its records (a page's HTML to its text) leaves batches small, and the steps
    after it pay per batch (RE2 compiles its patterns per call, the language model's walk)."""
    held: list[Batch] = []
    rows = size = 0
    for batch in batches:
        held.append(batch)
        rows, size = rows + len(batch), size + batch.table.nbytes
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


def file_reject(rel: str, reason: RejectReason, detail: str) -> Reject:
    """A reject for a whole file (it could not be read, changed, or held nothing): record 1."""
    return Reject(rel, 1, reason, detail)


def changed_reject(rel: str, change: str) -> Reject:
    return file_reject(
        rel, RejectReason.CHANGED_WHILE_READING, f"{change}; build again once it is complete"
    )


def empty_reject(rel: str) -> Reject:  # an empty .jsonl or '[]': say so rather than let it vanish
    return file_reject(rel, RejectReason.NO_TEXT, "the file holds no records")


def process_unit(task: UnitTask) -> UnitResult:
    """Read a unit's files (or its one range) and run their records through the steps.

    A unit of one piece is streamed, whatever its size; a file that changed while it was read is
    rejected whole then, and its rows discarded. A group holds small files only: each is read
    whole and checked before its records go on, and records of many files share batches.
    """
    result = UnitResult(task.index)
    sinks = _Sinks(task)
    chain = _Chain(task.settings, task.today)
    if len(task.pieces) == 1:
        _stream(task.pieces[0], task.settings, chain, sinks, result)
    else:
        by_content: dict[str, list[tuple[Piece, type[Container]]]] = defaultdict(list)
        for piece in task.pieces:
            container_cls = _container(piece, result)
            if container_cls is not None:
                by_content[container_cls.content].append((piece, container_cls))
        for content, members in sorted(by_content.items()):
            items = itertools.chain.from_iterable(
                _whole(piece, cls(task.settings), result) for piece, cls in members
            )
            for batch in chain.run(content, items):
                sinks.add(batch)
    result.steps = chain.counters()
    sinks.close(result)
    return result


def _container(piece: Piece, result: UnitResult) -> type[Container] | None:
    """The piece's container, or None when the file is not read (its FileResult says why)."""
    container_cls = reader_for(piece.source)
    skipped = piece.source.skip or (NOT_INPUT_FORMAT if container_cls is None else None)
    if skipped is not None:
        result.files.append(FileResult(piece.source.rel, skipped=skipped))
        return None
    return container_cls


def _open(piece: Piece, file: FileResult) -> InputFile | Reject | None:
    """The piece opened (and restricted to its range); a Reject, or None when it is skipped."""
    try:
        raw = open_source(piece.source)
    except SkippedFile as exc:
        file.skipped = exc.kind
        return None
    except OSError as exc:  # a broken link, no permission
        return unreadable(piece.source, exc)
    if piece.stop is not None and piece.planned is not None:
        raw.restrict(piece.start, piece.stop, piece.first_line, piece.planned)
    return raw


def _whole(piece: Piece, container: Container, result: UnitResult) -> Iterator[ReadItem]:
    """A small file's records, read whole and checked for changes before any goes on."""
    file = FileResult(piece.source.rel)
    result.files.append(file)
    raw = _open(piece, file)
    if raw is None:
        return
    if isinstance(raw, Reject):
        items: list[ReadItem] = [raw]
    elif raw.size > piece.source.size:  # read whole only what was small when planned
        with raw:
            grew = f"the file grew from {piece.source.size} to {raw.size} bytes after it was listed"
        items = [changed_reject(piece.source.rel, grew)]
    else:
        with raw:
            items = list(container.records(piece.source, raw))
            change = raw.finish()
        file.size, file.sha256 = raw.bytes_read, raw.sha256
        if change is not None:
            items = [changed_reject(piece.source.rel, change)]
        elif not items:
            items = [empty_reject(piece.source.rel)]
    file.passed_over = sum(isinstance(item, Skipped) for item in items)
    file.records = len(items) - file.passed_over
    yield from items


def _stream(
    piece: Piece, settings: BuildSection, chain: _Chain, sinks: _Sinks, result: UnitResult
) -> None:
    """One file or range, streamed through the steps; rows are discarded if it changes."""
    container_cls = _container(piece, result)
    if container_cls is None:
        return
    file = FileResult(piece.source.rel)
    result.files.append(file)
    container = container_cls(settings)
    raw = _open(piece, file)
    if piece.stop is not None and not isinstance(raw, InputFile):  # a range that cannot be
        file.skipped, file.change = None, "the file was removed or replaced while it was read"
        return  # opened now: the build rejects the whole file, once
    if raw is None:
        return
    if isinstance(raw, Reject):
        _reject_file(raw, container, chain, sinks, file)
        return
    with raw:
        for batch in chain.run(container.content, container.records(piece.source, raw)):
            sinks.add(batch)
        change = raw.finish()
    file.size, file.sha256, file.records = raw.bytes_read, raw.sha256, chain.read.rows_in
    file.passed_over = sum(chain.read.counts.values())
    if change is not None:
        sinks.discard()
        chain.forget()
        if piece.stop is not None:  # a range: the build rejects the whole file, once
            file.change, file.records = change, 0
        else:
            _reject_file(changed_reject(piece.source.rel, change), container, chain, sinks, file)
    elif file.records == 0 and file.passed_over == 0 and piece.stop is None:
        _reject_file(empty_reject(piece.source.rel), container, chain, sinks, file)


def _reject_file(
    reject: Reject, container: Container, chain: _Chain, sinks: _Sinks, file: FileResult
) -> None:
    for batch in chain.run(container.content, [reject]):
        sinks.add(batch)
    file.records = 1
