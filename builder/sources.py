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
from builder.storage import Storage

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
    """One raw file: its input storage and key in it, its provenance name, and why it is skipped
    (None: it is read).

    `key` is relative to the storage's root ('/'-separated; a local name's bytes as os.fsdecode
    gives them), while `rel` is the lossless display name. `root` is the resolved local input
    folder: the opened file must lie inside it (None: not checked). `size` is from discovery, to
    plan the work (0 for links: they are planned as small files).
    """

    storage: Storage
    key: str
    rel: str
    root: str | None = None
    skip: str | None = None
    size: int = 0

    @staticmethod
    def at(path: Path, rel: str) -> Source:
        """A local file on its own, outside any discovered input (previews, tests)."""
        path = Path(os.path.abspath(path))
        return Source(Storage(str(path.parent)), path.name, rel)

    @property
    def path(self) -> Path:
        """The local file's path (for a remote source: its path in its filesystem)."""
        return Path(self.storage.path(self.key))

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def format_suffix(self) -> str:
        """The suffix that says the format, under any compression suffix: 'a.jsonl.gz' -> '.jsonl'."""
        name = self.name.lower()
        for compression in COMPRESSIONS:
            name = name.removesuffix(compression.suffix)
        return Path(name).suffix


def discover(root: Path | str | Storage) -> list[Source]:
    """Every non-hidden file under root (a local folder or an fsspec URL), in a stable order
    (sorted relative paths)."""
    storage = Storage.of(root)
    if not storage.local:
        return _discover_remote(storage)
    return _discover_local(root if isinstance(root, Path) else Path(storage.root), storage)


def _discover_remote(storage: Storage) -> list[Source]:
    """Regular files only, as the filesystem lists them, with their listed sizes."""
    try:
        if not storage.exists():
            raise InputError(f"{storage}: input folder does not exist (pass --raw DIR or URL)")
        if not storage.fs.isdir(storage.root):
            raise InputError(f"{storage}: input is not a folder (pass --raw DIR or URL)")
        listing = list(storage.files())
    except OSError as err:
        raise InputError(f"{storage}: cannot list the input folder: {err}") from None
    found = [
        Source(
            storage,
            key,
            source_name(key.encode("utf-8", "surrogateescape")),
            size=info.get("size") or 0,
        )
        for key, info in listing
    ]
    return sorted(found, key=lambda s: s.rel)


