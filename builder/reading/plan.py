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

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from builder.inputs.discover import SkippedFile, Source
from builder.inputs.files import Planned, open_source
from builder.inputs.lines import HEAD_BYTES
from builder.readers import reader_for
from builder.readers.base import Reader
from builder.readers.cuts import Unsplittable, cut

SMALL_FILE_SHARE = 4  # files under unit_bytes / this are grouped with others
GROUP_FILES = 2_000  # at most this many files in one unit


def is_read(source: Source) -> bool:
    """Whether the build reads the file (not a special file, a link out, or another format)."""
    return source.skip is None and reader_for(source) is not None


def input_bytes(sources: list[Source]) -> int:
    """The bytes the build will read, as listed: for progress, and to size units and buckets."""
    return sum(s.size for s in sources if is_read(s))


def work_bytes(source: Source) -> int:
    """The file's work in bytes of JSON Lines: its size times its reader's cost (a page's
    extraction costs more per byte than a record's parsing)."""
    reader = reader_for(source)
    return source.size * (reader.cost if reader else 1)


def expected_units(sources: list[Source], unit_bytes: int) -> int:
    """About how many units the input makes (at least 1): worker processes beyond it only cost
    their start-up."""
    return max(1, -(-sum(work_bytes(s) for s in sources if is_read(s)) // unit_bytes))


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
            reader, work = reader_for(source), work_bytes(source)
            if not is_read(source) or work < self.unit_bytes // SMALL_FILE_SHARE:
                # A file that is not read goes to a worker too: its result says why.
                group.append(Piece(source))
                grouped += work
                if grouped >= self.unit_bytes or len(group) >= GROUP_FILES:
                    yield group
                    group, grouped = [], 0
            elif reader is not None and work > self.unit_bytes:
                yield from (
                    [piece]
                    for piece in self._ranges(source, reader, self.unit_bytes // reader.cost)
                )
            else:
                yield [Piece(source)]
        if group:
            yield group

    def _ranges(self, source: Source, reader: type[Reader], size: int) -> Iterator[Piece]:
        """The file's ranges of about `size` bytes; the file whole when it cannot be split, or
        cannot be opened here."""
        scan = Scan()
        try:
            raw = open_source(source)
        except (OSError, SkippedFile):
            yield Piece(source)  # the worker opens it again, and rejects or skips it
            return
        with raw:
            boundaries = reader.cuts(source, raw.head(HEAD_BYTES))
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
