"""WARC archives (.warc, .warc.gz): each HTTP response with an HTML payload is a web page.

FastWARC frames the records (it reads them two to three times as fast as warcio: see
tests/bench_warc.py); the HTTP message is parsed and decoded here, because FastWARC's decoding
drops the rest of the file on a payload labelled gzip that is not (CC-NEWS before 2019-05), and
because every decoded payload must stay within build.max_record_bytes. Records are numbered from
1 in the file, every WARC record counted; other records are passed over as Skipped, by kind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import brotli
from fastwarc.warc import ArchiveIterator, WarcRecord, WarcRecordType

from builder.batch import RawRecord, Skipped, WebPage
from builder.readers.base import WEB_PAGE_COST, Container
from builder.records import RejectError, RejectReason, excerpt
from builder.sources import (
    CHUNK,
    ContentError,
    InputFile,
    Source,
    describe_corruption,
    open_content,
    read_chunks,
)

HTTP_HEAD_BYTES = 64 * 1024  # an HTTP response's status line and headers must end within this
PROBE_BYTES = 256  # a content coding that fails within these first bytes was declared, not applied
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
_CHARSET = re.compile(r";\s*charset\s*=\s*[\"']?([^\"';,\s]+)", re.IGNORECASE)
_HTML_START = re.compile(
    rb"(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|title|meta)\b",
    re.IGNORECASE | re.DOTALL,
)
_HEX = re.compile(rb"[0-9a-fA-F]{1,15}")


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response as the WARC record holds it: the body still encoded, unless `decoded`."""

    body: bytes
    url: str | None
    fetched: str | None
    status: int | None
    content_type: str | None
    content_encoding: str
    chunked: bool
    decoded: bool = False


