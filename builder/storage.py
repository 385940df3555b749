"""Where a build reads its input and keeps its work files: a local folder, or any fsspec URL.

A `Storage` is a picklable value (its URL): tasks carry it with keys relative to it, and each
process makes its filesystem when it first needs it, so workers on other machines read inputs
and write parts there (`s3://`, `hf://`, ... wherever the user has that filesystem installed).
Local folders are plain paths, read through the hardened code in `builder.inputs`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
from fsspec import AbstractFileSystem
from fsspec.core import split_protocol, url_to_fs

from builder.errors import ConfigError

LOCAL_PROTOCOLS = (None, "file", "local")
IN_PROCESS_PROTOCOLS = ("memory",)
COPY_CHUNK = 1 << 20  # bytes per read when copying between storages


@functools.cache
def _filesystem(url: str) -> tuple[AbstractFileSystem, str]:
    """The fsspec filesystem and root path of a URL, made once per process."""
    try:
        fs, root = url_to_fs(url)
    except (ImportError, ValueError) as exc:  # an unknown protocol, or its package is missing
        raise ConfigError(
            f"{url}: no filesystem for this URL here ({exc}); install the fsspec filesystem "
            "package it needs (s3fs for s3://, gcsfs for gs://, ...) or use a local folder"
        ) from exc
    return fs, root.rstrip("/") or "/"


@dataclass(frozen=True, slots=True)
class Storage:
    """A root folder: a local path, or a URL some fsspec filesystem serves. Keys are '/'-joined."""

    url: str

    @staticmethod
    def of(where: Storage | str | os.PathLike[str]) -> Storage:
        """A storage from a path or URL; a local path (or file:// URL) is made absolute."""
        if isinstance(where, Storage):
            return where
        text = os.fspath(where)
        protocol, path = split_protocol(text)
        if protocol in LOCAL_PROTOCOLS:
            return Storage(os.path.abspath(path))
        return Storage(text)

    @property
    def local(self) -> bool:
        return split_protocol(self.url)[0] in LOCAL_PROTOCOLS

    @property
    def in_process(self) -> bool:
        """Whether only this process sees it (fsspec's memory://): workers elsewhere cannot."""
        return split_protocol(self.url)[0] in IN_PROCESS_PROTOCOLS

    @property
    def fs(self) -> AbstractFileSystem:
        return _filesystem(self.url)[0]

    @property
    def root(self) -> str:
        """The root as the filesystem names it (the local path for a local storage)."""
        return self.url if self.local else _filesystem(self.url)[1]

    def path(self, key: str) -> str:
        """Where `key` is, in the filesystem's terms."""
        return os.path.join(self.root, key) if self.local else f"{self.root}/{key}"

    def child(self, key: str) -> Storage:
        """The storage rooted at `key` inside this one."""
        return Storage(self.path(key) if self.local else f"{self.url.rstrip('/')}/{key}")

    def exists(self, key: str = "") -> bool:
        path = self.path(key) if key else self.root
        return os.path.lexists(path) if self.local else self.fs.exists(path)

    def make_root(self) -> None:
        """Create the root folder; it must not exist (the build removes only what it made)."""
        if self.exists():
            raise FileExistsError(self.url)
        if self.local:
            os.makedirs(self.root)
        else:
            self.fs.makedirs(self.root, exist_ok=True)

    def open_read(self, key: str) -> IO[bytes]:
        """A file this program wrote, opened for reading (inputs are opened by builder.inputs.files)."""
        return open(self.path(key), "rb") if self.local else self.fs.open(self.path(key), "rb")

    def open_write(self, key: str) -> IO[bytes]:
        """A new file at `key`, its folders made as needed."""
        path = self.path(key)
        if self.local:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return open(path, "wb")
        return self.fs.open(path, "wb")

    def part_writer(self, key: str, schema: pa.Schema, compressed: bool = True) -> PartWriter:
        """A writer of work rows for a new file at `key` (see PartWriter); uncompressed for a
        file read a few rows at a time (`part_file`), which then touches only their bytes."""
        options = WORK_FILE_OPTIONS if compressed else UNCOMPRESSED_FILE_OPTIONS
        return PartWriter(self.open_write(key), schema, options)

    def part_batches(
        self, key: str, start: int = 0, stop: int | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The record batches of a file `part_writer` wrote, in order (those from `start` up to
        `stop`, when given)."""
        with pa.memory_map(self.path(key)) if self.local else self.open_read(key) as source:
            reader = pa.ipc.open_file(source)
            for i in range(start, reader.num_record_batches if stop is None else stop):
                yield reader.get_batch(i)

    @contextlib.contextmanager
    def part_file(self, key: str) -> Iterator[pa.ipc.RecordBatchFileReader]:
        """A file `part_writer` wrote, open for reading batches by number (memory-mapped when
        local: an uncompressed batch is read only where it is used)."""
        with pa.memory_map(self.path(key)) if self.local else self.open_read(key) as source:
            yield pa.ipc.open_file(source)

    def parquet_writer(self, key: str, schema: pa.Schema, **options: Any) -> pq.ParquetWriter:
        """A Parquet writer for a new file at `key`; closing the writer closes the file."""
        if self.local:
            os.makedirs(os.path.dirname(self.path(key)), exist_ok=True)
            return pq.ParquetWriter(self.path(key), schema, **options)
        return pq.ParquetWriter(self.path(key), schema, filesystem=self.fs, **options)

    def parquet_file(self, key: str) -> pq.ParquetFile:
        if self.local:
            return pq.ParquetFile(self.path(key))
        return pq.ParquetFile(self.path(key), filesystem=self.fs)

    def remove(self, key: str) -> None:
        if self.local:
            os.unlink(self.path(key))
        else:
            self.fs.rm(self.path(key))

    def remove_root(self) -> None:
        """Remove the root and all it holds: only for a root the build made (`make_root`)."""
        if self.local:
            shutil.rmtree(self.root)
        elif self.fs.exists(self.root):
            self.fs.rm(self.root, recursive=True)

    def download(self, key: str, path: Path) -> None:
        """Copy `key` into the local file `path` (its folder made as needed)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.open_read(key) as source, open(path, "wb") as target:
            shutil.copyfileobj(source, target, COPY_CHUNK)

    def upload(self, path: Path, key: str) -> None:
        """Copy the local file `path` to `key`."""
        with open(path, "rb") as source, self.open_write(key) as target:
            shutil.copyfileobj(source, target, COPY_CHUNK)

    def files(self) -> Iterator[tuple[str, dict]]:
        """(key, listing info) of every regular file under the root whose name and folders are
        not hidden, in sorted key order. For remote storages; local input goes through discover."""
        root = self.root.rstrip("/") + "/"
        found = self.fs.find(root, withdirs=False, detail=True)
        for path in sorted(found):
            info = found[path]
            key = path.removeprefix(root)
            if info.get("type") != "file" or key == path or not key:
                continue
            if any(part.startswith(".") for part in key.split("/")):
                continue
            yield key, info

    def __str__(self) -> str:
        return self.url


# The build's Arrow IPC work files: parts (PartWriter) and the shard writers' sort spills.
WORK_FILE_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4")
UNCOMPRESSED_FILE_OPTIONS = pa.ipc.IpcWriteOptions()


class PartWriter:
    """Work rows as an Arrow IPC file (lz4-compressed unless told otherwise). Each write is one
    more batch at next to no memory: a Parquet writer holds every row group's metadata (about
    30 KB for our schema) until it closes, and a unit's spills make thousands of row groups over
    its partitions."""

    def __init__(
        self,
        sink: IO[bytes],
        schema: pa.Schema,
        options: pa.ipc.IpcWriteOptions = WORK_FILE_OPTIONS,
    ):
        self._sink = sink
        self._writer = pa.ipc.new_file(sink, schema, options=options)

    def write_table(self, table: pa.Table, max_chunksize: int | None = None) -> None:
        """The rows as one batch per chunk of `table`, of at most `max_chunksize` rows if given."""
        self._writer.write_table(table, max_chunksize=max_chunksize)

    def close(self) -> None:
        try:
            self._writer.close()
        finally:
            self._sink.close()
