"""The build cache: what a work unit made (its rows, key rows, rejects and counters) and what a
partition's shard writer made, kept under keys that say everything they depend on, so that a
build redoes only what changed and a killed build, run again, redoes only what was in flight.

A cache is a folder (or an fsspec URL every worker can reach) that this program made and marked:

    .broadsheet-cache             the marker; a folder without it is never written into
    units/<k2>/<key>/             one unit's work files, then entry.json (written last)
    shards/<k2>/<key>/            one partition's shards, then entry.json
    tmp/<owner>/                  entries being written (moved into place when complete)

An entry's `entry.json` lists each of its files with its size and sha256; files are checked as
they are copied out, so a damaged entry is recomputed and counted, never used. A `used` file in
each entry says when a build last used it: `evict` removes the least recently used entries
beyond the size bound, and only ever removes entries and temporary folders of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from typing import Any

from builder.errors import ConfigError
from builder.processes import process_exists
from builder.storage import COPY_CHUNK, Storage

MARKER = ".broadsheet-cache"
FORMAT = 1
ENTRY = "entry.json"
USED = "used"
KINDS = ("units", "shards")
STALE_TMP_SECONDS = 24 * 3600  # an unfinished entry this old belongs to a build that is gone


class CacheDamaged(Exception):
    """An entry whose files are not what its entry.json says: recomputed, never used."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A complete entry: where it is, its files (name -> size, sha256) and what it records."""

    kind: str
    key: str
    files: dict[str, tuple[int, str]]
    meta: dict[str, Any]

    @property
    def size(self) -> int:
        return sum(size for size, _ in self.files.values())


