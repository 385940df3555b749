"""WARC archives (.warc, .warc.gz): each HTTP response with an HTML payload is a web page.

FastWARC frames the records (it reads them two to three times as fast as warcio: see
bench/warc.py); the HTTP message is parsed and decoded in `builder.readers.http`. Records are
numbered from 1 in the file, every WARC record counted; other records are passed over as
Skipped, by kind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import replace

from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from builder.inputs.compression import (
    GZIP_MAGIC,
    ContentError,
    Members,
    describe_corruption,
    is_plain,
    open_content,
    read_chunks,
    trailing_bytes,
)
from builder.inputs.discover import Source
from builder.inputs.files import CHUNK, InputFile
from builder.outcomes import RejectError, RejectReason, domain_of, excerpt
from builder.readers.base import WEB_PAGE_COST, Reader
from builder.readers.cuts import Boundaries, MemberEnds, RecordEnds, block_length
from builder.readers.http import (
    HTTP_HEAD_BYTES,
    Response,
    charset_of,
    media_type,
    parse_head,
    payload,
)
from builder.records import RawRecord, Skipped, WebPage

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Media types name the kind of a skipped response when they are well formed and of a registered
# top-level type; anything else is "other type", so that the counts stay few.
_TOP_TYPES = {
    "application",
    "audio",
    "font",
    "image",
    "message",
    "model",
    "multipart",
    "text",
    "video",
}
_MEDIA_TYPE = re.compile(r"([a-z]+)/[a-z0-9][a-z0-9!#$&^_.+-]{0,40}")
_HTML_START = re.compile(
    rb"(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|title|meta)\b",
    re.IGNORECASE | re.DOTALL,
)


class WarcReader(Reader):
    """A .warc or .warc.gz file (or a range of one, cut at record boundaries by the planner):
    HTML responses become web pages, other records are Skipped by kind."""

    rows = "web_page"
    cost = WEB_PAGE_COST

    @classmethod
    def cuts(cls, source: Source, head: bytes) -> Boundaries | None:
        """Where a record starts in a plain WARC; where a gzip member (and a record) ends in a
        .warc.gz written one member per record. A .warc.gz in one gzip stream is read whole."""
        if is_plain(head, source.name) and head.startswith(b"WARC/"):
            return RecordEnds()
        if head.startswith(GZIP_MAGIC) and source.name.lower().endswith(".gz"):
            return MemberEnds()
        return None

    def pieces(self, source: Source, raw: InputFile) -> Iterator[RawRecord | Skipped]:
        number = raw.first_line  # the record being read: where damage is reported
        try:
            stream = _Forward(_content(raw, source.name))
            records = iter(ArchiveIterator(stream, parse_http=False, stream_detect=False))
            while (record := next(records, None)) is not None:
                yield self._item(source, number, record)
                number += 1
            stream.check_end()
        except (ContentError, OSError, ValueError) as exc:
            reason = exc.reason if isinstance(exc, ContentError) else RejectReason.CORRUPT_FILE
            # The same words whatever the cuts: a range never starts after damage that
            # the planner can see, so the records lost are the same as reading the file whole.
            detail = f"{_what(exc)} at WARC record {number}; records from {number} on are lost"
            raise RejectError(reason, detail, record=number) from exc

    def _item(self, source: Source, number: int, record: WarcRecord) -> RawRecord | Skipped:
        """The record as a web page to decode, or Skipped; raises ContentError when the file
        ends inside it."""
        if block_length(record) is None:
            raise ContentError(
                "a WARC record header without a readable Content-Length (the file is truncated "
                "or damaged there)"
            )
        kind = str(record.record_type)
        if record.record_type != WarcRecordType.response:
            _finish(record, 0)
            return Skipped(f"warc {kind}")
        head = _read(record, HTTP_HEAD_BYTES)
        if not record.is_http and not head.startswith(b"HTTP/"):  # typed HTTP, or starting so
            _finish(record, len(head))
            return Skipped("warc response (not http)")
        parsed = parse_head(head)
        if parsed is None:
            _finish(record, len(head))
            detail = "the HTTP response headers do not end (within the block's first 64 KiB)"
            target = domain_of(_target(record.headers.get("WARC-Target-URI")))
            reject = RejectError(RejectReason.UNDECODABLE, detail, excerpt(head), domain=target)
            return RawRecord(source.rel, number, "", reject)
        status, headers, body_start = parsed
        content_type = headers.get("content-type")
        media = media_type(content_type)
        if media is not None and media not in HTML_TYPES:
            _finish(record, len(head))
            return Skipped(f"warc response ({_kind_of(media)})")
        limit = self.settings.max_record_bytes
        if record.content_length - body_start > limit:
            _finish(record, len(head))
            detail = (
                f"HTTP payload of {record.content_length - body_start} bytes is over "
                f"build.max_record_bytes={limit}"
            )
            target = domain_of(_target(record.headers.get("WARC-Target-URI")))
            reject = RejectError(RejectReason.TOO_LARGE, detail, domain=target)
            return RawRecord(source.rel, number, "", reject)
        body = head[body_start:] + _read(record, record.content_length - len(head))
        _finish(record, body_start + len(body))
        response = Response(
            body,
            _target(record.headers.get("WARC-Target-URI")),
            _iso_utc(record.headers.get("WARC-Date")),
            status,
            content_type,
            headers.get("content-encoding", ""),
            "chunked" in headers.get("transfer-encoding", "").lower(),
        )
        if media is None:  # no type: an HTML page only if it starts like one
            try:
                html = payload(response, limit)
            except RejectError:
                return RawRecord(source.rel, number, "", response, len(body))  # decode rejects it
            if not _HTML_START.match(html[:1024]):
                return Skipped("warc response (no type)")
            response = replace(response, body=html, decoded=True)
        return RawRecord(source.rel, number, "", response, len(body))

    def decode(self, piece: RawRecord) -> RawRecord:
        response = piece.payload
        if isinstance(response, RejectError):
            raise response
        try:
            html = (
                response.body
                if response.decoded
                else payload(response, self.settings.max_record_bytes)
            )
        except RejectError as exc:  # the response's target still says whose page it was
            exc.domain = exc.domain or domain_of(response.url)
            raise
        page = WebPage(
            html=html,
            url=response.url,
            fetched=response.fetched,
            charset=charset_of(response.content_type),
            status=response.status,
        )
        sha256 = hashlib.sha256(html).hexdigest()
        return RawRecord(piece.source_path, piece.source_record, sha256, page, len(html))


class _Forward:
    """The content as FastWARC reads it: forward only (it asks where it is, and seeks only to
    where it is). Damage is raised as ContentError once the bytes before it are read."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks, self._position = chunks, 0
        self._chunk, self._offset = b"", 0  # the chunk being read, and how far
        self._damage: ContentError | None = None

    def read(self, size: int = -1) -> bytes:
        size = size if size >= 0 else CHUNK
        parts, got = [], 0
        while got < size:
            if self._offset == len(self._chunk) and not self._next_chunk():
                break
            part = self._chunk[self._offset : self._offset + size - got]
            self._offset += len(part)
            parts.append(part)
            got += len(part)
        if not got and self._damage is not None:
            raise self._damage
        self._position += got
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _next_chunk(self) -> bool:
        """Move to the next chunk of content; False at its end, or at damage (kept for later)."""
        if self._damage is not None:
            return False
        try:
            self._chunk, self._offset = next(self._chunks, b""), 0
        except ContentError as exc:
            self._chunk, self._offset, self._damage = b"", 0, exc
        return bool(self._chunk)

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._position + offset
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target != self._position:
            raise io.UnsupportedOperation("a WARC input is read forward only")
        return self._position

    def close(self) -> None:
        pass

    def check_end(self) -> None:
        """After the last record: anything left but blank lines is damage FastWARC stopped at."""
        while chunk := self.read(CHUNK):
            if chunk.strip():
                raise ContentError("bytes that are not a WARC record")