def _discover_local(root: Path, storage: Storage) -> list[Source]:
    """Iterative (any depth). Links to folders are not followed; files that are not read (special
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
    folders: list[tuple[bytes, str, bytes]] = [(os.fsencode(root), "", b"")]
    while folders:
        folder, prefix, keys = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as err:
            if err.errno != errno.ENAMETOOLONG:
                raise InputError(
                    f"{os.fsdecode(folder)}: cannot list input folder: {err.strerror}"
                ) from None
            key = os.fsdecode(keys.rstrip(b"/"))
            found.append(Source(storage, key, prefix.rstrip("/"), base, "path too long"))
            continue
        for entry in entries:
            if entry.name.startswith(b"."):
                continue
            rel = prefix + source_name(entry.name)
            if entry.is_dir(follow_symlinks=False):
                folders.append((entry.path, rel + "/", keys + entry.name + b"/"))
            else:
                key = os.fsdecode(keys + entry.name)
                if entry.is_file(follow_symlinks=False):  # from the listing: no system call
                    size = entry.stat(follow_symlinks=False).st_size
                    found.append(Source(storage, key, rel, base, size=size))
                else:  # a link to a regular file inside the input is planned by its size
                    skip = classify(os.fsdecode(entry.path), base)
                    size = _target_size(entry) if skip is None else 0
                    found.append(Source(storage, key, rel, base, skip, size))
    return sorted(found, key=lambda s: s.rel)


def _target_size(entry: os.DirEntry) -> int:
    try:
        return entry.stat(follow_symlinks=True).st_size
    except OSError:  # a broken link: opening it fails, and rejects it
        return 0


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


def open_source(source: Source) -> InputFile:
    """Open a source for reading; raises SkippedFile for what must not be read, OSError if it cannot."""
    if not source.storage.local:
        return RemoteFile(source)
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
    """A range of a file as the build planned it: the file's size and stamp (what says it is the
    same file, unchanged) when it was scanned, and the sha256 of the range's bytes. A worker
    reading the range later checks all three."""

    size: int
    stamp: tuple
    sha256: str


class InputFile:
    """An open input file, or a range of one: every byte read through `stream()` is hashed, once,
    in order. `finish()` reads what the readers left and says whether the file changed since it
    was opened (or, for a range, since it was planned: `restrict`)."""

    def __init__(self) -> None:
        self.opened_ns = time.time_ns()
        self.bytes_read = 0
        self._digest = hashlib.sha256()
        self.start, self.first_line = 0, 1
        self._length: int | None = None  # bytes to read: None to the end of the file
        self._planned: Planned | None = None

    def __enter__(self) -> typing.Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        raise NotImplementedError

    def restrict(self, start: int, stop: int, first_line: int, planned: Planned) -> None:
        """Read only bytes [start, stop), whose first line is line `first_line` of the file."""
        self._seek(start)
        self.start, self.first_line = start, first_line
        self._length, self._planned = stop - start, planned

    def head(self, size: int) -> bytes:
        """The file's first `size` bytes, without reading (or hashing) them."""
        raise NotImplementedError

    @property
    def is_range(self) -> bool:
        return self._length is not None

    @property
    def size(self) -> int:
        """The file's size when it was opened."""
        return self.plan("").size

    def plan(self, sha256: str) -> Planned:
        """A range of this file as planned now, whose bytes hash to `sha256`."""
        raise NotImplementedError

    def readinto(self, buffer: memoryview) -> int:
        if self._length is not None:
            buffer = buffer[: max(0, self._length - self.bytes_read)]
            if not buffer:
                return 0
        n = self._read(buffer)
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

    def _unread(self, size: int) -> str | None:
        """How the bytes read differ from what was to be read of a file of `size` bytes, or None."""
        expected = size if self._length is None else self._length
        if self.bytes_read != expected:
            return f"the file changed size while it was read ({self.bytes_read} of {expected} bytes read)"
        return None

    def _unplanned(self) -> str | None:
        """For a range: how its bytes differ from the planned ones, or None."""
        if self._planned is not None and self.sha256 != self._planned.sha256:
            return "the file's content changed while it was read"
        return None

    def _seek(self, offset: int) -> None:
        raise NotImplementedError

    def _read(self, buffer: memoryview) -> int:
        raise NotImplementedError

    def _change(self) -> str | None:
        raise NotImplementedError


def _local_stamp(st: os.stat_result) -> tuple:
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


class RawFile(InputFile):
    """A local input file, read through its descriptor.

    `finish()` compares the file with how it was opened (or planned): size, mtime and ctime (ns),
    inode, bytes read; a file modified within RACY_NS of its opening is also hashed again, since a
    same-size rewrite within one timestamp tick leaves the stat unchanged.
    """

    def __init__(self, fd: int, path: str, before: os.stat_result):
        super().__init__()
        self.fd, self.path, self.before = fd, path, before

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)

    def head(self, size: int) -> bytes:
        return os.pread(self.fd, size, 0)

    def plan(self, sha256: str) -> Planned:
        return Planned(self.before.st_size, _local_stamp(self.before), sha256)

    def _seek(self, offset: int) -> None:
        os.lseek(self.fd, offset, os.SEEK_SET)

    def _read(self, buffer: memoryview) -> int:
        return os.readv(self.fd, [buffer])

    def _change(self) -> str | None:
        was, now = self._planned or self.plan(""), os.fstat(self.fd)
        mtime_ns, ctime_ns, ino = was.stamp
        if (now.st_size, now.st_mtime_ns, now.st_ctime_ns) != (was.size, mtime_ns, ctime_ns):
            return f"the file was modified while it was read ({was.size} -> {now.st_size} bytes)"
        if (short := self._unread(was.size)) is not None:
            return short
        try:
            there = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return "the file was removed while it was read"
        if (there.st_dev, there.st_ino) != (self.before.st_dev, ino):
            return "the file was replaced while it was read"
        if self._planned is not None:
            return self._unplanned()
        if mtime_ns >= self.opened_ns - RACY_NS and self._rehash() != self.sha256:
            return "the file's content changed while it was read"
        return None

    def _rehash(self) -> str:
        digest, offset = hashlib.sha256(), 0
        while chunk := os.pread(self.fd, CHUNK, offset):
            digest.update(chunk)
            offset += len(chunk)
        return digest.hexdigest()


