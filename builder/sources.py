"""Finding raw files and opening them, with .gz and .zst decompressed transparently."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import zstandard

from builder.errors import InputError


def _open_plain(path: Path) -> BinaryIO:
    return open(path, "rb")  # noqa: SIM115 (the caller closes it)


def _open_zst(path: Path) -> BinaryIO:
    return io.BufferedReader(
        zstandard.ZstdDecompressor().stream_reader(_open_plain(path), closefd=True)
    )


def _open_gz(path: Path) -> BinaryIO:
    return gzip.open(path, "rb")  # noqa: SIM115 (the caller closes it)


DECOMPRESSORS = {".gz": _open_gz, ".zst": _open_zst}  # suffix -> opener of the decompressed bytes


class CorruptFileError(Exception):
    """A compressed stream that ends early or is damaged."""


@dataclass(frozen=True, slots=True)
class Source:
    """One raw file: where it is, and its path relative to the input root (its provenance name)."""

    path: Path
    rel: str

    @property
    def format_suffix(self) -> str:
        """The suffix that says the format, under any compression suffix: 'a.jsonl.gz' -> '.jsonl'."""
        name = self.path.name.lower()
        for suffix in DECOMPRESSORS:
            name = name.removesuffix(suffix)
        return Path(name).suffix


def discover(root: Path) -> list[Source]:
    """All non-hidden files under root, in a stable order (sorted relative paths)."""
    if not root.exists():
        raise InputError(f"{root}: input folder does not exist (pass --raw DIR)")
    if not root.is_dir():
        raise InputError(f"{root}: input is not a folder (pass --raw DIR)")
    if not os.access(root, os.R_OK | os.X_OK):
        raise InputError(f"{root}: input folder is not readable (check its permissions)")
    found = []
    # Symbolic links to folders are not followed (no cycles, no reading outside the input).
    for dirpath, dirnames, filenames in os.walk(root, onerror=_raise_unreadable):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith("."):
                path = Path(dirpath, name)
                found.append(Source(path, printable_path(path.relative_to(root).as_posix())))
    return sorted(found, key=lambda s: s.rel)


def printable_path(rel: str) -> str:
    """A relative path as valid UTF-8: bytes of a non-UTF-8 file name show as \\xNN escapes."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _raise_unreadable(err: OSError) -> None:
    raise InputError(f"{err.filename}: cannot list input folder: {err.strerror}")


def open_decompressed(path: Path) -> BinaryIO:
    """A binary stream of the file's content, decompressed by suffix."""
    opener = DECOMPRESSORS.get(Path(path.name.lower()).suffix, _open_plain)
    return opener(path)


def read_limited(path: Path, limit: int) -> bytes:
    """The decompressed content, read up to `limit` + 1 bytes: longer means over the limit."""
    try:
        with open_decompressed(path) as stream:
            return stream.read(limit + 1)
    except (EOFError, gzip.BadGzipFile, zstandard.ZstdError, OSError) as exc:
        raise CorruptFileError(describe_corruption(exc)) from exc


def iter_lines(path: Path, limit: int) -> Iterator[bytes | int]:
    """Lines of the decompressed content without their line ending; corruption raises mid-stream.

    A line longer than `limit` bytes is not kept in memory: it comes as its length (an int).
    """
    try:
        with open_decompressed(path) as stream:
            while line := stream.readline(limit + 1):
                if len(line) <= limit or line.endswith(b"\n"):
                    yield line.rstrip(b"\r\n")
                    continue
                length = len(line)
                while chunk := stream.readline(1 << 20):
                    length += len(chunk.rstrip(b"\r\n"))
                    if chunk.endswith(b"\n"):
                        break
                yield length
    except (EOFError, gzip.BadGzipFile, zstandard.ZstdError, OSError) as exc:
        raise CorruptFileError(describe_corruption(exc)) from exc


def describe_corruption(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "compressed stream ends early (truncated file)"
    return f"compressed stream is damaged: {exc}"


def file_sha256(path: Path) -> str:
    """sha256 of the file as stored on disk (compressed bytes included), for the input fingerprint."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
