"""A stage's input rows stored once and read back by reference, for a stage with many key rows
per row (`Stage.stores`).

The near-duplicate stage has a key row per (article, band). Were the article's columns (its
signature above all) in each, they would be written, read and sorted once per band. Instead the
driver stores each row the stage gets once, in a file per bucket of the stage before it, and the
stage's key rows carry their key and the row's reference (REF: that bucket and the row's
position in the file). A stage reads back only the rows it needs (`take_rows`).

A file is an uncompressed Arrow IPC file of STORE_ROWS-row batches: a position is a batch and an
offset, and a local file is memory-mapped, so reading a few rows reads little more than their
bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from builder.storage import PartWriter, Storage

REF = "_ref"  # int64: the bucket of the file (high 32 bits) and the row's position in it
STORE_BITS = 10
STORE_ROWS = 1 << STORE_BITS  # rows per batch of a store file


def store_key(stage: str, bucket: int) -> str:
    """The work file of a stage's rows stored by one bucket of the stage before it."""
    return f"stages/{stage}/rows/{bucket:05d}.arrow"


class RowStore:
    """One bucket's store file, written in batches of exactly STORE_ROWS rows (the last fewer)."""

    def __init__(self, work: Storage, stage: str, bucket: int):
        self.work, self.key, self.bucket = work, store_key(stage, bucket), bucket
        self.stored = 0  # rows added so far
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._writer: PartWriter | None = None

    def add(self, rows: pa.Table) -> np.ndarray:
        """Store the rows; their references (int64), in order."""
        refs = (np.int64(self.bucket) << np.int64(32)) + np.arange(
            self.stored, self.stored + len(rows), dtype=np.int64
        )
        self.stored += len(rows)
        self._buffer.append(rows)
        self._buffered += len(rows)
        if self._buffered >= STORE_ROWS:
            self._write(self._buffered - self._buffered % STORE_ROWS)
        return refs

    def _write(self, count: int) -> None:
        """Write the first `count` rows buffered (whole batches, or the rest at the end)."""
        table = pa.concat_tables(self._buffer).combine_chunks()
        if self._writer is None:
            self._writer = self.work.part_writer(self.key, table.schema, compressed=False)
        self._writer.write_table(table.slice(0, count), max_chunksize=STORE_ROWS)
        rest = table.slice(count)
        self._buffer, self._buffered = [rest], len(rest)

    def close(self) -> None:
        if self._buffered:
            self._write(self._buffered)
        if self._writer is not None:
            self._writer.close()


def take_rows(work: Storage, stage: str, refs: np.ndarray, columns: Sequence[str] = ()) -> pa.Table:
    """The stored rows of these references (at least one), in their order: all columns, or
    those named. Each batch holding some of them is read once."""
    refs = np.asarray(refs, dtype=np.int64)
    order = np.argsort(refs, kind="stable")
    ascending = refs[order]
    # each batch's number over all files ((bucket << 32) is a multiple of STORE_ROWS), its file
    batches, starts = np.unique(ascending >> STORE_BITS, return_index=True)
    stops = [*starts[1:].tolist(), len(ascending)]
    files = batches >> (32 - STORE_BITS)
    pieces = []
    for bucket in np.unique(files).tolist():
        with work.part_file(store_key(stage, bucket)) as reader:
            for group in np.flatnonzero(files == bucket).tolist():
                batch = reader.get_batch(int(batches[group] - (bucket << (32 - STORE_BITS))))
                if columns:
                    batch = batch.select(list(columns))
                offsets = ascending[starts[group] : stops[group]] % STORE_ROWS
                pieces.append(batch.take(pa.array(offsets)))
    rows = pa.Table.from_batches(pieces)
    return rows.take(pa.array(np.argsort(order, kind="stable")))
