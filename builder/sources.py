"""Finding raw files and opening them: only regular files inside the input folder, hashed as they
are read, checked for changes afterwards, and decompressed by their content (magic bytes).

Discovery and opening never follow a link out of the input folder and never open a FIFO, socket
or device: such files are listed as skipped with their kind. Opening checks again on the open
descriptor (fstat, /proc/self/fd), so a file swapped between discovery and reading is caught too.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import io
import lzma
import os
import re
import stat
import time
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from builder.errors import InputError
from builder.records import RejectReason

CHUNK = 1 << 20  # bytes per read: no buffer ever depends on a configured limit
RACY_NS = 2_000_000_000  # a file modified this close to its opening is hashed twice (see RawFile)
NOT_INPUT_FORMAT = "not an input format"
LINK_OUTSIDE = "link outside the input"


class SkippedFile(Exception):
    """A path that is not read at all; `kind` says what it is (fifo, device, link outside the input)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


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


def _open_xz(stream: io.BufferedIOBase) -> io.BufferedIOBase:
    return lzma.LZMAFile(typing.cast(typing.IO[bytes], stream))


@dataclass(frozen=True)
class Compression:
    name: str
    magic: bytes
    suffix: str
    open: Callable[[io.BufferedIOBase], io.BufferedIOBase]


COMPRESSIONS = (
    Compression("gzip", b"\x1f\x8b", ".gz", _arrow_codec("gzip")),
    Compression("zstd", b"\x28\xb5\x2f\xfd", ".zst", _arrow_codec("zstd")),
    Compression("bzip2", b"BZh", ".bz2", _arrow_codec("bz2")),
    Compression("xz", b"\xfd7zXZ\x00", ".xz", _open_xz),
)
ARCHIVES = {b"PK\x03\x04": "a zip archive", b"7z\xbc\xaf\x27\x1c": "a 7z archive"}
MAGIC_BYTES = 8
NATIVE_READ = 1 << 16  # decompressed bytes per read: what a damaged stream loses before its damage


@dataclass(frozen=True, slots=True)
class Source:
    """One raw file: where it is, its provenance name, and why it is skipped (None: it is read).

    `root` is the resolved input folder: the opened file must lie inside it (None: not checked).
    `size` is from discovery, to plan the work (0 for links: they are planned as small files).
    """

    path: Path
    rel: str
    root: str | None = None
    skip: str | None = None
    size: int = 0

    @property
    def format_suffix(self) -> str:
        """The suffix that says the format, under any compression suffix: 'a.jsonl.gz' -> '.jsonl'."""
        name = self.path.name.lower()
        for compression in COMPRESSIONS:
            name = name.removesuffix(compression.suffix)
        return Path(name).suffix


def discover(root: Path) -> list[Source]:
    """Every non-hidden file under root, in a stable order (sorted relative paths).

    Iterative (any depth). Links to folders are not followed; files that are not read (special
    files, links leaving the input) come with their kind in `skip`.
    """
    if not root.exists():
        raise InputError(f"{root}: input folder does not exist (pass --raw DIR)")
    if not root.is_dir():
        raise InputError(f"{root}: input is not a folder (pass --raw DIR)")
    if not os.access(root, os.R_OK | os.X_OK):
        raise InputError(f"{root}: input folder is not readable (check its permissions)")
    base = os.path.realpath(root)
    found = []
    folders: list[tuple[bytes, str]] = [(os.fsencode(root), "")]
    while folders:
        folder, prefix = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as err:
            if err.errno != errno.ENAMETOOLONG:
                raise InputError(
                    f"{os.fsdecode(folder)}: cannot list input folder: {err.strerror}"
                ) from None
            found.append(
                Source(Path(os.fsdecode(folder)), prefix.rstrip("/"), base, "path too long")
            )
            continue
        for entry in entries:
            if entry.name.startswith(b"."):
                continue
            rel = prefix + source_name(entry.name)
            if entry.is_dir(follow_symlinks=False):
                folders.append((entry.path, rel + "/"))
            else:
                path = os.fsdecode(entry.path)
                if entry.is_file(follow_symlinks=False):  # from the listing: no system call
                    size = entry.stat(follow_symlinks=False).st_size
                    found.append(Source(Path(path), rel, base, size=size))
                else:
                    found.append(Source(Path(path), rel, base, classify(path, base)))
    return sorted(found, key=lambda s: s.rel)


