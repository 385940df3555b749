"""One work unit, read in a worker: a file, a range of one, or a group of small files; its
records through the row makers and steps (`reading.chain`), its rows, key rows and rejects spilled
to the work storage (`reading.sinks`).

`process_unit` runs in worker processes: everything it needs travels in its `UnitTask`, and
everything the build needs back travels in its `UnitResult`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from builder.accounting import StepCounters
from builder.config import BuildSection
from builder.inputs.discover import NOT_INPUT_FORMAT, SkippedFile
from builder.inputs.files import InputFile, open_source
from builder.outcomes import Reject, RejectReason
from builder.readers import reader_for
from builder.readers.base import Reader, unreadable
from builder.reading.chain import Chain
from builder.reading.held import Held
from builder.reading.plan import Piece
from builder.reading.sinks import Sinks
from builder.records import ReadItem, Skipped
from builder.stages.base import KeyFile
from builder.storage import Storage


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
    steps: list[StepCounters] = field(default_factory=list)  # read, row makers, build.steps

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)


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
    sinks = Sinks(task.work, task.index, task.buckets, task.settings)
    chain = Chain(task.settings, task.today)
    if len(task.pieces) == 1:
        _stream(task.pieces[0], task.settings, chain, sinks, result)
    else:
        by_maker: dict[str, list[tuple[Piece, type[Reader]]]] = defaultdict(list)
        for piece in task.pieces:
            reader_cls = _reader(piece, result)
            if reader_cls is not None:
                by_maker[reader_cls.rows].append((piece, reader_cls))
        for rows, members in sorted(by_maker.items()):
            items = itertools.chain.from_iterable(
                _whole(piece, cls(task.settings), result) for piece, cls in members
            )
            for batch in chain.run(rows, items):
                sinks.add(batch)
    result.steps = chain.counters()
    spilled = sinks.close()
    result.parts, result.rejects_part, result.keys = spilled.parts, spilled.rejects, spilled.keys
    return result


def _reader(piece: Piece, result: UnitResult) -> type[Reader] | None:
    """The piece's reader, or None when the file is not read (its FileResult says why)."""
    reader_cls = reader_for(piece.source)
    skipped = piece.source.skip or (NOT_INPUT_FORMAT if reader_cls is None else None)
    if skipped is not None:
        result.files.append(FileResult(piece.source.rel, skipped=skipped))
        return None
    return reader_cls


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


def _whole(piece: Piece, reader: Reader, result: UnitResult) -> Iterator[ReadItem]:
    """A small file's records, read whole and checked for changes before any goes on."""
    file = FileResult(piece.source.rel)
    result.files.append(file)
    raw = _open(piece, file)
    if raw is None:
        return
    if isinstance(raw, Reject):
        items: Held | list[ReadItem] = [raw]
    elif raw.size > piece.source.size:  # read whole only what was small when planned
        with raw:
            grew = f"the file grew from {piece.source.size} to {raw.size} bytes after it was listed"
        items = [changed_reject(piece.source.rel, grew)]
    else:
        with raw:
            items = Held(reader.records(piece.source, raw))
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
    piece: Piece, settings: BuildSection, chain: Chain, sinks: Sinks, result: UnitResult
) -> None:
    """One file or range, streamed through the steps; rows are discarded if it changes."""
    reader_cls = _reader(piece, result)
    if reader_cls is None:
        return
    file = FileResult(piece.source.rel)
    result.files.append(file)
    reader = reader_cls(settings)
    raw = _open(piece, file)
    if piece.stop is not None and not isinstance(raw, InputFile):  # a range that cannot be
        file.skipped, file.change = None, "the file was removed or replaced while it was read"
        return  # opened now: the build rejects the whole file, once
    if raw is None:
        return
    if isinstance(raw, Reject):
        _reject_file(raw, reader, chain, sinks, file)
        return
    with raw:
        for batch in chain.run(reader.rows, reader.records(piece.source, raw)):
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
            _reject_file(changed_reject(piece.source.rel, change), reader, chain, sinks, file)
    elif file.records == 0 and file.passed_over == 0 and piece.stop is None:
        _reject_file(empty_reject(piece.source.rel), reader, chain, sinks, file)


def _reject_file(
    reject: Reject, reader: Reader, chain: Chain, sinks: Sinks, file: FileResult
) -> None:
    for batch in chain.run(reader.rows, [reject]):
        sinks.add(batch)
    file.records = 1
