"""The reader interface, and the base for formats whose file is read whole."""

from __future__ import annotations

from collections.abc import Iterator

from builder.config import BuildSection
from builder.decode import UndecodableError, decode
from builder.records import Draft, Reject, RejectReason, excerpt
from builder.sources import (
    BLANK_BOUND,
    ContentError,
    RawFile,
    SkippedFile,
    Source,
    open_content,
    open_source,
    read_whole,
)


def unreadable(source: Source, exc: OSError | SkippedFile) -> Reject:
    """The reject for a file that cannot be opened (a broken link, no permission, not a file)."""
    why = f"not a regular file ({exc.kind})" if isinstance(exc, SkippedFile) else exc.strerror
    return Reject(source.rel, 1, RejectReason.UNREADABLE, f"cannot read the file: {why or exc}")


class Reader:
    """Reads one source file; yields a Draft or a Reject for every record in it, never raises."""

    def __init__(self, settings: BuildSection):
        self.settings = settings

    def run(self, source: Source) -> Iterator[Draft | Reject]:
        """Open the file and read it (the pipeline opens files itself, to check them afterwards)."""
        try:
            raw = open_source(source)
        except (OSError, SkippedFile) as exc:
            yield unreadable(source, exc)
            return
        with raw:
            yield from self.read(source, raw)

    def read(self, source: Source, raw: RawFile) -> Iterator[Draft | Reject]:
        raise NotImplementedError


class WholeFileReader(Reader):
    """A format read whole, up to `limit_setting` bytes; subclasses parse the decoded text."""

    limit_setting = "max_record_bytes"

    def read(self, source: Source, raw: RawFile) -> Iterator[Draft | Reject]:
        limit = getattr(self.settings, self.limit_setting)
        try:
            whole = read_whole(open_content(raw, source.path.name), limit)
        except ContentError as exc:
            yield Reject(source.rel, 1, exc.reason, str(exc))
            return
        if whole.over_limit:
            detail = f"file is over build.{self.limit_setting}={limit} bytes"
            yield Reject(source.rel, 1, RejectReason.TOO_LARGE, detail, excerpt(whole.data))
            return
        if whole.blank_run:
            detail = (
                f"the first {BLANK_BOUND} bytes are whitespace only; the file is not read further"
            )
            yield Reject(source.rel, 1, RejectReason.NO_TEXT, detail)
            return
        try:
            text = decode(whole.data)
        except UndecodableError as exc:
            yield Reject(source.rel, 1, RejectReason.UNDECODABLE, str(exc), excerpt(whole.data))
            return
        yield from self.parse(source, whole.sha256, text)

    def parse(self, source: Source, sha256: str, text: str) -> Iterator[Draft | Reject]:
        raise NotImplementedError