@dataclass(frozen=True, slots=True)
class Cache:
    """A cache folder; a picklable value, like Storage, so that workers can use it too."""

    storage: Storage

    @classmethod
    def open(cls, where: Storage | str | os.PathLike[str]) -> Cache:
        """The cache at `where`, made and marked if it does not exist; ConfigError for a folder
        that holds something else (it is never written into)."""
        storage = Storage.of(where)
        if storage.exists(MARKER):
            marker = json.loads(_read(storage, MARKER))
            if marker.get("format") != FORMAT:
                raise ConfigError(
                    f"{storage}: a Broadsheet cache of another format ({marker.get('format')}); "
                    "give run.cache another folder, or remove this one"
                )
            return cls(storage)
        if storage.exists() and _entries(storage):
            raise ConfigError(
                f"{storage}: not a Broadsheet cache (no {MARKER} marker) and not empty; give "
                "run.cache an empty or new folder"
            )
        _write(storage, MARKER, json.dumps({"generator": "broadsheet", "format": FORMAT}).encode())
        return cls(storage)

    def get(self, kind: str, key: str) -> Entry | None:
        """The complete entry of `key`, or None when there is none (or only a partial one)."""
        where = _entry_dir(kind, key)
        if not self.storage.exists(f"{where}/{ENTRY}"):
            return None
        try:
            data = json.loads(_read(self.storage, f"{where}/{ENTRY}"))
            files = {name: (int(size), str(sha)) for name, (size, sha) in data["files"].items()}
            return Entry(kind, key, files, data["meta"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CacheDamaged(f"{where}/{ENTRY}: unreadable ({exc})") from exc

    def copy_out(self, entry: Entry, name: str, target: Storage, key: str) -> None:
        """Copy one file of an entry to `target`, checking its size and sha256 on the way;
        CacheDamaged (and nothing left at `key`) when they differ."""
        size, sha256 = entry.files[name]
        digest, copied = hashlib.sha256(), 0
        try:
            with (
                self.storage.open_read(f"{_entry_dir(entry.kind, entry.key)}/{name}") as source,
                target.open_write(key) as sink,
            ):
                while chunk := source.read(COPY_CHUNK):
                    digest.update(chunk)
                    copied += len(chunk)
                    sink.write(chunk)
        except OSError as exc:
            _remove_quietly(target, key)
            raise CacheDamaged(f"{entry.kind}/{entry.key}/{name}: unreadable ({exc})") from exc
        if (copied, digest.hexdigest()) != (size, sha256):
            _remove_quietly(target, key)
            raise CacheDamaged(f"{entry.kind}/{entry.key}/{name}: not the bytes it was stored with")

    def put(
        self, kind: str, key: str, files: dict[str, tuple[Storage, str]], meta: dict[str, Any]
    ) -> None:
        """Store `files` (name -> where they are now) under `key`, with `meta`. The entry appears
        whole or not at all: it is written aside, then moved into place (locally) or committed
        by its entry.json, written last (other storages). An entry already there is kept."""
        where = _entry_dir(kind, key)
        if self.storage.exists(f"{where}/{ENTRY}"):
            return
        staging = f"tmp/{os.getpid()}-{uuid.uuid4().hex}" if self.storage.local else where
        listed: dict[str, tuple[int, str]] = {}
        for name, (source, source_key) in sorted(files.items()):
            listed[name] = _copy(source, source_key, self.storage, f"{staging}/{name}")
        body = json.dumps({"files": listed, "meta": meta}, sort_keys=True).encode()
        _write(self.storage, f"{staging}/{ENTRY}", body)
        _write(self.storage, f"{staging}/{USED}", _now())
        if staging != where:
            target = self.storage.path(where)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                os.rename(self.storage.path(staging), target)
            except OSError:  # another build stored the same entry meanwhile: keep that one
                shutil.rmtree(self.storage.path(staging), ignore_errors=True)

    def touch(self, entry: Entry) -> None:
        """Note that a build used the entry now (what eviction goes by)."""
        _write(self.storage, f"{_entry_dir(entry.kind, entry.key)}/{USED}", _now())

    def discard(self, kind: str, key: str) -> None:
        """Remove an entry (a damaged one, before it is stored again)."""
        where = _entry_dir(kind, key)
        if self.storage.exists(where):
            _remove_tree(self.storage, where)

    def evict(self, max_bytes: int, keep: set[tuple[str, str]]) -> tuple[int, int]:
        """Remove the least recently used entries, never those in `keep` (this build's), until
        the cache holds at most `max_bytes`; also unfinished entries of builds long gone.
        Returns (entries removed, bytes the cache holds after)."""
        found = []
        for kind in KINDS:
            for key in self._keys(kind):
                try:
                    entry = self.get(kind, key)
                except CacheDamaged:
                    entry = None
                if entry is None:
                    continue
                used = _read_quietly(self.storage, f"{_entry_dir(kind, key)}/{USED}")
                found.append((used, kind, key, entry.size))
        total = sum(size for *_, size in found)
        removed = 0
        for _used, kind, key, size in sorted(found):
            if total <= max_bytes:
                break
            if (kind, key) in keep:
                continue
            self.discard(kind, key)
            total -= size
            removed += 1
        self._clean_tmp()
        return removed, total

    def _keys(self, kind: str) -> list[str]:
        if not self.storage.exists(kind):
            return []
        keys = []
        for prefix in _listdir(self.storage, kind):
            keys += _listdir(self.storage, f"{kind}/{prefix}")
        return sorted(keys)

    def _clean_tmp(self) -> None:
        """Remove entries being written by builds that are gone (killed while storing one)."""
        if not self.storage.local or not self.storage.exists("tmp"):
            return
        for name in _listdir(self.storage, "tmp"):
            pid = name.split("-", 1)[0]
            path = self.storage.path(f"tmp/{name}")
            gone = not pid.isdigit() or not process_exists(int(pid))
            if gone or time.time() - os.stat(path).st_mtime > STALE_TMP_SECONDS:
                shutil.rmtree(path, ignore_errors=True)


def _entry_dir(kind: str, key: str) -> str:
    return f"{kind}/{key[:2]}/{key}"


def _now() -> bytes:
    return f"{time.time():.6f}".encode()
    return True


def _read(storage: Storage, key: str) -> bytes:
    with storage.open_read(key) as f:
        return f.read()


def _read_quietly(storage: Storage, key: str) -> str:
    try:
        return _read(storage, key).decode()
    except (OSError, UnicodeDecodeError):
        return ""


def _write(storage: Storage, key: str, data: bytes) -> None:
    with storage.open_write(key) as f:
        f.write(data)


def _copy(source: Storage, source_key: str, target: Storage, key: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with source.open_read(source_key) as reader, target.open_write(key) as writer:
        while chunk := reader.read(COPY_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            writer.write(chunk)
    return size, digest.hexdigest()


def _listdir(storage: Storage, key: str) -> list[str]:
    if storage.local:
        return sorted(os.listdir(storage.path(key)))
    return sorted(
        p.rstrip("/").rsplit("/", 1)[-1] for p in storage.fs.ls(storage.path(key), detail=False)
    )


def _entries(storage: Storage) -> list[str]:
    return _listdir(storage, "") if storage.local else storage.fs.ls(storage.root, detail=False)


def _remove_tree(storage: Storage, key: str) -> None:
    if storage.local:
        shutil.rmtree(storage.path(key), ignore_errors=True)
    else:
        storage.fs.rm(storage.path(key), recursive=True)


def _remove_quietly(storage: Storage, key: str) -> None:
    try:
        if storage.exists(key):
            storage.remove(key)
    except OSError:
        pass
