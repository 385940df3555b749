"""One work unit, read in a worker: a file, a range of one, or a group of small files; its
records through the row makers and steps (`reading.chain`), its rows, key rows and rejects spilled
to the work storage (`reading.sinks`).

`process_unit` runs in worker processes: everything it needs travels in its `UnitTask`, and
everything the build needs back travels in its `UnitResult`.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator

from builder.cache import CacheDamaged
from builder.config import BuildSection
from builder.inputs.discover import NOT_INPUT_FORMAT, SkippedFile
from builder.inputs.files import InputFile, open_source
from builder.outcomes import Reject, RejectReason
from builder.readers import reader_for
from builder.readers.base import Reader, unreadable
from builder.reading.chain import Chain
from builder.reading.held import Held
from builder.reading.plan import Piece
from builder.reading.result import FileResult, UnitResult, UnitTask
from builder.reading.reuse import piece_digests, restore, store, unit_key
from builder.reading.sinks import Sinks
from builder.records import ReadItem, Skipped


def file_reject(rel: str, reason: RejectReason, detail: str) -> Reject:
    """A reject for a whole file (it could not be read, changed, or held nothing): record 1."""
    return Reject(rel, 1, reason, detail)


def empty_reject(rel: str) -> Reject:  # an empty .jsonl or '[]': say so rather than let it vanish
    return file_reject(rel, RejectReason.NO_TEXT, "the file holds no records")


def process_unit(task: UnitTask) -> UnitResult:
    """A unit's results: reused from the build cache when its key is there, else computed (and
    stored). See `builder.reading.reuse` for what the key is made of."""
    digests = piece_digests(task.pieces) if task.cache is not None else None
    if digests is None:
        result = _compute(task, f"u{task.index:08d}")
        result.cache = "uncached"
        return result
    key = unit_key(task.salt, digests)
    damaged = False
    try:
        reused = restore(task, key)
        if reused is not None:
            reused.key = key
            return reused
    except CacheDamaged:
        damaged = True
    result = _compute(task, key)
    result.key, result.damaged = key, damaged
    store(task, key, result, digests)
    return result


def _compute(task: UnitTask, name: str) -> UnitResult:
    """Read a unit's files (or its one range) and run their records through the steps; its files
    in the work storage are called `name`.

    A unit of one piece is streamed, whatever its size; a file that changed while it was read is
    rejected whole then, and its rows discarded. A group holds small files only: each is read
    whole and checked before its records go on, and records of many files share batches.
    """
    result = UnitResult(task.index)
    sinks = Sinks(task.work, name, task.buckets, task.settings)
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
    result.day_dependent = chain.context.day.seen
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
    """A small file's records, read whole and checked for changes before any goes on. A file
    that changed (or grew past what was planned) gives none: the build reads it again."""
    file = FileResult(piece.source.rel)
    result.files.append(file)
    raw = _open(piece, file)
    if raw is None:
        return
    if isinstance(raw, Reject):
        items: Held | list[ReadItem] = [raw]
    elif raw.size > piece.source.size:  # read whole only what was small when planned
        with raw:
            file.change = (
                f"the file grew from {piece.source.size} to {raw.size} bytes after it was listed"
            )
        return
    else:
        with raw:
            items = Held(reader.records(piece.source, raw))
            file.change = raw.finish()
        if file.change is not None:
            return
        file.size, file.sha256 = raw.bytes_read, raw.sha256
        if not items:
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
        return  # opened now: the build plans the whole file again
    if raw is None:
        return
    if isinstance(raw, Reject):
        _reject_file(raw, reader, chain, sinks, file)
        return
    with raw:
        for batch in chain.run(reader.rows, reader.records(piece.source, raw)):
            sinks.add(batch)
        change = raw.finish()
    if change is not None:  # the build reads it again, once it holds still
        sinks.discard()
        chain.forget()
        file.change = change
        return
    file.size, file.sha256, file.records = raw.bytes_read, raw.sha256, chain.read.rows_in
    file.passed_over = sum(chain.read.counts.values())
    if file.records == 0 and file.passed_over == 0 and piece.stop is None:
        _reject_file(empty_reject(piece.source.rel), reader, chain, sinks, file)


def _reject_file(
    reject: Reject, reader: Reader, chain: Chain, sinks: Sinks, file: FileResult
) -> None:
    for batch in chain.run(reader.rows, [reject]):
        sinks.add(batch)
    file.records = 1
