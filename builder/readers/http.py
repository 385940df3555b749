"""The HTTP message inside a WARC response: status, headers, and the payload with chunked transfer
and content encodings (gzip, deflate, br) removed, bounded by build.max_record_bytes while it is
inflated. FastWARC's own decoding drops the rest of the file on a payload labelled gzip that is
not (CC-NEWS before 2019-05), so it is done here.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import brotli

from builder.outcomes import RejectError, RejectReason, excerpt

HTTP_HEAD_BYTES = 64 * 1024  # an HTTP response's status line and headers must end within this
PROBE_BYTES = 256  # a content coding that fails within these first bytes was declared, not applied
_CHARSET = re.compile(r";\s*charset\s*=\s*[\"']?([^\"';,\s]+)", re.IGNORECASE)
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


def parse_head(data: bytes) -> tuple[int | None, dict[str, str], int] | None:
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


def media_type(content_type: str | None) -> str | None:
    """The first media type named (a repeated header joins several), lower case; None if none."""
    media = (content_type or "").split(";")[0].split(",")[0].strip().lower()
    return media or None


def charset_of(content_type: str | None) -> str | None:
    match = _CHARSET.search(content_type or "")
    return match[1] if match else None


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
    except _OverLimit as exc:
        detail = f"HTTP payload decodes ({coding}) to over build.max_record_bytes={limit} bytes"
        raise RejectError(RejectReason.TOO_LARGE, detail) from exc
    except (zlib.error, brotli.error) as exc:
        detail = f"the {coding} content encoding is damaged after {size} bytes: {exc}"
        raise RejectError(RejectReason.UNDECODABLE, detail, excerpt(b"".join(parts))) from exc
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
