"""Stages: decisions over the whole input, taken bucket by bucket so no process holds every key.

Workers write a key row for every row they keep (the columns the stages read, and where the row
sits: its part file and row number) to their unit's key file, one row group per bucket of the
first stage. Rows that share a stage's key always land in the same bucket, so each bucket is
decided on its own, in any order, on any worker. The rows a stage keeps go on to the next stage,
re-bucketed by its key; what the stages leave out is applied when the shards are written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from builder.config import BuildSection
from builder.outcomes import DUPLICATE_SCHEMA, SOURCE_ORDER
from builder.storage import Storage

WHERE = ["source_path", "source_record", "_part", "_row"]  # every key row has these
KEY_PREFIX_HEX = 8  # hex digits of a key that pick its bucket
BUFFER_ROWS = 20_000  # key rows the driver hands on to the next stage at once
# Bytes of key rows a writer holds before it writes them: each write is a row group per bucket,
# and every reader of a bucket parses the file's footer, so a file has few row groups, whatever
# the size of a row (the near stage's are 17 bytes).
BUFFER_BYTES = 16 * 1024 * 1024


class Stage:
    """One global decision. `key` names a column (a hex digest, or an unsigned integer hash):
    rows that the decision compares share it. `decide` gets one bucket's key rows in source
    order and says which go on.

    A stage may need more than a row's columns: `annotate` computes columns per batch in the
    workers (from its `inputs`, which are not kept in the key rows), `expand` turns each kept
    row of the previous stage into its own key rows (`fanout` of them per row, so it gets as
    many more buckets), and a stage that `concludes` decides only once every bucket is done:
    its buckets return partial results (`Decision.partial`) and `conclude` turns them into
    duplicates in the driver.

    A stage with many key rows per row `stores` its input rows once instead of copying them
    into each (`builder.stages.store`): `expand` gets the rows with their reference (REF) and
    makes key rows of the key and REF; `decide` gets those in no particular order, reads what
    it needs of the rows (`take_rows`), and keeps references, which the driver reads back for
    the next stage. Rows an earlier stage concluded out are matched by `_part` and `_row`,
    which such key rows lack: a storing stage comes before any concluding one.
    """

    name: ClassVar[str]
    key: ClassVar[str]
    columns: ClassVar[tuple[str, ...]] = ()  # other columns it reads
    inputs: ClassVar[tuple[str, ...]] = ()  # working columns `annotate` reads, then dropped
    produces: ClassVar[tuple[str, ...]] = ()  # columns it adds (in `annotate` or `expand`)
    concludes: ClassVar[bool] = False
    stores: ClassVar[bool] = False

    def configured(self, settings: BuildSection | None) -> Stage | None:
        """The stage as a build with these settings runs it; None when it does not run."""
        return self

    def annotate(self, keys: pa.Table) -> pa.Table:
        return keys

    def expand(self, kept: pa.Table) -> pa.Table:
        return kept

    @property
    def fanout(self) -> int:
        return 1

    def decide(self, keys: pa.Table, work: Storage) -> Decision:
        raise NotImplementedError

    def conclude(self, partials: list[pa.Table]) -> Conclusion:
        raise NotImplementedError


@dataclass
class Decision:
    kept: pa.Table  # key rows that go on to the next stage
    duplicates: pa.Table  # DUPLICATE_SCHEMA
    rejects: pa.Table  # REJECT_SCHEMA
    left_out: pa.Table  # _part, _row of every row duplicated or rejected
    partial: pa.Table | None = None  # what a concluding stage's `conclude` needs of this bucket


LEFT_OUT_SCHEMA = pa.schema([("_part", pa.string()), ("_row", pa.int64())])
REDIRECT_SCHEMA = pa.schema(
    [("id", pa.string())]
    + [DUPLICATE_SCHEMA.field(n) for n in ("reason", "duplicate_of", "similarity")]
)
CLUSTER_SCHEMA = pa.schema(
    [("_part", pa.string()), ("_row", pa.int64()), ("cluster_id", pa.string())]
)


@dataclass
class Conclusion:
    """A concluding stage's decision over the whole input."""

    duplicates: pa.Table  # DUPLICATE_SCHEMA
    left_out: pa.Table  # LEFT_OUT_SCHEMA: rows duplicated, left out of the release
    clusters: pa.Table  # CLUSTER_SCHEMA: rows kept, with the id of their cluster
    # REDIRECT_SCHEMA: articles an earlier stage kept that this one removed (by id), with what
    # their own duplicates become: duplicates of the article kept in their place
    redirects: pa.Table = field(default_factory=lambda: REDIRECT_SCHEMA.empty_table())


