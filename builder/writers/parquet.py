"""Deterministic Parquet shards: same rows in, same bytes out, whatever the worker count.

Rows are sorted by id; shard and row-group boundaries come from the rows' uncompressed
Arrow size, so they too depend only on the data. Content-defined chunking keeps pages
stable when rows are added, which makes Hub uploads of a changed shard small.

A partition larger than the sort budget is sorted externally: its rows are spilled to
sub-buckets by id prefix (ids are uniform hex digests), and each sub-bucket is sorted on
its own; the shards come out the same as from an in-memory sort.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from builder.digests import file_sha256
from builder.layout import shard_path
from builder.storage import WORK_FILE_OPTIONS, Storage
from schema import arrow_schema

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 9
MAX_ROW_GROUP_BYTES = 128 * 1024 * 1024
SORT_BUDGET_BYTES = 32 * 1024 * 1024  # uncompressed rows a worker sorts in memory at once
MAX_SPILL_FILES = 256  # sub-buckets per spill pass; a larger partition spills again
KEY_BYTES = 8  # leading id characters that choose a sub-bucket
KEY_SPACE = 16**KEY_BYTES  # ids are hex digests: sub-buckets split this range evenly


@dataclass(frozen=True, slots=True)
class PartitionTask:
    partition: str  # e.g. "data/it/2021-02"
    parts: list[str]  # part files holding this partition's rows, keys in `work`
    nbytes: int  # their rows' bytes in memory: what sorting them at once would take
    dropped: dict[str, np.ndarray]  # part file -> row numbers that are duplicates
    work: Storage  # where the parts are
    out_dir: Path
    schema_metadata: dict[bytes, bytes]
    max_shard_bytes: int
    max_row_group_bytes: int
    sort_budget_bytes: int = SORT_BUDGET_BYTES  # sorted in memory at most; more spills to disk
    # part file -> (sorted row numbers, cluster ids): near-copies kept as rows, marked
    clusters: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ShardInfo:
    path: str
    sha256: str
    size: int
    rows: int
    nbytes: int  # uncompressed Arrow bytes as `row_sizes` counts them: a split's num_bytes
    language: str
    bucket: str


def write_partition(task: PartitionTask) -> list[ShardInfo]:
    """Gather one partition's surviving rows, sort them by id, and write its shards."""
    schema = arrow_schema().with_metadata(task.schema_metadata)
    runs = _sorted_runs(
        lambda: _surviving(task, schema),
        schema,
        task.nbytes,
        0,
        KEY_SPACE,
        task.sort_budget_bytes,
        task.out_dir,  # local, and ours: spilled runs go next to the shards, and are removed
    )
    with _ShardWriter(task, schema) as writer:
        for run in runs:
            writer.add(run)
            del run  # free this run before the next one is read
        return writer.close()


