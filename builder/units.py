"""Work units: what one task reads. Every core stays busy whatever the shape of the input.

A file larger than `[run] unit_bytes` that can be cut where its reader could start is split
into ranges of about that size: a plain (uncompressed, 8-bit) JSON Lines file just after a
newline, a plain WARC where a record starts, a .warc.gz (one gzip member per record, as
crawlers write them) where a member ends. The build reads such a file once itself, to find the
cuts, count the lines or records before each (so record numbers do not depend on the cuts),
and hash the whole file and each range; a worker reading a range checks the file against that
plan. Small files are grouped, so a million tiny files are not a million tasks. Other files
(compressed JSON, UTF-16/32, JSON read whole, a .warc.gz in one gzip stream) are one unit
each: they cannot be cut without reading them from their start.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from builder.readers import reader_for
from builder.readers.json import JsonLinesReader, head_looks_binary
from builder.readers.warc import GZIP_MAGIC, MemberEnds, RecordEnds, Unsplittable, WarcReader
from builder.sources import (
    BYTES_CODEC,
    CHUNK,
    HEAD_BYTES,
    InputFile,
    Planned,
    SkippedFile,
    Source,
    is_plain,
    open_source,
    stream_codec,
)

SMALL_FILE_SHARE = 4  # files under unit_bytes / this are grouped with others
GROUP_FILES = 2_000  # at most this many files in one unit


def is_read(source: Source) -> bool:
    """Whether the build reads the file (not a special file, a link out, or another format)."""
    return source.skip is None and reader_for(source) is not None


def input_bytes(sources: list[Source]) -> int:
    """The bytes the build will read, as listed: for progress, and to size units and buckets."""
    return sum(s.size for s in sources if is_read(s))


def expected_units(sources: list[Source], unit_bytes: int) -> int:
    """About how many units the input makes (at least 1): worker processes beyond it only cost
    their start-up."""
    return max(1, -(-input_bytes(sources) // unit_bytes))


@dataclass(frozen=True, slots=True)
class Piece:
    """A whole file, or bytes [start, stop) of one holding whole lines, numbered from first_line."""

    source: Source
    start: int = 0
    stop: int | None = None
    first_line: int = 1
    planned: Planned | None = None  # for a range: the file and the range's hash, as scanned


@dataclass(slots=True)
class Scan:
    """What the build learnt reading a split file itself: its hash, and whether it changed."""

    sha256: str = ""
    change: str | None = None


@dataclass(slots=True)
class Planner:
    """Turns discovered sources into units (lists of pieces), lazily and in input order.

    Files the build scans (split files) are listed in `scans` once their scan is complete; the
    ranges of a file come out while it is still being scanned, so workers start at once.
    """

    unit_bytes: int
    scans: dict[str, Scan] = field(default_factory=dict)

    def units(self, sources: list[Source]) -> Iterator[list[Piece]]:
        group: list[Piece] = []
        grouped = 0
        for source in sources:
            reader = reader_for(source)
            work = source.size * (reader.cost if reader else 1)  # in bytes of JSON Lines
            if not is_read(source) or work < self.unit_bytes // SMALL_FILE_SHARE:
                # A file that is not read goes to a worker too: its result says why.
                group.append(Piece(source))
                grouped += work
                if grouped >= self.unit_bytes or len(group) >= GROUP_FILES:
                    yield group
                    group, grouped = [], 0
            elif reader in SPLIT_READERS and work > self.unit_bytes:
                yield from (
                    [piece] for piece in self._ranges(source, self.unit_bytes // reader.cost)
                )
            else:
                yield [Piece(source)]
        if group:
            yield group

    def _ranges(self, source: Source, size: int) -> Iterator[Piece]:
        """The file's ranges of about `size` bytes; the file whole when it cannot be split, or
        cannot be opened here."""
        scan = Scan()
        try:
            raw = open_source(source)
        except (OSError, SkippedFile):
            yield Piece(source)  # the worker opens it again, and rejects or skips it
            return
        with raw:
            boundaries = _boundaries(source, raw.head(HEAD_BYTES))
            if boundaries is None:
                yield Piece(source)
                return
            # A first range at least as long as the head the reader checks, as checked here.
            ranges = cut(raw, max(size, HEAD_BYTES), boundaries)
            try:
                first = next(ranges)
            except Unsplittable:  # found before any cut: the file is read whole
                yield Piece(source)
                return
            for start, stop, first_line, sha256 in itertools.chain([first], ranges):
                yield Piece(source, start, stop, first_line, raw.plan(sha256))
            scan.change = raw.finish()
            scan.sha256 = raw.sha256
        self.scans[source.rel] = scan


class Boundaries(Protocol):
    """Where a file may be cut: `find` walks data[offset:] and returns the first place at or
    after `at_least` where a range may start (None: none in it); `count` is the number of
    lines or records before the last place returned."""

    count: int

    def find(self, data: bytes, offset: int, at_least: int) -> int | None: ...


SPLIT_READERS = (JsonLinesReader, WarcReader)


def _boundaries(source: Source, head: bytes) -> Boundaries | None:
    """How the file's reader could start in its middle, or None when it cannot."""
    reader = reader_for(source)
    if reader is JsonLinesReader:
        plain_text = is_plain(head, source.name) and stream_codec(head) == BYTES_CODEC
        return LineEnds() if plain_text and not head_looks_binary(head) else None
    if reader is WarcReader:
        if is_plain(head, source.name) and head.startswith(b"WARC/"):
            return RecordEnds()
        if head.startswith(GZIP_MAGIC) and source.name.lower().endswith(".gz"):
            return MemberEnds()
    return None