# Listing fields that change when a remote file is rewritten, as filesystems name them.
REMOTE_STAMP_FIELDS = (
    "mtime",
    "modified",
    "LastModified",
    "last_modified",
    "created",
    "ETag",
    "etag",
    "VersionId",
    "version_id",
    "generation",
    "blob_id",
    "lfs",
)


def remote_stamp(info: dict) -> tuple:
    """What a remote listing says about a file's version (its size aside), as text."""
    return tuple((name, str(info[name])) for name in REMOTE_STAMP_FIELDS if name in info)


class RemoteFile(InputFile):
    """An input file read through its fsspec filesystem, by ranges (no handle, whose position
    some filesystems share between openers): `finish()` compares its size and stamp (mtime, etag,
    version: whatever the filesystem lists) with how it was opened, and the bytes read with its
    size."""

    def __init__(self, source: Source):
        super().__init__()
        self.fs, self.path = source.storage.fs, source.storage.path(source.key)
        info = self.fs.info(self.path)
        if info.get("type") != "file":
            raise SkippedFile(str(info.get("type") or "not a file"))
        self.before = Planned(info["size"], remote_stamp(info), "")
        self._position = 0

    def __exit__(self, *exc_info: object) -> None:
        pass

    def head(self, size: int) -> bytes:
        return self._range(0, size)

    def plan(self, sha256: str) -> Planned:
        return Planned(self.before.size, self.before.stamp, sha256)

    def _seek(self, offset: int) -> None:
        self._position = offset

    def _read(self, buffer: memoryview) -> int:
        data = self._range(self._position, self._position + len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def _range(self, start: int, stop: int) -> bytes:
        """Bytes [start, stop) as the file holds them now, within its size when opened (a file
        that grows is caught by finish); none once it is gone (finish says so)."""
        stop = min(stop, self.before.size)
        if start >= stop:
            return b""
        try:
            return self.fs.cat_file(self.path, start=start, end=stop)
        except FileNotFoundError:
            return b""

    def _change(self) -> str | None:
        was = self._planned or self.before
        try:
            self.fs.invalidate_cache(self.path)
            info = self.fs.info(self.path)
        except FileNotFoundError:
            return "the file was removed while it was read"
        if (info["size"], remote_stamp(info)) != (was.size, was.stamp):
            return f"the file was modified while it was read ({was.size} -> {info['size']} bytes)"
        return self._unread(was.size) or self._unplanned()


class _RawView(io.RawIOBase):
    """RawIOBase over a RawFile, so buffers and decompressors can close it without closing the file."""

    def __init__(self, raw: InputFile):
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


def is_plain(head: bytes, name: str) -> bool:
    """Whether `open_content` hands a file on as it is: no archive or compression magic in its
    head, and no compression suffix in its name (which open_content holds the bytes to)."""
    magics = (*ARCHIVES, *(c.magic for c in COMPRESSIONS))
    suffixes = tuple(c.suffix for c in COMPRESSIONS)
    return not head.startswith(magics) and not name.lower().endswith(suffixes)


def open_content(raw: InputFile, name: str) -> io.BufferedIOBase:
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