class WarcReader(Container):
    """A .warc or .warc.gz file (or a range of one, cut at record boundaries by builder.units):
    HTML responses become web pages, other records are Skipped by kind."""

    content = "web_page"
    cost = WEB_PAGE_COST

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
            # builder.units can see, so the records lost are the same as reading the file whole.
            detail = f"{_what(exc)} at WARC record {number}; records from {number} on are lost"
            raise RejectError(reason, detail, record=number) from None

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
        parsed = _http_head(head)
        if parsed is None:
            _finish(record, len(head))
            detail = "the HTTP response headers do not end (within the block's first 64 KiB)"
            return RawRecord(
                source.rel, number, "", RejectError(RejectReason.UNDECODABLE, detail, excerpt(head))
            )
        status, headers, body_start = parsed
        content_type = headers.get("content-type")
        media = _media_type(content_type)
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
            return RawRecord(source.rel, number, "", RejectError(RejectReason.TOO_LARGE, detail))
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
        html = (
            response.body if response.decoded else payload(response, self.settings.max_record_bytes)
        )
        page = WebPage(
            html=html,
            url=response.url,
            fetched=response.fetched,
            charset=_charset(response.content_type),
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
    return read_chunks(open_content(raw, name))


def _inflate_members(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Gzip members inflated one after the other, each output as soon as it is inflated."""
    members = Members()
    for chunk in chunks:
        try:
            yield from (out for out, _ in members.inflate(chunk))
        except zlib.error as exc:
            raise ContentError(describe_corruption(exc)) from None
    if members.pending:
        raise ContentError(describe_corruption(EOFError()))


INFLATE_SLICE = 16 * 1024  # compressed bytes fed at once: zlib copies what follows a member's end


class Members:
    """Inflates concatenated gzip members, fed slice by slice, and says where each ends."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(31)
        self.pending = False  # a member has begun and not ended

    def inflate(self, data: bytes, offset: int = 0) -> Iterator[tuple[bytes, int | None]]:
        """(output, None) as it is inflated from data[offset:], and (b"", where in data) at the
        end of each member; raises zlib.error at damage."""
        view = memoryview(data)
        for at in range(offset, len(data), INFLATE_SLICE):
            rest: bytes | memoryview = view[at : at + INFLATE_SLICE]
            stop = at + len(rest)
            while rest:
                out = self._inflate.decompress(rest, CHUNK)
                self.pending = True
                if out:
                    yield out, None
                if self._inflate.eof:
                    rest = self._inflate.unused_data
                    self._inflate, self.pending = zlib.decompressobj(31), False
                    yield b"", stop - len(rest)
                else:
                    rest = self._inflate.unconsumed_tail


def _what(exc: Exception) -> str:
    if isinstance(exc, ContentError):
        return str(exc)
    return f"not a readable WARC record ({exc})"


def block_length(record: WarcRecord) -> int | None:
    """The record's block length, when FastWARC read the header as it says (None: damage,
    such as a header cut short, or one FastWARC reads another way than its Content-Length)."""
    declared = record.headers.get("Content-Length")
    return record.content_length if declared == str(record.content_length) else None


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


def _http_head(data: bytes) -> tuple[int | None, dict[str, str], int] | None:
    """(status, headers by lower-case name, where the body starts), or None when the headers do
    not end in `data`. Lines may end in LF alone, as some servers send them. Repeated headers
    are joined with commas, as HTTP allows."""
    ends = [(at, len(mark)) for mark in (b"\r\n\r\n", b"\n\n") if (at := data.find(mark)) >= 0]
    if not ends:
        return None
    end, mark = min(ends)
    lines = data[:end].decode("latin-1").splitlines()
    parts = lines[0].split(None, 2) if lines else []
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() and len(parts[1]) == 3 else None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip():
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return status, headers, end + mark


def _media_type(content_type: str | None) -> str | None:
    """The first media type named (a repeated header joins several), lower case; None if none."""
    media = (content_type or "").split(";")[0].split(",")[0].strip().lower()
    return media or None


def _kind_of(media: str) -> str:
    match = _MEDIA_TYPE.fullmatch(media)
    return media if match and match[1] in _TOP_TYPES else "other type"


def _charset(content_type: str | None) -> str | None:
    match = _CHARSET.search(content_type or "")
    return match[1] if match else None


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


# Payload decoding: chunked transfer, then content encodings, outermost (last listed) first.


def payload(response: Response, limit: int) -> bytes:
    """The body with chunked transfer and content encodings removed, at most `limit` bytes.

    A coding that fails within its first PROBE_BYTES was declared but not applied: the bytes stay as they
    are (CC-NEWS labelled decoded payloads gzip until 2019-05). A coding that fails later is
    damage (undecodable); a stream that just ends is a truncated page, kept as far as it goes.
    """
    body = _dechunk(response.body) if response.chunked else response.body
    codings = [c.strip().lower() for c in response.content_encoding.split(",") if c.strip()]
    for coding in reversed(codings):
        if coding in ("identity", "none"):
            continue
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise RejectError(RejectReason.UNDECODABLE, f"unknown content encoding {coding!r}")
        body = _decoded(coding, decoder, body, limit)
    if len(body) > limit:
        detail = f"HTTP payload of {len(body)} bytes is over build.max_record_bytes={limit}"
        raise RejectError(RejectReason.TOO_LARGE, detail)
    return body


def _dechunk(data: bytes) -> bytes:
    """Chunked transfer coding removed; data that does not start as chunks is taken as it is,
    and chunks that stop early end the body there."""
    parts: list[bytes] = []
    i = 0
    while True:
        eol = data.find(b"\r\n", i, i + 1024)
        size = data[i:eol].split(b";")[0].strip() if eol >= 0 else b""
        if not _HEX.fullmatch(size):
            return data if i == 0 else b"".join(parts)
        length = int(size, 16)
        if length == 0:
            return b"".join(parts)
        parts.append(data[eol + 2 : eol + 2 + length])
        i = eol + 4 + length
        if i > len(data):
            return b"".join(parts)


class _OverLimit(Exception):
    pass


def _decoded(
    coding: str, decoder: Callable[[bytes, int], Iterator[bytes]], body: bytes, limit: int
) -> bytes:
    """The decoder's output, bounded by `limit`; the bytes as they are if it fails at once."""
    try:
        for _ in decoder(body[:PROBE_BYTES], limit):
            pass
    except (zlib.error, brotli.error):
        return body
    parts: list[bytes] = []
    size = 0
    try:
        for part in decoder(body, limit):
            size += len(part)
            if size > limit:
                raise _OverLimit
            parts.append(part)
    except _OverLimit:
        detail = f"HTTP payload decodes ({coding}) to over build.max_record_bytes={limit} bytes"
        raise RejectError(RejectReason.TOO_LARGE, detail) from None
    except (zlib.error, brotli.error) as exc:
        detail = f"the {coding} content encoding is damaged after {size} bytes: {exc}"
        raise RejectError(RejectReason.UNDECODABLE, detail, excerpt(b"".join(parts))) from None
    return b"".join(parts)


def _inflate(data: bytes, limit: int, wbits: int) -> Iterator[bytes]:
    decompressor = zlib.decompressobj(wbits)
    while data and not decompressor.eof:
        yield decompressor.decompress(data, limit + 1)
        data = decompressor.unconsumed_tail


def _gunzip(data: bytes, limit: int) -> Iterator[bytes]:
    return _inflate(data, limit, 31)


def _deflate(data: bytes, limit: int) -> Iterator[bytes]:
    """HTTP deflate is zlib-wrapped, but some servers send raw deflate: the header tells."""
    wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
    return _inflate(data, limit, 15 if wrapped else -15)


def _unbrotli(data: bytes, limit: int) -> Iterator[bytes]:
    decompressor = brotli.Decompressor()
    yield decompressor.process(data, output_buffer_limit=limit + 1)
    while not decompressor.can_accept_more_data() and not decompressor.is_finished():
        yield decompressor.process(b"", output_buffer_limit=limit + 1)


_DECODERS: dict[str, Callable[[bytes, int], Iterator[bytes]]] = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _deflate,
    "br": _unbrotli,
}


# Record boundaries, for builder.units to cut a big WARC into ranges that workers read at once.
WARC_HEAD_BYTES = 16 * 1024  # a header cut at must end within this (FastWARC reads 32 KiB)
_WARC_VERSION = re.compile(rb"WARC/1\.[01]\r\n")
GZIP_MAGIC = b"\x1f\x8b"


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
