"""Gzip members and zstd frames, read one after the other as `gzip -d` and `zstd -d` read them.

Appending to a compressed file, or an upload cut and resumed, leaves bytes after the last member
(frame) that start no other: trailing bytes. They end the content instead of failing it, so a
reader keeps every record the stream holds; `trailing` says how many bytes were left and where,
for the one reject that reports them. Damage inside a member (frame) and a member (frame) cut
short still raise (zlib.error, zstandard.ZstdError, EOFError), after all the bytes before them.

Reads are bounded whatever the ratio: zlib inflates at most CHUNK bytes per call, and zstd is fed
one block at a time (a block holds at most 128 KiB of content), found by walking the frame format
(RFC 8878): the zstandard decompressor itself has no output limit per call.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from typing import ClassVar

import zstandard

CHUNK = 1 << 20  # bytes per read: no buffer ever depends on a configured limit
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
INFLATE_SLICE = 1 << 18  # compressed bytes given to zlib at once: it copies what it leaves


@dataclass(frozen=True, slots=True)
class Trailing:
    """Bytes after the last member (frame) of a compressed file, which start no other."""

    compression: str
    offset: int  # where they start in the file
    size: int

    def __str__(self) -> str:
        return (
            f"{self.size:,} byte(s) after the end of the {self.compression} data, from byte "
            f"{self.offset:,} of the file, are not {self.compression} (appended, or a broken "
            "upload): ignored; the records before them are kept"
        )


class Concatenated(io.RawIOBase):
    """The decompressed content of consecutive members or frames of one compressed file.

    Subclasses decode: `_next` returns the next decompressed bytes (possibly none) and calls
    `_end` where the content ends. Compressed bytes read and not yet used wait in a buffer.
    """

    compression: ClassVar[str]

    def __init__(self, raw: io.BufferedIOBase):
        self._raw = raw
        self._buffer, self._start = bytearray(), 0  # compressed bytes read, and how many are used
        self._offset = 0  # where in the file the unused bytes start
        self._out = memoryview(b"")
        self._ended = False
        self.trailing: Trailing | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._out:
            if self._ended:
                return 0
            self._out = memoryview(self._next())
        size = min(len(buffer), len(self._out))
        buffer[:size] = self._out[:size]
        self._out = self._out[size:]
        return size

    def _next(self) -> bytes:
        raise NotImplementedError

    def _pending(self) -> int:
        return len(self._buffer) - self._start

    def _fill(self, size: int) -> bool:
        """Whether `size` compressed bytes are pending, reading more as needed."""
        while self._pending() < size:
            more = self._raw.read(max(CHUNK, size - self._pending()))
            if not more:
                return False
            if self._start:
                del self._buffer[: self._start]
                self._start = 0
            self._buffer += more
        return True

    def _peek(self, size: int) -> memoryview:
        """The next `size` pending compressed bytes (fewer at the end of the file), unused; the
        view must be released before the buffer is filled again."""
        return memoryview(self._buffer)[self._start : self._start + size]

    def _skip(self, size: int) -> None:
        self._start += size
        self._offset += size

    def _take(self, size: int) -> bytes:
        """The next `size` pending compressed bytes (fewer at the end of the file), now used."""
        with self._peek(size) as view:
            data = bytes(view)
        self._skip(len(data))
        return data

    def _end(self) -> None:
        """The content ends here: at the end of the file, or before trailing bytes, which are
        counted (and so read: the file is hashed whole)."""
        size = self._pending()
        while more := self._raw.read(CHUNK):
            size += len(more)
        if size:
            self.trailing = Trailing(self.compression, self._offset, size)
        self._buffer, self._start, self._ended = bytearray(), 0, True


class GzipMembers(Concatenated):
    """Gzip members one after the other, inflated by zlib."""

    compression = "gzip"

    def __init__(self, raw: io.BufferedIOBase):
        super().__init__(raw)
        self._inflate: zlib._Decompress | None = None  # inside a member

    def _next(self) -> bytes:
        if self._inflate is None:
            if not self._fill(len(GZIP_MAGIC)) or self._peek(len(GZIP_MAGIC)) != GZIP_MAGIC:
                self._end()
                return b""
            self._inflate = zlib.decompressobj(31)
        if not self._fill(1):
            raise EOFError("the gzip member ends early")
        with self._peek(INFLATE_SLICE) as data:
            out = self._inflate.decompress(data, CHUNK)
            fed = len(data)
        left = self._inflate.unused_data if self._inflate.eof else self._inflate.unconsumed_tail
        self._skip(fed - len(left))
        if self._inflate.eof:
            self._inflate = None
        return out


# Zstd frames (RFC 8878, section 3.1): a magic number, a frame header whose size its first byte
# gives, blocks behind 3-byte headers, and an optional 4-byte checksum. Skippable frames (magic
# 0x184D2A5?) hold user data: passed over.
_SKIPPABLE = (b"\x2a\x4d\x18", 0x50)  # bytes 1-3 of the magic, and its first byte's high half
_DICT_ID_BYTES = (0, 1, 2, 4)
_CONTENT_SIZE_BYTES = (0, 2, 4, 8)
_BLOCK_HEADER = 3
_RLE_BLOCK = 1
_CHECKSUM = 4


def _frame_header_size(descriptor: int) -> int:
    """The size of a zstd frame header (magic included) from its descriptor byte."""
    single_segment = descriptor >> 5 & 1
    content_size = _CONTENT_SIZE_BYTES[descriptor >> 6] or single_segment  # 1 byte if single
    return (
        len(ZSTD_MAGIC) + 1 + (not single_segment) + _DICT_ID_BYTES[descriptor & 3] + content_size
    )


class ZstdFrames(Concatenated):
    """Zstd frames one after the other, decompressed a block at a time."""

    compression = "zstd"

    def __init__(self, raw: io.BufferedIOBase):
        super().__init__(raw)
        self._frame: zstandard.ZstdDecompressionObj | None = None  # inside a frame
        self._checksum = 0  # checksum bytes after the frame's last block
        self._last = False  # the frame's last block was read
        self._cut = False  # the file ended inside a frame: raise after its last output

    def _next(self) -> bytes:
        if self._cut:
            raise EOFError("the zstd frame ends early")
        if self._frame is None:
            return self._start_frame()
        if self._last:
            out = self._decompress(self._checksum)
            self._frame = None
            return out
        if not self._fill(_BLOCK_HEADER):
            return self._decompress(_BLOCK_HEADER)
        with self._peek(_BLOCK_HEADER) as view:
            header = int.from_bytes(view, "little")
        self._last = bool(header & 1)
        size = 1 if header >> 1 & 3 == _RLE_BLOCK else header >> 3
        return self._decompress(_BLOCK_HEADER + size)

    def _start_frame(self) -> bytes:
        magic = bytes(self._peek(len(ZSTD_MAGIC))) if self._fill(len(ZSTD_MAGIC)) else b""
        if magic == ZSTD_MAGIC:
            if not self._fill(len(ZSTD_MAGIC) + 1):
                raise EOFError("the zstd frame ends early")
            descriptor = self._buffer[self._start + len(ZSTD_MAGIC)]
            self._frame = zstandard.ZstdDecompressor().decompressobj()
            self._checksum, self._last = _CHECKSUM * (descriptor >> 2 & 1), False
            return self._decompress(_frame_header_size(descriptor))
        if magic[1:] == _SKIPPABLE[0] and magic[0] & 0xF0 == _SKIPPABLE[1]:
            if not self._fill(8):
                raise EOFError("the zstd skippable frame ends early")
            size = int.from_bytes(self._take(8)[4:], "little")
            while size:
                if not self._fill(1):
                    raise EOFError("the zstd skippable frame ends early")
                size -= len(self._take(min(size, CHUNK)))
            return b""
        self._end()
        return b""

    def _decompress(self, size: int) -> bytes:
        """The next `size` compressed bytes of the frame, decompressed; at the end of the file,
        what the bytes there give, and then EOFError."""
        assert self._frame is not None
        self._cut = not self._fill(size)
        with self._peek(size) as data:
            out = self._frame.decompress(data) if size else b""
            self._skip(len(data))
        return out
