"""The reader interface, and the base for formats whose file is read whole."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from builder.decode import UndecodableError, decode
from builder.records import Draft, Reject, RejectReason, excerpt
from builder.sources import CorruptFileError, Source, read_limited


class Reader:
    """Reads one source file; yields a Draft or a Reject for every record in it, never raises."""

    def __init__(self, max_record_bytes: int):
        self.max_record_bytes = max_record_bytes

    def run(self, source: Source) -> Iterator[Draft | Reject]:
        raise NotImplementedError


class WholeFileReader(Reader):
    """A format read whole (bounded by max_record_bytes): subclasses parse the decoded text."""

    def run(self, source: Source) -> Iterator[Draft | Reject]:
        got = whole_file(source, self.max_record_bytes)
        if isinstance(got, Reject):
            yield got
        else:
            yield from self.parse(source, *got)

    def parse(self, source: Source, sha256: str, text: str) -> Iterator[Draft | Reject]:
        raise NotImplementedError


def whole_file(source: Source, limit: int) -> tuple[str, str] | Reject:
    """(sha256 of the raw bytes, decoded text) of a file, or the Reject that explains why not."""
    try:
        data = read_limited(source.path, limit)
    except CorruptFileError as exc:
        return Reject(source.rel, 1, RejectReason.CORRUPT_FILE, str(exc))
    if data is None:
        return Reject(
            source.rel,
            1,
            RejectReason.TOO_LARGE,
            f"file is over {limit} bytes (build.max_record_bytes)",
        )
    try:
        text = decode(data)
    except UndecodableError as exc:
        return Reject(source.rel, 1, RejectReason.UNDECODABLE, str(exc), excerpt(data))
    return hashlib.sha256(data).hexdigest(), text
