"""Deterministic Parquet shards: same rows in, same bytes out, whatever the worker count.

Rows are sorted by id; shard and row-group boundaries come from the rows' uncompressed
Arrow size, so they too depend only on the data. Content-defined chunking keeps pages
stable when rows are added, which makes Hub uploads of a changed shard small.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from builder.layout import shard_path
from builder.sources import file_sha256
from schema import arrow_schema

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 9
MAX_ROW_GROUP_BYTES = 128 * 1024 * 1024


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
    sizes = row_sizes(table)
    shards = []
    for number, (start, stop) in enumerate(cuts(sizes, task.max_shard_bytes)):
        rel = shard_path(task.partition, number)
        path = task.out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        shard = table.slice(start, stop - start)
        write_table(shard, path, groups=cuts(sizes[start:stop], task.max_row_group_bytes))
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


def row_sizes(table: pa.Table) -> np.ndarray:
    """Uncompressed Arrow bytes of each row (a slight over-estimate: a byte per column for validity)."""
    sizes = np.zeros(len(table), dtype=np.int64)
    for column in table.itercolumns():
        column = column.combine_chunks()
        if pa.types.is_string(column.type):
            sizes += pc.fill_null(pc.binary_length(column), 0).to_numpy() + 4
        elif pa.types.is_list(column.type):
            items = pc.list_flatten(column)
            per_item = pc.binary_length(items).to_numpy() + 4
            sizes += (
                np.bincount(
                    pc.list_parent_indices(column).to_numpy(),
                    weights=per_item,
                    minlength=len(table),
                ).astype(np.int64)
                + 4
            )
        else:
            sizes += column.type.byte_width
        sizes += 1
    return sizes


def cuts(sizes: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Consecutive (start, stop) ranges whose sizes add up to at most `limit` (at least one row each)."""
    ends = np.cumsum(sizes)
    ranges, start, before = [], 0, 0
    while start < len(sizes):
        stop = max(int(np.searchsorted(ends, before + limit, side="right")), start + 1)
        ranges.append((start, stop))
        start, before = stop, int(ends[stop - 1])
    return ranges


def write_table(table: pa.Table, path: Path, groups: list[tuple[int, int]] | None = None) -> None:
    """The one place writer settings live: zstd, page index, content-defined chunking, sorted by id.

    `groups` are the row groups as (start, stop) ranges; by default they hold at most
    MAX_ROW_GROUP_BYTES of uncompressed rows each.
    """
    sort = (
        [pq.SortingColumn(table.schema.get_field_index("id"))]
        if "id" in table.column_names
        else None
    )
    with pq.ParquetWriter(
        path,
        table.schema,
        compression=COMPRESSION,
        compression_level=COMPRESSION_LEVEL,
        write_statistics=True,
        write_page_index=True,
        use_content_defined_chunking=True,
        sorting_columns=sort,
    ) as writer:
        for start, stop in (
            groups if groups is not None else cuts(row_sizes(table), MAX_ROW_GROUP_BYTES)
        ):
            writer.write_table(
                table.slice(start, stop - start), row_group_size=max(1, stop - start)
            )
