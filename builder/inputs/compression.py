"""A file's content, decompressed by its magic bytes (gzip, zstd, bzip2, xz), whatever its name;
archives refused. Reads are in bounded chunks, and damage surfaces only after the bytes before
it, so a reader keeps every record the stream holds up to the damage. Gzip members and zstd frames
are read one after the other, and bytes after the last that start no other end the content
(`trailing_bytes` says so): see `builder.inputs.frames`.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import lzma
import re
import typing
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pyarrow as pa
import zstandard

from builder.inputs.frames import (
    CHUNK,
    GZIP_MAGIC,
    ZSTD_MAGIC,
    Concatenated,
    GzipMembers,
    Trailing,
    ZstdFrames,
)
from builder.outcomes import RejectReason


class ContentError(Exception):
    """Content that cannot be read as records: a damaged or truncated stream, or an archive."""

    def __init__(self, message: str, reason: RejectReason = RejectReason.CORRUPT_FILE):
        super().__init__(message)
        self.reason = reason


# Compression formats, recognised by their magic bytes; the suffix only has to agree.
def _arrow_codec(codec: str) -> Callable[[io.BufferedIOBase], io.BufferedIOBase]:
    def opener(stream: io.BufferedIOBase) -> io.BufferedIOBase:
        native = pa.CompressedInputStream(pa.PythonFile(stream, mode="r"), codec)
        return io.BufferedReader(_NativeView(native), CHUNK)

    return opener


def _members(kind: type[Concatenated]) -> Callable[[io.BufferedIOBase], io.BufferedIOBase]:
    def opener(stream: io.BufferedIOBase) -> io.BufferedIOBase:
        return io.BufferedReader(kind(stream), CHUNK)

    return opener


def _open_xz(stream: io.BufferedIOBase) -> io.BufferedIOBase:
    return lzma.LZMAFile(typing.cast(typing.IO[bytes], stream))


@dataclass(frozen=True)
class Compression:
    name: str
    magic: bytes
    suffix: str
    open: Callable[[io.BufferedIOBase], io.BufferedIOBase]


COMPRESSIONS = (
    Compression("gzip", GZIP_MAGIC, ".gz", _members(GzipMembers)),
    Compression("zstd", ZSTD_MAGIC, ".zst", _members(ZstdFrames)),
    Compression("bzip2", b"BZh", ".bz2", _arrow_codec("bz2")),
    Compression("xz", b"\xfd7zXZ\x00", ".xz", _open_xz),
)
ARCHIVES = {b"PK\x03\x04": "a zip archive", b"7z\xbc\xaf\x27\x1c": "a 7z archive"}
MAGIC_BYTES = 8
NATIVE_READ = 1 << 16  # decompressed bytes per read: what a damaged bzip2 loses before its damage


class _NativeView(io.RawIOBase):
    """RawIOBase over a pyarrow input stream."""

    def __init__(self, native: pa.NativeFile):
        self._native = native

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._native.read(min(len(buffer), NATIVE_READ))
        buffer[: len(data)] = data
        return len(data)


def is_plain(head: bytes, name: str) -> bool:
    """Whether `open_content` hands a file on as it is: no archive or compression magic in its
    head, and no compression suffix in its name (which open_content holds the bytes to)."""
    magics = (*ARCHIVES, *(c.magic for c in COMPRESSIONS))
    suffixes = tuple(c.suffix for c in COMPRESSIONS)
    return not head.startswith(magics) and not name.lower().endswith(suffixes)


def open_content(stream: io.BufferedReader, name: str) -> io.BufferedIOBase:
    """The file's content, decompressed when its magic bytes say so; raises ContentError.

    A name with a compression suffix must hold that compression's bytes (else the file is damaged),
    and archives are refused: they hold files, not text.
    """
    with _content_errors():
        head = stream.peek(MAGIC_BYTES)[:MAGIC_BYTES]
    for magic, what in ARCHIVES.items():
        if head.startswith(magic):
            raise ContentError(
                f"the file is {what}, not text: unpack it into the input folder",
                RejectReason.UNDECODABLE,
            )
    for compression in COMPRESSIONS:
        if head.startswith(compression.magic):
            with _content_errors():
                return compression.open(stream)
    lower = name.lower()
    for compression in COMPRESSIONS:
        if head and lower.endswith(compression.suffix):
            raise ContentError(
                f"named {compression.suffix} but not {compression.name} data (damaged or misnamed)"
            )
    return stream


def trailing_bytes(stream: io.BufferedIOBase) -> Trailing | None:
    """Once `stream` (from open_content) is read to its end: the bytes after its last gzip member
    or zstd frame that start no other, if any."""
    raw = getattr(stream, "raw", None)
    return raw.trailing if isinstance(raw, Concatenated) else None


@contextmanager
def _content_errors() -> Iterator[None]:
    """Decompressor and read errors, whatever the format, as one ContentError."""
    try:
        yield
    except (EOFError, OSError, lzma.LZMAError, zlib.error, zstandard.ZstdError) as exc:
        raise ContentError(describe_corruption(exc)) from exc


def read_at_most(stream: io.BufferedIOBase, size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end of the stream; damage raises ContentError."""
    data = b""
    with _content_errors():
        while len(data) < size and (more := stream.read(size - len(data))):
            data += more
    return data


def read_chunks(stream: io.BufferedIOBase) -> Iterator[bytes]:
    """The stream's bytes in chunks of at most CHUNK, each from one read, so that the content
    before damage comes out before the ContentError that reports it."""
    while True:
        with _content_errors():
            chunk = stream.read1(CHUNK)
        if not chunk:
            return
        yield chunk


_NOT_SPACE = re.compile(rb"[^ \t\n\r\x0b\x0c]")


@dataclass(frozen=True, slots=True)
class Whole:
    """A file's content read whole: `data` unless it is over the limit or blank beyond BLANK_BOUND."""

    data: bytes  # the first chunk only, for an excerpt, when over the limit
    sha256: str
    over_limit: bool = False
    blank_run: bool = False
    trailing: Trailing | None = None  # bytes after the compressed data (see trailing_bytes)


BLANK_BOUND = CHUNK  # whitespace before any text beyond this: the file is not read further


def read_whole(stream: io.BufferedIOBase, limit: int, head: bytes = b"") -> Whole:
    """`head` (the content's first bytes, read already) and the rest, up to `limit` bytes, in
    chunks: reading stops as soon as the content is over the limit, or when its first
    BLANK_BOUND bytes are all whitespace (no text can follow usefully)."""
    chunks: list[bytes] = []
    size, digest, blank = 0, hashlib.sha256(), True
    for chunk in itertools.chain([head] if head else [], read_chunks(stream)):
        size += len(chunk)
        if size > limit:
            return Whole(chunks[0] if chunks else chunk, "", over_limit=True)
        digest.update(chunk)
        chunks.append(chunk)
        blank = blank and _NOT_SPACE.search(chunk) is None
        if blank and size > BLANK_BOUND:
            return Whole(b"", "", blank_run=True)
    return Whole(b"".join(chunks), digest.hexdigest(), trailing=trailing_bytes(stream))


def describe_corruption(exc: BaseException) -> str:
    if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
        return "compressed stream ends early (truncated file)"
    return f"the content is damaged: {exc}"


# Gzip members, one after the other (a .warc.gz written one member per record).
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
