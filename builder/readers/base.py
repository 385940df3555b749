"""Readers: one file (or a byte range of one) to raw records, and the base for formats read whole.

A reader finds records and their bytes; what a record means (a seed-format text, a crawler's JSON
object, a web page) is the business of the row maker it names (`rows`). A reader also says where
its files may be cut (`cuts`), so that the planner can hand one big file to several workers.
Readers signal a bad record, or a file that cannot be read on, by raising RejectError; `records`
turns that into a Reject, the one place that does.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import ClassVar

from builder.config import BuildSection
from builder.inputs.compression import BLANK_BOUND, ContentError, Whole, open_content, read_whole
from builder.inputs.discover import SkippedFile, Source
from builder.inputs.files import InputFile
from builder.outcomes import Reject, RejectError, RejectReason, excerpt
from builder.readers.cuts import Boundaries
from builder.records import RawRecord, ReadItem, Skipped
from builder.text.decode import UndecodableError, decode

WEB_PAGE_COST = 16  # extraction: about 30 ms for a 50 KB page, where a record takes 2 ms


def unreadable(source: Source, exc: OSError | SkippedFile) -> Reject:
    """The reject for a file that cannot be opened (a broken link, no permission, not a file)."""
    why = f"not a regular file ({exc.kind})" if isinstance(exc, SkippedFile) else exc.strerror
    return Reject(source.rel, 1, RejectReason.UNREADABLE, f"cannot read the file: {why or exc}")


def after_records(whole: Whole) -> None:
    """Once a file read whole has given its records: bytes after its compressed data are one
    reject more (RejectError, placed after the records)."""
    if whole.trailing is not None:
        raise RejectError(RejectReason.CORRUPT_FILE, str(whole.trailing))


class Reader:
    """Reads one source file into raw records; `rows` names the row maker that makes rows of them."""

    rows: ClassVar[str]
    # Work per input byte against JSON Lines': work units hold 1/cost of `run.unit_bytes` of it,
    # so a unit of web pages (trafilatura's extraction) takes about as long as one of records.
    cost: ClassVar[int] = 1

    def __init__(self, settings: BuildSection):
        self.settings = settings

    @classmethod
    def cuts(cls, source: Source, head: bytes) -> Boundaries | None:
        """Where a file of this format, starting with `head`, may be cut into ranges that a
        reader can start at (see `builder.readers.cuts`); None when it must be read whole."""
        return None

    def records(self, source: Source, raw: InputFile) -> Iterator[ReadItem]:
        """Every record of the file, or a Reject where a record (or the rest of the file) is bad."""
        position = 0
        try:
            for piece in self.pieces(source, raw):
                if isinstance(piece, Skipped):
                    yield piece
                    continue
                position = piece.source_record
                try:
                    yield self.decode(piece)
                except RejectError as exc:
                    yield exc.reject(source.rel, position)
        except RejectError as exc:
            yield exc.reject(source.rel, position + 1)

    def pieces(self, source: Source, raw: InputFile) -> Iterator[RawRecord | Skipped]:
        """The records as found (and those passed over, as Skipped); raises RejectError when the
        rest of the file cannot be read."""
        raise NotImplementedError

    def decode(self, piece: RawRecord) -> RawRecord:
        """One record's payload made ready for its row maker; RejectError rejects it alone."""
        return piece


class WholeFileReader(Reader):
    """A format read whole, up to `limit_setting` bytes; subclasses split the decoded text."""

    limit_setting = "max_record_bytes"

    def pieces(self, source: Source, raw: InputFile) -> Iterator[RawRecord | Skipped]:
        whole = self.read(source, raw)
        try:
            text = decode(whole.data)
        except UndecodableError as exc:
            raise RejectError(RejectReason.UNDECODABLE, str(exc), excerpt(whole.data)) from exc
        yield from self.split(source, whole.sha256, text)
        after_records(whole)

    def read(self, source: Source, raw: InputFile) -> Whole:
        """The file's content, decompressed, up to the limit; RejectError if it cannot be."""
        try:
            stream = open_content(raw.stream(), source.name)
        except ContentError as exc:
            raise RejectError(exc.reason, str(exc)) from exc
        return self.read_content(stream)

    def read_content(self, stream: io.BufferedIOBase, head: bytes = b"") -> Whole:
        """`head`, read from the content already, and the rest of it, up to the limit."""
        limit = getattr(self.settings, self.limit_setting)
        try:
            whole = read_whole(stream, limit, head)
        except ContentError as exc:
            raise RejectError(exc.reason, str(exc)) from exc
        if whole.over_limit:
            detail = f"file is over build.{self.limit_setting}={limit} bytes"
            raise RejectError(RejectReason.TOO_LARGE, detail, excerpt(whole.data))
        if whole.blank_run:
            detail = (
                f"the first {BLANK_BOUND} bytes are whitespace only; the file is not read further"
            )
            raise RejectError(RejectReason.NO_TEXT, detail)
        return whole

    def split(self, source: Source, sha256: str, text: str) -> Iterator[RawRecord]:
        raise NotImplementedError