def bucket_of(keys: pa.ChunkedArray | pa.Array, buckets: int) -> np.ndarray:
    """Each key's bucket, from its value (an integer hash) or its leading hex digits (a digest):
    keys are hashes, so spread evenly."""
    if pa.types.is_integer(keys.type):
        return (keys.to_numpy() % np.uint64(buckets)).astype(np.int64)
    return np.fromiter(
        (int(k[:KEY_PREFIX_HEX], 16) % buckets for k in keys.to_pylist()),
        dtype=np.int64,
        count=len(keys),
    )


class BucketWriter:
    """Key rows spread over buckets, buffered up to BUFFER_BYTES: each flush adds one row group
    per bucket it holds, and `groups` lists the bucket of each row group, for the readers of one.
    `prepare`, when given, turns each table written into the key rows kept."""

    def __init__(
        self,
        work: Storage,
        rel: str,
        key: str,
        buckets: int,
        prepare: Callable[[pa.Table], pa.Table] | None = None,
    ):
        self.work, self.rel, self.key, self.buckets = work, rel, key, buckets
        self.prepare = prepare
        self.groups: list[int] = []
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        if self.prepare is not None:
            table = self.prepare(table)
        self._buffer.append(table)
        self._buffered += table.nbytes
        if self._buffered >= BUFFER_BYTES:
            self._flush()

    def _flush(self) -> None:
        table = pa.concat_tables(self._buffer) if self._buffer else None
        self._buffer, self._buffered = [], 0
        if table is None or not table.num_rows:
            return
        bucket = bucket_of(table[self.key], self.buckets)
        order = np.argsort(bucket, kind="stable")
        table, bucket = table.take(pa.array(order)), bucket[order]
        present, starts = np.unique(bucket, return_index=True)
        if self._writer is None:
            self._writer = self.work.parquet_writer(self.rel, table.schema, compression="lz4")
        for b, start, stop in zip(present, starts, [*starts[1:], len(bucket)], strict=True):
            self._writer.write_table(table.slice(start, stop - start), row_group_size=stop - start)
            self.groups.append(int(b))

    def close(self) -> KeyFile | None:
        """The file written, or None when there were no rows."""
        self._flush()
        if self._writer is None:
            return None
        self._writer.close()
        return KeyFile(self.rel, tuple(self.groups), self.buckets)

    def discard(self) -> None:
        self._buffer, self._buffered = [], 0
        if self._writer is not None:
            self._writer.close()
            self.work.remove(self.rel)
        self._writer, self.groups = None, []


@dataclass(frozen=True, slots=True)
class KeyFile:
    """A file of key rows (a key in the work storage), the bucket of each of its row groups, and
    how many buckets it was written for."""

    rel: str
    groups: tuple[int, ...]
    buckets: int


def read_bucket(
    work: Storage, files: Iterable[KeyFile], bucket: int, ordered: bool = True
) -> pa.Table | None:
    """One bucket's key rows from every file that holds some, in source order (unless not
    `ordered`: in the files' order)."""
    tables = []
    for file in files:
        wanted = [i for i, b in enumerate(file.groups) if b == bucket]
        if wanted:
            tables.append(work.parquet_file(file.rel).read_row_groups(wanted))
    if not tables:
        return None
    keys = pa.concat_tables(tables)
    return keys.sort_by(SOURCE_ORDER) if ordered else keys


def first_of(keys: pa.ChunkedArray) -> np.ndarray:
    """True where a value appears for the first time (the rows are already in keep order)."""
    _, first = np.unique(keys.to_numpy(), return_index=True)
    mask = np.zeros(len(keys), dtype=bool)
    mask[first] = True
    return mask
