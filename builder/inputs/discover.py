"""Finding raw files: every non-hidden file under the input folder (local, or an fsspec URL), in
a stable order, each with why it is not read when it is not (a FIFO, a device, a link leaving
the input). Discovery never follows a link out of the input folder and never opens a file.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from builder.errors import InputError
from builder.inputs.compression import COMPRESSIONS
from builder.storage import Storage

NOT_INPUT_FORMAT = "not an input format"
LINK_OUTSIDE = "link outside the input"


class SkippedFile(Exception):
    """A path that is not read at all; `kind` says what it is (fifo, device, link outside the input)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


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
        raise InputError(f"{storage}: cannot list the input folder: {err}") from err
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
                ) from err
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


def rediscover(source: Source) -> Source:
    """The source as it is now (its size, and whether it is still a file to read), for a file read
    again after it changed; a file that is gone keeps its listing, and opening it reports it."""
    if not source.storage.local:
        try:
            info = source.storage.fs.info(source.storage.path(source.key))
        except OSError:
            return source
        return dataclasses.replace(source, size=info.get("size") or 0)
    path = source.storage.path(source.key)
    skip = classify(path, source.root) if source.root is not None else source.skip
    try:
        size = os.stat(path).st_size if skip is None else 0
    except OSError:
        size = 0
    return dataclasses.replace(source, skip=skip, size=size)


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


def kind_of(mode: int) -> str | None:
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


def is_inside(path: str, base: str) -> bool:
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
            if base is not None and not is_inside(real, base):
                return LINK_OUTSIDE
            mode = os.stat(real).st_mode
    except OSError:
        return None  # gone or not accessible: opening reports it
    return kind_of(mode)
