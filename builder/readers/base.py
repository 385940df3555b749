"""The reader interface, and the base for formats whose file is read whole."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from builder.config import BuildSection
from builder.decode import UndecodableError, decode
from builder.records import Draft, Reject, RejectReason, excerpt
from builder.sources import CorruptFileError, Source, read_limited


class Reader:
    """Reads one source file; yields a Draft or a Reject for every record in it, never raises."""

    def __init__(self, settings: BuildSection):
        self.settings = settings

    def run(self, source: Source) -> Iterator[Draft | Reject]:
        raise NotImplementedError


class WholeFileReader(Reader):
    """A format read whole, up to `limit_setting` bytes; subclasses parse the decoded text."""

    limit_setting = "max_record_bytes"

    def run(self, source: Source) -> Iterator[Draft | Reject]:
        limit = getattr(self.settings, self.limit_setting)
        try:
            data = read_limited(source.path, limit)
        except CorruptFileError as exc:
            yield Reject(source.rel, 1, RejectReason.CORRUPT_FILE, str(exc))
            return
        if len(data) > limit:
            yield Reject(
                source.rel,
                1,
                RejectReason.TOO_LARGE,
                f"file is over build.{self.limit_setting}={limit} bytes",
                excerpt(data),
            )
            return
        try:
            text = decode(data)
        except UndecodableError as exc:
            yield Reject(source.rel, 1, RejectReason.UNDECODABLE, str(exc), excerpt(data))
            return
        yield from self.parse(source, hashlib.sha256(data).hexdigest(), text)

    def parse(self, source: Source, sha256: str, text: str) -> Iterator[Draft | Reject]:
        raise NotImplementedError