def source_name(name: bytes) -> str:
    """A file name as UTF-8 text, losslessly: a backslash is doubled, a non-UTF-8 byte is \\xNN.

    Plain UTF-8 names without a backslash stay as they are; distinct names never collide.
    """
    return name.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def _kind(mode: int) -> str | None:
    """What a file of this mode is when it is not a regular file (None: it is one)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISDIR(mode):
        return "link to a folder"
    return "special file"


def _inside(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def classify(path: str, base: str | None) -> str | None:
    """Why the file at `path` is not to be opened (its kind), or None. Never opens it.

    A broken link is None: opening it then fails, and the file is rejected as unreadable.
    """
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            real = os.path.realpath(path)
            if not os.path.exists(real):
                return None
            if base is not None and not _inside(real, base):
                return LINK_OUTSIDE
            mode = os.stat(real).st_mode
    except OSError:
        return None  # gone or not accessible: opening reports it
    return _kind(mode)


def _opened_path(fd: int, fallback: str) -> str:
    """The path the kernel has for an open descriptor (no race with renames), where /proc exists."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}").removesuffix(" (deleted)")
    except OSError:
        return fallback


def open_source(source: Source) -> RawFile:
    """Open a source for reading; raises SkippedFile for what must not be read, OSError if it cannot."""
    kind = classify(str(source.path), source.root)
    if kind is not None:
        raise SkippedFile(kind)
    real = os.path.realpath(source.path)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
    fd = os.open(real, flags)
    try:
        before = os.fstat(fd)
        kind = _kind(before.st_mode)
        if kind is not None:
            raise SkippedFile(kind)
        if source.root is not None and not _inside(_opened_path(fd, real), source.root):
            raise SkippedFile(LINK_OUTSIDE)
        return RawFile(fd, real, before)
    except BaseException:
        os.close(fd)
        raise


@dataclass(frozen=True, slots=True)
class Planned:
    """A range of a file as the build planned it: the file's stat when it was scanned, and the
    sha256 of the range's bytes. A worker reading the range later checks both."""

    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    sha256: str

    @staticmethod
    def of(st: os.stat_result, sha256: str) -> Planned:
        return Planned(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, sha256)


