"""The build's use of the build cache (`builder.cache` is the store): where the cache is, the
salt every key of a build shares, which partitions' shards come from it, and what it gave the
build (the summary's `cache:` line). Units are reused by `builder.reading.reuse`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from builder.cache import Cache, CacheDamaged
from builder.config import BuildSection, Config
from builder.errors import ConfigError, OutputError
from builder.storage import Storage
from builder.version import fingerprint
from builder.writers.parquet import PartitionTask, ShardInfo

SHARDS = "shards"  # the cache's kind for partitions' shards


@dataclass(frozen=True)
class CacheReport:
    """What the build cache gave a build: units reused and computed (and computed because their
    entry was damaged), units that could not be cached, entries evicted, and the cache's size."""

    reused: int
    computed: int
    uncached: int
    damaged: int
    partitions_reused: int
    partitions_written: int
    evicted: int
    size: int

    def line(self) -> str:
        damaged = (
            f" ({self.damaged} damaged entr{'y' if self.damaged == 1 else 'ies'} recomputed)"
            if self.damaged
            else ""
        )
        uncached = f", {self.uncached} not cacheable" if self.uncached else ""
        return (
            f"cache: {self.reused} unit(s) reused, {self.computed} computed{damaged}{uncached}; "
            f"{self.partitions_reused} partition(s) reused, {self.partitions_written} written; "
            f"{self.evicted} evicted ({self.size / 1e6:,.1f} MB cached)"
        )


def cache_salt(settings: BuildSection) -> str:
    """What every cache key of a build shares: the settings that can change a row (the [build]
    section: limits, steps, rules, thresholds) and the builder's fingerprint (its code and its
    libraries). The run section never changes a row, and is left out; so is `build.remove`, the
    takedown list, which only the `remove` stage reads: a new list recomputes no unit (a
    partition's shards are keyed by the rows the stages leave out, so they follow the list)."""
    settings_hashed = settings.model_dump(mode="json", exclude={"remove"})
    body = json.dumps([fingerprint(), settings_hashed], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def open_cache(
    config: Config,
    use: bool,
    out: Path,
    input_storage: Storage,
    executor: str,
    workers: int,
) -> Cache | None:
    """The build cache (None with --no-cache): run.cache, else `.<release>.cache` beside the
    release. It may not lie inside the input or the release."""
    if not use:
        return None
    where = Storage.of(config.run.cache or out.parent / f".{out.name}.cache")
    if where.local:
        path = Path(where.root)
        inside = [
            p
            for p in (out, *([Path(input_storage.root)] if input_storage.local else []))
            if path == p or p in path.parents
        ]
        if inside:
            raise ConfigError(
                f"run.cache: {path} is inside {inside[0]}; put the cache outside the input and "
                "the release"
            )
    if where.in_process and (executor != "local" or workers > 1):
        raise ConfigError(
            f"run.cache: {where} lives in the build's process only, where worker processes "
            "cannot see it; use --workers 1 with the local executor"
        )
    try:
        return Cache.open(where)
    except OSError as exc:
        raise OutputError(
            f"run.cache: cannot write the build cache at {where}: {exc.strerror or exc}; give "
            "run.cache a writable folder, or build with --no-cache"
        ) from exc


@dataclass
class ShardShares:
    """Which partitions' shards can come from the cache: those whose every part is a cached
    unit's (its name is that unit's key), with the same rows left out and marked. The key is a
    sha256 of all of that, the writer's settings and the build's salt."""

    salt: str
    keyed_parts: set[str]
    reused: int = 0
    written: int = 0
    keys: set[str] = field(default_factory=set)  # this build's shard entries, kept by eviction

    def key(self, task: PartitionTask) -> str | None:
        if not all(part in self.keyed_parts for part in task.parts):
            return None
        digest = hashlib.sha256(self.salt.encode())
        for value in (task.partition, task.max_shard_bytes, task.max_row_group_bytes):
            digest.update(f"{value}\0".encode())
        digest.update(json.dumps(sorted(task.schema_metadata.items()), default=bytes.hex).encode())
        for part in task.parts:
            digest.update(f"{part}\0".encode())
            dropped = task.dropped.get(part)
            digest.update(b"-" if dropped is None else dropped.astype("<i8").tobytes())
            rows, ids = task.clusters.get(part, (None, []))
            digest.update(b"-" if rows is None else rows.astype("<i8").tobytes())
            digest.update("\0".join(ids).encode() + b"\1")
        return digest.hexdigest()


def reused_shards(store: Cache | None, key: str | None, stage: Path) -> list[ShardInfo] | None:
    """A partition's shards copied from the cache into the staging folder; None when not there."""
    if store is None or key is None:
        return None
    try:
        entry = store.get(SHARDS, key)
        if entry is None:
            return None
        shards = [ShardInfo(**s) for s in entry.meta["shards"]]
        for shard in shards:
            store.copy_out(entry, shard.path, Storage.of(stage), shard.path)
    except CacheDamaged:
        store.discard(SHARDS, key)
        return None
    store.touch(entry)
    return shards


def store_shards(
    store: Cache | None, key: str | None, shards: list[ShardInfo], stage: Path
) -> None:
    if store is None or key is None:
        return
    files = {shard.path: (Storage.of(stage), shard.path) for shard in shards}
    store.put(SHARDS, key, files, {"shards": [dataclasses.asdict(s) for s in shards]})