def _content(raw: InputFile, name: str) -> Iterator[bytes]:
    """The file's content in chunks. Gzip is inflated here member by member, so that damage
    loses no record before it; other compressions as open_content reads them."""
    if raw.head(len(GZIP_MAGIC)) == GZIP_MAGIC:  # a range of such a file starts with a member
        return _inflate_members(read_chunks(raw.stream()))
    return _decompressed(open_content(raw.stream(), name))


def _decompressed(stream: io.BufferedIOBase) -> Iterator[bytes]:
    """The content's chunks; bytes after a zstd file's last frame end it as damage does."""
    yield from read_chunks(stream)
    if (trailing := trailing_bytes(stream)) is not None:
        raise ContentError(str(trailing))


def _inflate_members(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Gzip members inflated one after the other, each output as soon as it is inflated."""
    members = Members()
    for chunk in chunks:
        try:
            yield from (out for out, _ in members.inflate(chunk))
        except zlib.error as exc:
            raise ContentError(describe_corruption(exc)) from exc
    if members.pending:
        raise ContentError(describe_corruption(EOFError()))


def _what(exc: Exception) -> str:
    if isinstance(exc, ContentError):
        return str(exc)
    return f"not a readable WARC record ({exc})"


def _read(record: WarcRecord, size: int) -> bytes:
    """Up to `size` bytes of the record's block, fewer only at its end."""
    parts, got = [], 0
    while got < size and (part := record.reader.read(min(size - got, CHUNK))):
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _finish(record: WarcRecord, done: int) -> None:
    """Pass over the rest of the block; ContentError when the file ends before it does."""
    if done + record.reader.consume() < record.content_length:
        raise ContentError("the file ends inside a WARC record (truncated file)")


def _kind_of(media: str) -> str:
    match = _MEDIA_TYPE.fullmatch(media)
    return media if match and match[1] in _TOP_TYPES else "other type"


def _target(uri: str | None) -> str | None:
    """WARC-Target-URI; WARC 1.0 examples wrapped it in angle brackets, and some writers do."""
    if uri is None:
        return None
    return uri.strip().removeprefix("<").removesuffix(">") or None


def _iso_utc(value: str | None) -> str | None:
    """WARC-Date as ISO 8601 in UTC, to the second; None when missing or not a date."""
    try:
        when = dt.datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)  # WARC dates are UTC by definition
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