def cut(
    raw: InputFile, unit_bytes: int, boundaries: Boundaries
) -> Iterator[tuple[int, int, int, str]]:
    """(start, stop, first line or record, sha256) of consecutive ranges of about unit_bytes
    covering the file, each starting where `boundaries` allows (the last ending at the end of
    the file). One pass, in chunks of CHUNK bytes."""
    start, first = 0, 1
    digest = hashlib.sha256()
    position = 0
    buffer = memoryview(bytearray(CHUNK))
    while n := raw.readinto(buffer):
        chunk = bytes(buffer[:n])
        offset = 0
        while (at := boundaries.find(chunk, offset, start + unit_bytes - position)) is not None:
            digest.update(chunk[offset:at])
            yield start, position + at, first, digest.hexdigest()
            start, first, digest, offset = position + at, boundaries.count + 1, hashlib.sha256(), at
        digest.update(chunk[offset:])
        position += n
    if position > start:
        yield start, position, first, digest.hexdigest()


def cut_lines(raw: InputFile, unit_bytes: int) -> Iterator[tuple[int, int, int, str]]:
    """Ranges of a JSON Lines file, each ending just after a newline (see LineEnds)."""
    return cut(raw, unit_bytes, LineEnds())


class LineEnds:
    """Cuts just after a \n; counts line ends before them as the JSON Lines reader does:
    \n, \r\n or \r (a cut is only ever made after \n, so no \r\n is split)."""

    def __init__(self) -> None:
        self.count = 0
        self._after_cr = False

    def find(self, data: bytes, offset: int, at_least: int) -> int | None:
        newline = data.find(b"\n", max(offset, at_least))
        at = None if newline < 0 else newline + 1
        piece = data[offset : len(data) if at is None else at]
        self.count += _eols(piece, self._after_cr)
        self._after_cr = piece[-1:] == b"\r" if piece else self._after_cr
        return at


def _eols(piece: bytes, after_cr: bool) -> int:
    """Line ends in `piece`; a \n first in it ends the line that a \r before it already ended."""
    count = piece.count(b"\n") + piece.count(b"\r") - piece.count(b"\r\n")
    return count - 1 if after_cr and piece[:1] == b"\n" else count