def _surviving(task: PartitionTask, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The partition's rows that are not duplicates, in part order, a spilled batch at a time."""
    for part in task.parts:
        dropped = task.dropped.get(part, np.zeros(0, dtype=np.int64))
        offset = 0
        for batch in task.work.part_batches(part):
            first, last = np.searchsorted(dropped, [offset, offset + len(batch)])
            keep = np.ones(len(batch), dtype=bool)
            keep[dropped[first:last] - offset] = False
            batch = _marked(batch.select(schema.names), task.clusters.get(part), offset)
            offset += len(batch)
            batch = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
            yield batch.filter(pa.array(keep)) if last > first else batch


def _marked(
    batch: pa.RecordBatch, clusters: tuple[np.ndarray, list[str]] | None, offset: int
) -> pa.RecordBatch:
    """The batch (rows `offset`... of its part) with the cluster ids of the rows marked."""
    if clusters is None:
        return batch
    rows, ids = clusters
    first, last = np.searchsorted(rows, [offset, offset + len(batch)])
    if last == first:
        return batch
    values: list[str | None] = [None] * len(batch)
    for row, cluster_id in zip(rows[first:last] - offset, ids[first:last], strict=True):
        values[row] = cluster_id
    column = batch.schema.get_field_index("cluster_id")
    return batch.set_column(column, "cluster_id", pa.array(values, pa.string()))


def _sorted_runs(
    batches: Callable[[], Iterator[pa.RecordBatch]],
    schema: pa.Schema,
    nbytes: int,
    lo: int,
    hi: int,
    budget: int,
    scratch: Path,
) -> Iterator[pa.Table]:
    """The rows of `batches` (ids from hex value `lo` up to `hi`) as id-sorted tables, in id order.

    Rows over the budget are spilled to sub-buckets of the id range; a sub-bucket still over
    the budget is spilled again. The concatenation of the tables is the whole sort.
    """
    # sub-buckets of half the budget on average, so that few of them need a second spill
    count = min(MAX_SPILL_FILES, -(-2 * nbytes // budget), hi - lo)
    if nbytes <= budget or count <= 1:
        yield pa.Table.from_batches(batches(), schema).sort_by("id")
        return
    bounds = [lo + (hi - lo) * j // count for j in range(count + 1)]
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix="sort-") as spill_dir:
        paths = [Path(spill_dir) / f"{j:03d}.arrows" for j in range(count)]
        sizes = _spill(batches(), schema, _hex_keys(bounds[1:-1]), paths)
        for j, path in enumerate(paths):
            yield from _sorted_runs(
                partial(_read_spill, path),
                schema,
                sizes[j],
                bounds[j],
                bounds[j + 1],
                budget,
                Path(spill_dir),
            )
            path.unlink()  # free the disk as we go


def _spill(
    batches: Iterator[pa.RecordBatch], schema: pa.Schema, bounds: np.ndarray, paths: list[Path]
) -> list[int]:
    """Spread the rows over the files `paths` by id key (`bounds` between them), keeping their
    order; the uncompressed bytes each file received."""
    sizes = [0] * len(paths)
    writers = [ipc.new_stream(str(path), schema, options=WORK_FILE_OPTIONS) for path in paths]
    try:
        for batch in batches:
            buckets = np.searchsorted(bounds, _id_keys(batch.column("id")), side="right")
            batch = batch.take(pa.array(np.argsort(buckets, kind="stable")))
            ends = np.cumsum(np.bincount(buckets, minlength=len(paths)))
            for j, (start, stop) in enumerate(zip([0, *ends[:-1]], ends, strict=True)):
                if stop > start:
                    piece = batch.slice(start, stop - start)
                    writers[j].write_batch(piece)
                    sizes[j] += piece.nbytes
    finally:
        for writer in writers:
            writer.close()
    return sizes


def _read_spill(path: Path) -> Iterator[pa.RecordBatch]:
    with ipc.open_stream(pa.OSFile(str(path))) as reader:
        yield from reader


def _hex_keys(values: list[int]) -> np.ndarray:
    """The id keys of the hex numbers `values`, written with KEY_BYTES digits."""
    return np.array(
        [int.from_bytes(f"{v:0{KEY_BYTES}x}".encode(), "big") for v in values], dtype=np.uint64
    )


def _id_keys(ids: pa.Array) -> np.ndarray:
    """The first KEY_BYTES bytes of each id as a big-endian number, zero-padded: in id order."""
    _, offsets_buffer, data_buffer = ids.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[ids.offset : ids.offset + len(ids) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer else np.zeros(1, np.uint8)
    starts, stops = offsets[:-1], offsets[1:]
    keys = np.zeros(len(ids), dtype=np.uint64)
    for i in range(KEY_BYTES):
        present = starts + i < stops
        keys = (keys << np.uint64(8)) | np.where(
            present, data[np.where(present, starts + i, 0)], 0
        ).astype(np.uint64)
    return keys


class _ShardWriter:
    """Writes id-sorted runs, given in order, as shards and row groups cut exactly as `cuts` cuts
    the whole partition: greedily, at least one row each; rows are held a row group at most."""

    def __init__(self, task: PartitionTask, schema: pa.Schema):
        self.task, self.schema = task, schema
        self.shards: list[ShardInfo] = []
        self.writer: pq.ParquetWriter | None = None
        self.shard_rows = self.shard_bytes = 0
        self.group: list[pa.Table] = []
        self.group_bytes = 0

    def __enter__(self) -> _ShardWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.writer is not None:  # failed half-way: close the file, record nothing
            self.writer.close()

    def add(self, table: pa.Table) -> None:
        sizes = row_sizes(table)
        ends = np.cumsum(sizes)
        start = 0
        while start < len(table):
            before = int(ends[start - 1]) if start else 0
            room = min(
                self.task.max_shard_bytes - self.shard_bytes,
                self.task.max_row_group_bytes - self.group_bytes,
            )
            stop = int(np.searchsorted(ends, before + room, side="right"))
            if stop <= start:  # the next row does not fit
                if self.shard_bytes + sizes[start] > self.task.max_shard_bytes and self.shard_rows:
                    self._close_shard()
                    continue
                if self.group:
                    self._close_group()
                    continue
                stop = start + 1  # a row over the limit is a range of its own
            self.group.append(table.slice(start, stop - start))
            self.group_bytes += int(ends[stop - 1]) - before
            self.shard_bytes += int(ends[stop - 1]) - before
            self.shard_rows += stop - start
            start = stop
        if self.group and len(table):  # the last piece is from this run: copy it, so the run can go
            self.group[-1] = self.group[-1].take(np.arange(len(self.group[-1])))

    def close(self) -> list[ShardInfo]:
        """Write what is pending; the shards written."""
        self._close_shard()
        return self.shards

    def _close_group(self) -> None:
        if not self.group:
            return
        table = pa.concat_tables(self.group).combine_chunks()
        self.group, self.group_bytes = [], 0
        if self.writer is None:
            path = self.task.out_dir / shard_path(self.task.partition, len(self.shards))
            path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = open_writer(path, self.schema)
        self.writer.write_table(table, row_group_size=max(1, len(table)))

    def _close_shard(self) -> None:
        self._close_group()
        if self.writer is None:
            return
        self.writer.close()
        self.writer = None
        rel = shard_path(self.task.partition, len(self.shards))
        path = self.task.out_dir / rel
        _, language, bucket = self.task.partition.split("/")
        self.shards.append(
            ShardInfo(
                rel,
                file_sha256(path),
                path.stat().st_size,
                self.shard_rows,
                self.shard_bytes,
                language,
                bucket,
            )
        )
        self.shard_rows = self.shard_bytes = 0


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


def open_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """The one place writer settings live: zstd, page index, content-defined chunking, sorted by id."""
    sort = [pq.SortingColumn(schema.get_field_index("id"))] if "id" in schema.names else None
    return pq.ParquetWriter(
        path,
        schema,
        compression=COMPRESSION,
        compression_level=COMPRESSION_LEVEL,
        write_statistics=True,
        write_page_index=True,
        use_content_defined_chunking=True,
        sorting_columns=sort,
    )


def write_table(table: pa.Table, path: Path, groups: list[tuple[int, int]] | None = None) -> None:
    """Write `table` with the release's settings (`open_writer`).

    `groups` are the row groups as (start, stop) ranges; by default they hold at most
    MAX_ROW_GROUP_BYTES of uncompressed rows each.
    """
    with open_writer(path, table.schema) as writer:
        for start, stop in (
            groups if groups is not None else cuts(row_sizes(table), MAX_ROW_GROUP_BYTES)
        ):
            writer.write_table(
                table.slice(start, stop - start), row_group_size=max(1, stop - start)
            )


SHARDS_KEY = "shards"  # where shard writers put shards in a non-local work storage


def write_partition_to_work(task: PartitionTask) -> list[ShardInfo]:
    """`write_partition` for a non-local work storage (`task.work`): the shards are written to a
    local temporary folder, then copied to the work storage for the build to fetch."""
    with tempfile.TemporaryDirectory(prefix="broadsheet-shards-") as folder:
        shards = write_partition(dataclasses.replace(task, out_dir=Path(folder)))
        for shard in shards:
            task.work.upload(Path(folder) / shard.path, f"{SHARDS_KEY}/{shard.path}")
    return shards
