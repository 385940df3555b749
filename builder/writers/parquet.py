"""Deterministic Parquet shards: same rows in, same bytes out, whatever the worker count.

Rows are sorted by id; shard and row-group boundaries come from the rows' uncompressed
Arrow size, so they too depend only on the data. Content-defined chunking keeps pages
stable when rows are added, which makes Hub uploads of a changed shard small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from builder.layout import shard_path
from builder.sources import file_sha256
from schema import arrow_schema

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 9


@dataclass(frozen=True, slots=True)
class PartitionTask:
    partition: str  # e.g. "data/it/2021-02"
    parts: list[str]  # part files holding this partition's rows, relative to work_dir
    dropped: dict[str, np.ndarray]  # part file -> row numbers that are duplicates
    work_dir: Path
    out_dir: Path
    schema_metadata: dict[bytes, bytes]
    max_shard_bytes: int
    max_row_group_bytes: int


@dataclass(frozen=True, slots=True)
class ShardInfo:
    path: str
    sha256: str
    size: int
    rows: int
    nbytes: int  # uncompressed Arrow bytes, what `datasets` reports as a split's num_bytes
    language: str
    bucket: str


def write_partition(task: PartitionTask) -> list[ShardInfo]:
    """Gather one partition's surviving rows, sort them by id, and write its shards."""
    tables = []
    for part in task.parts:
        table = pq.read_table(task.work_dir / part, schema=arrow_schema())
        if part in task.dropped:
            keep = np.ones(len(table), dtype=bool)
            keep[task.dropped[part]] = False
            table = table.filter(pa.array(keep))
        tables.append(table)
    table = pa.concat_tables(tables).sort_by("id")
    if len(table) == 0:
        return []
    table = table.replace_schema_metadata(task.schema_metadata)
    _, language, bucket = task.partition.split("/")
    row_bytes = max(1, math.ceil(table.nbytes / len(table)))
    shard_rows = max(1, task.max_shard_bytes // row_bytes)
    group_rows = max(1, task.max_row_group_bytes // row_bytes)
    shards = []
    for number, start in enumerate(range(0, len(table), shard_rows)):
        rel = shard_path(task.partition, number)
        path = task.out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        shard = table.slice(start, shard_rows)
        write_table(shard, path, group_rows)
        shards.append(
            ShardInfo(
                rel,
                file_sha256(path),
                path.stat().st_size,
                len(shard),
                shard.nbytes,
                language,
                bucket,
            )
        )
    return shards


def write_table(table: pa.Table, path: Path, row_group_rows: int) -> None:
    """The one place writer settings live: zstd, page index, content-defined chunking, sorted by id."""
    pq.write_table(
        table,
        path,
        row_group_size=row_group_rows,
        compression=COMPRESSION,
        compression_level=COMPRESSION_LEVEL,
        write_statistics=True,
        write_page_index=True,
        use_content_defined_chunking=True,
        sorting_columns=[pq.SortingColumn(table.schema.get_field_index("id"))]
        if "id" in table.column_names
        else None,
    )