class RawFile:
    """An open input file, or a range of one: every byte read through `stream()` is hashed, once,
    in order.

    `finish()` reads what the readers left, then compares the file with how it was opened: size,
    mtime and ctime (ns), inode, bytes read; a file modified within RACY_NS of its opening is also
    hashed again, since a same-size rewrite within one timestamp tick leaves the stat unchanged.
    A range (`restrict`) is compared with the file as planned, and its hash with the planned one.
    """

    def __init__(self, fd: int, path: str, before: os.stat_result):
        self.fd, self.path, self.before = fd, path, before
        self.opened_ns = time.time_ns()
        self.bytes_read = 0
        self._digest = hashlib.sha256()
        self.start, self.first_line = 0, 1
        self._length: int | None = None  # bytes to read: None to the end of the file
        self._planned: Planned | None = None

    def __enter__(self) -> RawFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)

    def restrict(self, start: int, stop: int, first_line: int, planned: Planned) -> None:
        """Read only bytes [start, stop), whose first line is line `first_line` of the file."""
        os.lseek(self.fd, start, os.SEEK_SET)
        self.start, self.first_line, self._length, self._planned = (
            start,
            first_line,
            stop - start,
            planned,
        )

    def head(self, size: int) -> bytes:
        """The file's first `size` bytes, without reading (or hashing) them."""
        return os.pread(self.fd, size, 0)

    def readinto(self, buffer: memoryview) -> int:
        if self._length is not None:
            buffer = buffer[: max(0, self._length - self.bytes_read)]
            if not buffer:
                return 0
        n = os.readv(self.fd, [buffer])
        self._digest.update(buffer[:n])
        self.bytes_read += n
        return n

    def stream(self) -> io.BufferedReader:
        """A buffered view of the raw bytes; closing it leaves the file open."""
        return io.BufferedReader(_RawView(self), CHUNK)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def finish(self) -> str | None:
        """Hash the rest of the file; None if it did not change since it was opened, else how."""
        view = memoryview(bytearray(CHUNK))
        while self.readinto(view):
            pass
        return self._change()

    def _change(self) -> str | None:
        was, now = self._planned or Planned.of(self.before, ""), os.fstat(self.fd)
        if (now.st_size, now.st_mtime_ns, now.st_ctime_ns) != (
            was.size,
            was.mtime_ns,
            was.ctime_ns,
        ):
            return f"the file was modified while it was read ({was.size} -> {now.st_size} bytes)"
        expected = was.size if self._length is None else self._length
        if self.bytes_read != expected:
            return f"the file changed size while it was read ({self.bytes_read} of {expected} bytes read)"
        try:
            there = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return "the file was removed while it was read"
        if (there.st_dev, there.st_ino) != (self.before.st_dev, was.ino):
            return "the file was replaced while it was read"
        if self._planned is not None:
            if self.sha256 != self._planned.sha256:
                return "the file's content changed while it was read"
        elif was.mtime_ns >= self.opened_ns - RACY_NS and self._rehash() != self.sha256:
            return "the file's content changed while it was read"
        return None

    def _rehash(self) -> str:
        digest, offset = hashlib.sha256(), 0
        while chunk := os.pread(self.fd, CHUNK, offset):
            digest.update(chunk)
            offset += len(chunk)
        return digest.hexdigest()


class _RawView(io.RawIOBase):
    """RawIOBase over a RawFile, so buffers and decompressors can close it without closing the file."""

    def __init__(self, raw: RawFile):
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._raw.readinto(memoryview(buffer).cast("B"))


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


def open_content(raw: RawFile, name: str) -> io.BufferedIOBase:
    """The file's content, decompressed when its magic bytes say so; raises ContentError.

    A name with a compression suffix must hold that compression's bytes (else the file is damaged),
    and archives are refused: they hold files, not text.
    """
    stream = raw.stream()
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


@contextmanager
def _content_errors() -> Iterator[None]:
    """Decompressor and read errors, whatever the format, as one ContentError."""
    try:
        yield
    except (EOFError, OSError, lzma.LZMAError) as exc:
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


BLANK_BOUND = CHUNK  # whitespace before any text beyond this: the file is not read further


def read_whole(stream: io.BufferedIOBase, limit: int) -> Whole:
    """Up to `limit` bytes, in chunks: reading stops as soon as the content is over the limit,
    or when its first BLANK_BOUND bytes are all whitespace (no text can follow usefully)."""
    chunks: list[bytes] = []
    size, digest, blank = 0, hashlib.sha256(), True
    for chunk in read_chunks(stream):
        size += len(chunk)
        if size > limit:
            return Whole(chunks[0] if chunks else chunk, "", over_limit=True)
        digest.update(chunk)
        chunks.append(chunk)
        blank = blank and _NOT_SPACE.search(chunk) is None
        if blank and size > BLANK_BOUND:
            return Whole(b"", "", blank_run=True)
    return Whole(b"".join(chunks), digest.hexdigest())


def describe_corruption(exc: BaseException) -> str:
    if isinstance(exc, EOFError) or "truncated" in str(exc).lower():
        return "compressed stream ends early (truncated file)"
    return f"the content is damaged: {exc}"


