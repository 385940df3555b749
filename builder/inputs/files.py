"""Opening raw files: only regular files inside the input folder, hashed as they are read, and
checked afterwards for changes (size, times, inode, content), so a file rewritten during the
build is caught. Opening checks again on the open descriptor (fstat, /proc/self/fd): a file
swapped for a link or a FIFO between discovery and reading is refused too.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import typing
from dataclasses import dataclass

from builder.inputs.compression import CHUNK
from builder.inputs.discover import LINK_OUTSIDE, SkippedFile, Source, classify, is_inside, kind_of

RACY_NS = 2_000_000_000  # a file modified this close to its opening is hashed twice (see RawFile)


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
        kind = kind_of(before.st_mode)
        if kind is not None:
            raise SkippedFile(kind)
        if source.root is not None and not is_inside(_opened_path(fd, real), source.root):
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
