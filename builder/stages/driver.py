"""How the build runs its stages: each stage over every bucket of key rows, in parallel, stage
after stage; what the stages conclude (rows left out, duplicates, rejects, clusters) comes back
as one `StagePlan` for the shard writers. Also where workers write their key rows (`key_writer`).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.config import BuildSection
from builder.executors import Executor
from builder.outcomes import DUPLICATE_SCHEMA, REJECT_SCHEMA
from builder.stages import active
from builder.stages.base import (
    BUFFER_ROWS,
    CLUSTER_SCHEMA,
    REDIRECT_SCHEMA,
    SOURCE_ORDER,
    WHERE,
    BucketWriter,
    KeyFile,
    Stage,
    read_bucket,
)
from builder.stages.store import REF, RowStore, take_rows
from builder.storage import Storage

BUCKET_INPUT_BYTES = 256 * 1024 * 1024  # input per bucket; its key rows are a few % of it


def bucket_count(input_bytes: int) -> int:
    """Buckets per stage for an input of this size: each bucket's keys fit in memory easily."""
    return max(1, -(-input_bytes // BUCKET_INPUT_BYTES))


def key_writer(
    work: Storage, name: str, buckets: int, settings: BuildSection | None = None
) -> BucketWriter:
    """Where a unit (`name`: its cache key, or its number) writes its key rows, bucketed for the
    first stage: each batch's rows are annotated by every stage that runs, and keep only the
    columns the stages read."""
    stages = active(settings)
    needed = {n for s in stages for n in (s.key, *s.columns, *s.produces)} | set(WHERE)

    def prepare(keys: pa.Table) -> pa.Table:
        for stage in stages:
            keys = stage.annotate(keys)
        return keys.select([name for name in keys.column_names if name in needed])

    first = stages[0]
    return BucketWriter(work, f"keys/{name}.parquet", first.key, buckets * first.fanout, prepare)


def rebucket(work: Storage, file: KeyFile, buckets: int, settings: BuildSection) -> KeyFile:
    """A key file written for another number of buckets (a unit reused from the cache, in a
    build whose input grew past a bucket's size), written again for `buckets`, in place."""
    first = active(settings)[0]
    if file.buckets == buckets * first.fanout:
        return file
    table = work.parquet_file(file.rel).read()
    work.remove(file.rel)
    writer = BucketWriter(work, file.rel, first.key, buckets * first.fanout)
    for start in range(0, table.num_rows, BUFFER_ROWS):
        writer.write(table.slice(start, BUFFER_ROWS))
    rewritten = writer.close()
    assert rewritten is not None  # the file had rows, or it would not exist
    return rewritten


@dataclass(frozen=True, slots=True)
class BucketTask:
    stages: tuple[Stage, ...]  # the stages that run, configured
    stage: int  # index in `stages`
    bucket: int
    files: list[KeyFile]
    work: Storage
    buckets: int
    removed: pa.Table | None = None  # LEFT_OUT_SCHEMA: rows an earlier stage concluded out


@dataclass
class BucketResult:
    duplicates: pa.Table
    rejects: pa.Table
    left_out: pa.Table
    next: KeyFile | None  # the rows kept, bucketed for the next stage
    partial: pa.Table | None = None  # for a concluding stage


def decide_bucket(task: BucketTask) -> BucketResult:
    """One stage's decision over one bucket; runs in a worker."""
    stage = task.stages[task.stage]
    keys = read_bucket(task.work, task.files, task.bucket, ordered=not stage.stores)
    assert keys is not None  # a task is made only for a bucket some file holds
    if task.removed is not None and len(task.removed):
        keys = keys.join(task.removed, ["_part", "_row"], join_type="left anti")
        keys = keys.sort_by(SOURCE_ORDER)
    decision = stage.decide(keys, task.work)
    following = None
    if task.stage + 1 < len(task.stages):
        following = _hand_on(task, decision.kept)
    return BucketResult(
        decision.duplicates, decision.rejects, decision.left_out, following, decision.partial
    )


def _hand_on(task: BucketTask, kept: pa.Table) -> KeyFile | None:
    """The rows a bucket kept, as the next stage's key rows bucketed for it: references read
    back when this stage stores its rows, stored when the next one does."""
    stage, after = task.stages[task.stage], task.stages[task.stage + 1]
    rel = f"stages/{after.name}/{task.bucket:05d}.parquet"
    writer = BucketWriter(task.work, rel, after.key, task.buckets * after.fanout)
    store = RowStore(task.work, after.name, task.bucket) if after.stores else None
    step = max(1, BUFFER_ROWS // after.fanout)  # expanded a slice at a time: bounded memory
    for start in range(0, len(kept), step):
        rows = kept.slice(start, step)
        if stage.stores:
            rows = take_rows(task.work, stage.name, rows[REF].to_numpy())
        if store is not None:
            rows = rows.append_column(REF, pa.array(store.add(rows)))
        writer.write(after.expand(rows))
    if store is not None:
        store.close()
    return writer.close()


@dataclass
class StagePlan:
    dropped: dict[str, np.ndarray]  # part file -> sorted row numbers to leave out
    duplicates: pa.Table  # DUPLICATE_SCHEMA, in source order
    rejects: pa.Table  # REJECT_SCHEMA, in source order
    clusters: dict[str, tuple[np.ndarray, list[str]]]  # part file -> sorted row numbers kept
    # with a cluster id (near-copies marked, not removed), and those ids


def run_stages(
    pool: Executor,
    work: Storage,
    files: Iterable[KeyFile],
    buckets: int,
    settings: BuildSection | None = None,
) -> StagePlan:
    """Every stage over every bucket, in stage order; the buckets of a stage run in parallel."""
    stages = active(settings)
    for earlier, later in itertools.combinations(stages, 2):
        if earlier.concludes and later.stores:
            raise ValueError(
                f"stage {later.name} stores its rows: it must come before {earlier.name}"
            )
    duplicates, rejects, left_out, clusters, redirects = [], [], [], [], []
    removed: pa.Table | None = None
    inputs = list(files)
    for number, stage in enumerate(stages):
        by_bucket: dict[int, list[KeyFile]] = defaultdict(list)
        for file in inputs:
            for bucket in sorted(set(file.groups)):
                by_bucket[bucket].append(file)
        tasks = [
            BucketTask(stages, number, bucket, members, work, buckets, removed)
            for bucket, members in sorted(by_bucket.items())
        ]
        inputs, partials = [], []
        for result in pool.imap_unordered(decide_bucket, tasks):
            duplicates.append(result.duplicates)
            rejects.append(result.rejects)
            left_out.append(result.left_out)
            if result.next is not None:
                inputs.append(result.next)
            if result.partial is not None:
                partials.append(result.partial)
        inputs.sort(key=lambda f: f.rel)
        if stage.concludes:
            conclusion = stage.conclude(partials)
            duplicates.append(conclusion.duplicates)
            left_out.append(conclusion.left_out)
            clusters.append(conclusion.clusters)
            redirects.append(conclusion.redirects)
            removed = pa.concat_tables([t for t in (removed, conclusion.left_out) if t is not None])
    every = pa.concat_tables([DUPLICATE_SCHEMA.empty_table(), *duplicates])
    return StagePlan(
        _by_part(left_out),
        redirected(every, pa.concat_tables([REDIRECT_SCHEMA.empty_table(), *redirects])).sort_by(
            SOURCE_ORDER
        ),
        pa.concat_tables([REJECT_SCHEMA.empty_table(), *rejects]).sort_by(SOURCE_ORDER),
        _clusters_by_part(pa.concat_tables([CLUSTER_SCHEMA.empty_table(), *clusters])),
    )


def redirected(duplicates: pa.Table, redirects: pa.Table) -> pa.Table:
    """The duplicates, each naming an article of the release: a duplicate of an article a later
    stage removed (an exact copy of a near-copy) becomes a duplicate of the article kept in its
    place, with the later stage's reason and similarity."""
    if not len(redirects):
        return duplicates
    at = pc.index_in(duplicates["duplicate_of"], redirects["id"])
    moved = pc.is_valid(at)
    taken = redirects.take(at)
    for name in REDIRECT_SCHEMA.names[1:]:
        column = pc.if_else(moved, taken[name], duplicates[name])
        index = duplicates.schema.get_field_index(name)
        duplicates = duplicates.set_column(index, duplicates.schema.field(index), column)
    return duplicates


def _clusters_by_part(rows: pa.Table) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Rows marked with a cluster id as part file -> (sorted row numbers, their cluster ids)."""
    rows = rows.sort_by([("_part", "ascending"), ("_row", "ascending")])
    numbers, ids = rows["_row"].to_numpy(), rows["cluster_id"].to_pylist()
    marked, start = {}, 0
    for part, members in itertools.groupby(rows["_part"].to_pylist()):
        stop = start + sum(1 for _ in members)
        marked[part] = (numbers[start:stop], ids[start:stop])
        start = stop
    return marked


def _by_part(left_out: list[pa.Table]) -> dict[str, np.ndarray]:
    """Rows to leave out as part file -> sorted row numbers, in one pass over them sorted."""
    if not left_out:
        return {}
    rows = pa.concat_tables(left_out).sort_by([("_part", "ascending"), ("_row", "ascending")])
    numbers = rows["_row"].to_numpy()
    dropped, start = {}, 0
    for part, members in itertools.groupby(rows["_part"].to_pylist()):
        stop = start + sum(1 for _ in members)
        dropped[part] = numbers[start:stop]
        start = stop
    return dropped