def file_sha256(path: Path) -> str:
    """sha256 of a file as stored on disk, for files this program wrote (shards, tables)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# Lines. Content is split after decoding to text: 8-bit content travels as Latin-1 (one character
# per byte, so any bytes pass and come back unchanged), UTF-16/32 content as itself.
# Byte-order marks and the codec each names; UTF-32-LE's mark starts with UTF-16-LE's, so first.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
BYTES_CODEC = "latin-1"
HEAD_BYTES = 4096


def _mark_undecodable(exc: UnicodeError) -> tuple[str, int]:
    """Undecodable bytes become lone surrogates: the line holding them is rejected, the rest read."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "\udcff" * (exc.end - exc.start), exc.end


MARK_UNDECODABLE = "broadsheet-mark-undecodable"
codecs.register_error(MARK_UNDECODABLE, _mark_undecodable)


def stream_codec(head: bytes) -> str:
    """The codec to split JSON content by: UTF-16/32 by byte-order mark, or by the zero bytes of
    its first two characters, which JSON text keeps ASCII (RFC 4627, section 3); else BYTES_CODEC."""
    for bom, codec in BOMS:
        if head.startswith(bom) and codec != "utf-8":  # UTF-8 is 8-bit: split as bytes
            return codec
    zeros = tuple(byte == 0 for byte in head[:4])
    return _ZERO_PATTERNS.get(zeros, BYTES_CODEC)


_ZERO_PATTERNS: dict[tuple[bool, ...], str] = {
    (True, True, True, False): "utf-32-be",
    (True, False, True, False): "utf-16-be",
    (False, True, True, True): "utf-32-le",
    (False, True, False, True): "utf-16-le",
}


def text_chunks(head: bytes, stream: io.BufferedIOBase, codec: str) -> Iterator[str]:
    """`head` and the rest of the stream decoded by `codec`, in bounded chunks."""
    decoder = codecs.getincrementaldecoder(codec)(MARK_UNDECODABLE)
    yield decoder.decode(head)
    for chunk in read_chunks(stream):
        yield decoder.decode(chunk)
    yield decoder.decode(b"", final=True)


_EOL = re.compile(r"\r\n?|\n")
_CONTENT = re.compile(r"[^ \t\n\r\x0b\x0c]")


def _count_eols(text: str, start: int, end: int) -> int:
    return (
        text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)
    )


def iter_lines(
    chunks: Iterator[str], limit: int, first_line: int = 1
) -> Iterator[tuple[int, str | int]]:
    """(line number, line) of every line that is not blank; lines end at \\n, \\r\\n or \\r.

    Blank runs are skipped by searches over whole chunks, never line by line. A line longer than
    `limit` characters is not kept: it comes as its length (an int). Numbers start at `first_line`.
    """
    line_no = first_line
    part: list[str] = []  # the unfinished line, kept while it is within the limit
    part_len, in_line, blank = 0, False, True
    after_cr = False  # the previous chunk ended with \r: a \n starting this one belongs to it
    for chunk in chunks:
        if not chunk:
            continue
        i, n = (1 if after_cr and chunk[0] == "\n" else 0), len(chunk)
        while i < n:
            if not in_line:
                found = _CONTENT.search(chunk, i)
                stop = found.start() if found else n
                last = max(chunk.rfind("\n", i, stop), chunk.rfind("\r", i, stop))
                if last >= 0:
                    line_no += _count_eols(chunk, i, last + 1)
                    i = last + 1
                in_line, blank = i < n, found is None
            if not in_line:
                break
            end = _EOL.search(chunk, i)
            stop = end.start() if end else n
            part_len += stop - i
            if part_len <= limit:
                part.append(chunk[i:stop])
            blank = blank and _CONTENT.search(chunk, i, stop) is None
            if end is None:
                break
            if not blank:
                yield line_no, ("".join(part) if part_len <= limit else part_len)
            line_no += 1
            part, part_len, in_line, i = [], 0, False, end.end()
        after_cr = chunk[-1] == "\r"
    if in_line and not blank:
        yield line_no, ("".join(part) if part_len <= limit else part_len)
