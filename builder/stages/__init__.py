"""The build's stages, in order, and how the build runs them (see `builder.stages.base`).

A later issue's stage (near-duplicates) is one more entry in STAGES: the driver does not change.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from builder.executors import Executor
from builder.records import DUPLICATE_SCHEMA, REJECT_SCHEMA
from builder.stages.base import (
    SOURCE_ORDER,
    WHERE,
    BucketWriter,
    KeyFile,
    Stage,
    read_bucket,
)
from builder.stages.exact import SameId, SameText
from builder.storage import Storage

STAGES: tuple[Stage, ...] = (SameText(), SameId())
BUCKET_INPUT_BYTES = 256 * 1024 * 1024  # input per bucket; its key rows are a few % of it


def key_columns() -> list[str]:
    """The columns of a key row: every stage's key and columns, then where the row sits."""
    names = [name for stage in STAGES for name in (stage.key, *stage.columns)]
    return list(dict.fromkeys(names)) + WHERE


def bucket_count(input_bytes: int) -> int:
    """Buckets per stage for an input of this size: each bucket's keys fit in memory easily."""
    return max(1, -(-input_bytes // BUCKET_INPUT_BYTES))


def key_writer(work: Storage, unit: int, buckets: int) -> BucketWriter:
    """Where a unit writes its key rows, bucketed for the first stage."""
    return BucketWriter(work, f"keys/{unit:08d}.parquet", STAGES[0].key, buckets)


@dataclass(frozen=True, slots=True)
class BucketTask:
    stage: int  # index in STAGES
    bucket: int
    files: list[KeyFile]
    work: Storage
    buckets: int


@dataclass
class BucketResult:
    duplicates: pa.Table
    rejects: pa.Table
    left_out: pa.Table
    next: KeyFile | None  # the rows kept, bucketed for the next stage


def decide_bucket(task: BucketTask) -> BucketResult:
    """One stage's decision over one bucket; runs in a worker."""
    stage = STAGES[task.stage]
    keys = read_bucket(task.work, task.files, task.bucket)
    decision = stage.decide(keys, task.work)
    following = None
    if task.stage + 1 < len(STAGES):
        after = STAGES[task.stage + 1]
        rel = f"stages/{after.name}/{task.bucket:05d}.parquet"
        writer = BucketWriter(task.work, rel, after.key, task.buckets)
        writer.write(decision.kept)
        following = writer.close()
    return BucketResult(decision.duplicates, decision.rejects, decision.left_out, following)


@dataclass
class StagePlan:
    dropped: dict[str, np.ndarray]  # part file -> sorted row numbers to leave out
    duplicates: pa.Table  # DUPLICATE_SCHEMA, in source order
    rejects: pa.Table  # REJECT_SCHEMA, in source order


def run_stages(pool: Executor, work: Storage, files: Iterable[KeyFile], buckets: int) -> StagePlan:
    """Every stage over every bucket, in stage order; the buckets of a stage run in parallel."""
    duplicates, rejects, left_out = [], [], []
    inputs = list(files)
    for number in range(len(STAGES)):
        by_bucket: dict[int, list[KeyFile]] = defaultdict(list)
        for file in inputs:
            for bucket in sorted(set(file.groups)):
                by_bucket[bucket].append(file)
        tasks = [
            BucketTask(number, bucket, members, work, buckets)
            for bucket, members in sorted(by_bucket.items())
        ]
        inputs = []
        for result in pool.imap_unordered(decide_bucket, tasks):
            duplicates.append(result.duplicates)
            rejects.append(result.rejects)
            left_out.append(result.left_out)
            if result.next is not None:
                inputs.append(result.next)
        inputs.sort(key=lambda f: f.rel)
    return StagePlan(
        _by_part(left_out),
        pa.concat_tables([DUPLICATE_SCHEMA.empty_table(), *duplicates]).sort_by(SOURCE_ORDER),
        pa.concat_tables([REJECT_SCHEMA.empty_table(), *rejects]).sort_by(SOURCE_ORDER),
    )


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
