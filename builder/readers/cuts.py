"""Where a file may be cut, so that one big file keeps every worker busy: just after a newline in
JSON Lines (`LineEnds`), where a record starts in a plain WARC (`RecordEnds`), where a gzip
member and a record end in a .warc.gz (`MemberEnds`). A reader names its cuts
(`Reader.cuts`); `cut` walks a file once and yields the ranges with their hashes and the number
of lines or records before each, so record numbers do not depend on the cuts.
"""

from __future__ import annotations

import hashlib
import io
import re
import zlib
from collections.abc import Iterator
from typing import Protocol

from fastwarc.warc import WarcRecord

from builder.inputs.compression import Members
from builder.inputs.files import CHUNK, InputFile


def block_length(record: WarcRecord) -> int | None:
    """The record's block length, when FastWARC read the header as it says (None: damage,
    such as a header cut short, or one FastWARC reads another way than its Content-Length)."""
    declared = record.headers.get("Content-Length")
    return record.content_length if declared == str(record.content_length) else None


# Record boundaries, for the planner (builder.reading.plan) to cut a big WARC into ranges that workers read at once.
WARC_HEAD_BYTES = 16 * 1024  # a header cut at must end within this (FastWARC reads 32 KiB)
_WARC_VERSION = re.compile(rb"WARC/1\.[01]\r\n")


class Unsplittable(Exception):
    """The file cannot be cut where the reader could start (a .warc.gz in one gzip stream)."""


class RecordEnds:
    """Walks a plain WARC stream record by record, by each header's Content-Length, without
    reading the blocks; `count` is the number of records before the last cut found.

    A cut is made where a record starts (a 'WARC/' after the previous block and the blank
    lines FastWARC passes over). Each header is read by FastWARC, as the reader reads it.
    Anything the reader could stumble on (a header that is not WARC/1.0 or 1.1, over
    WARC_HEAD_BYTES, without a block_length) ends the cutting: the rest of the file is one
    range, whose reader rejects it from the damaged record exactly as a reader of the whole
    file does. Being stricter than the reader is safe; being more lenient would not be.
    """

    def __init__(self) -> None:
        self.count = 0  # records wholly before the walk's position, once at a boundary
        self.records = 0  # records whose header was read
        self._skip = 0  # bytes of the current block still to pass over
        self._header = bytearray()  # the current record's header, while it is read
        self._blank = b"\n"  # the last byte passed over between records
        self.broken = False

    @property
    def between(self) -> bool:
        """At a record boundary: the last block passed over, no byte of the next read."""
        return not self._skip and not self._header and not self.broken

    def find(self, data: bytes, offset: int, at_least: int) -> int | None:
        """Walk data[offset:]; where in it the first record at or after `at_least` starts
        (the walk stops there), or None (all of it walked)."""
        i, n = offset, len(data)
        while i < n and not self.broken:
            if self._skip:
                step = min(self._skip, n - i)
                i, self._skip = i + step, self._skip - step
                continue
            if not self._header:
                while i < n and data[i] in b"\r\n":  # blank lines between records
                    self._blank = data[i : i + 1]
                    i += 1
                if i == n:
                    break
                if (
                    self._blank != b"\n"
                ):  # FastWARC reads lines: a lone \r before a header is not one
                    self.broken = True
                    break
                if i >= at_least and self.records:
                    self.count = self.records
                    return i
            i = self._read_header(data, i)
        return None

    def _read_header(self, data: bytes, i: int) -> int:
        """Add data[i:] to the header; past its end once complete (the block then skipped)."""
        seen = len(self._header)
        self._header += data[i : i + WARC_HEAD_BYTES + 4 - seen]
        end = self._header.find(b"\r\n\r\n", max(0, seen - 3))
        if end < 0:
            self.broken = len(self._header) > WARC_HEAD_BYTES
            return len(data) if not self.broken else i
        header = bytes(self._header[: end + 4])
        length = _header_block_length(header) if _WARC_VERSION.match(header) else None
        if length is None:
            self.broken = True
            return i
        self._header, self._blank = bytearray(), b"\n"
        self._skip = length
        self.records += 1
        return i + end + 4 - seen


def _header_block_length(header: bytes) -> int | None:
    try:
        return block_length(WarcRecord.from_reader(io.BytesIO(header)))
    except (OSError, ValueError):
        return None


class MemberEnds:
    """Walks a .warc.gz gzip member by member: a cut is made where a member ends and so does a
    record, so that each range is whole gzip members holding whole records. A file whose first
    member holds more than one record is Unsplittable (one gzip stream for the whole file)."""

    def __init__(self) -> None:
        self._records = RecordEnds()
        self._members = Members()
        self._first = True
        self.count = 0
        self.broken = False

    def find(self, data: bytes, offset: int, at_least: int) -> int | None:
        if self.broken:
            return None
        try:
            for out, end in self._members.inflate(data, offset):
                self._records.find(out, 0, len(out) + 1)
                if self._first and self._records.records > 1:
                    raise Unsplittable("the first gzip member holds more than one WARC record")
                if end is None:
                    continue
                self._first = False
                if end >= at_least and self._records.between:
                    self.count = self._records.records
                    return end
        except zlib.error:
            self.broken = True  # damage: no cut after it; the reader reports it
        return None


class Boundaries(Protocol):
    """Where a file may be cut: `find` walks data[offset:] and returns the first place at or
    after `at_least` where a range may start (None: none in it); `count` is the number of
    lines or records before the last place returned."""

    count: int

    def find(self, data: bytes, offset: int, at_least: int) -> int | None: ...


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
