"""Where a work unit's output goes: its rows, one part file per language/month partition, their
key rows (for the global stages) and its rejects, each spilled to the work storage in batches so
that a unit's memory does not grow with its size.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.batch import Batch
from builder.config import BuildSection
from builder.layout import partition_dir
from builder.outcomes import REJECT_SCHEMA, SOURCE_ORDER
from builder.stages import key_columns
from builder.stages.base import KeyFile
from builder.stages.driver import key_writer
from builder.storage import PartWriter, Storage
from builder.writers.rejects import MERGE_ROWS, merged
from schema import arrow_schema
from schema.working import published

KEY_COLUMNS = [c for c in key_columns() if c not in ("_part", "_row")]  # the rest are added here
SPILL_ROWS = 20_000  # rows (and rejects) buffered per unit before they are written to its parts
SPILL_BYTES = 16 * 1024 * 1024  # or fewer rows, when they hold this many bytes: parts' batches
# stay small, so the shard writers that read them back hold little


class Spill:
    """Buffers tables of one kind and spills them to part files (Storage.part_writer) in batches
    of SPILL_ROWS rows or SPILL_BYTES bytes, whichever comes first."""

    def __init__(self, work: Storage, schema: pa.Schema):
        self.work, self.schema = work, schema
        self.buffers: dict[str, list[pa.Table]] = {}
        self.writers: dict[str, PartWriter] = {}
        self.buffered = self.buffered_bytes = 0
        self.rows: dict[str, int] = {}  # rows added to each file so far
        self.nbytes: dict[str, int] = {}  # and their bytes in memory

    def add(self, rel: str, table: pa.Table) -> int:
        """Add rows to the file `rel` (a key in the work storage); the number of the first."""
        self.buffers.setdefault(rel, []).append(table)
        self.buffered += table.num_rows
        self.buffered_bytes += table.nbytes
        first = self.rows.get(rel, 0)
        self.rows[rel] = first + table.num_rows
        self.nbytes[rel] = self.nbytes.get(rel, 0) + table.nbytes
        if self.buffered >= SPILL_ROWS or self.buffered_bytes >= SPILL_BYTES:
            self.flush()
        return first

    def flush(self) -> None:
        for rel, tables in self.buffers.items():
            if rel not in self.writers:
                self.writers[rel] = self.work.part_writer(rel, self.schema)
            self.writers[rel].write_table(pa.concat_tables(tables))
        self.buffers, self.buffered, self.buffered_bytes = {}, 0, 0

    def close(self) -> dict[str, int]:
        """Write what is buffered; the files written (keys in the work storage), with the bytes
        their rows take in memory (what sorting them costs)."""
        self.flush()
        for writer in self.writers.values():
            writer.close()
        return {rel: self.nbytes[rel] for rel in sorted(self.writers)}

    def discard(self) -> None:
        """Drop everything: nothing of this file is published."""
        self.buffers, self.buffered, self.buffered_bytes, self.rows = {}, 0, 0, {}
        self.nbytes = {}
        for rel, writer in self.writers.items():
            writer.close()
            self.work.remove(rel)
        self.writers = {}


class RejectSpill(Spill):
    """A unit's rejects, spilled to one part in source order (SOURCE_ORDER), as the rejects
    writer (`builder.writers.rejects`) merges them: each spill is sorted, and spills that do not
    follow the one before start a new run, merged into a new part when the unit closes. A unit
    gives its rejects in order for each of its row makers (files in order, records in order),
    so it has a run per row maker at most."""

    def __init__(self, work: Storage, rel: str):
        super().__init__(work, REJECT_SCHEMA)
        self.rel = rel
        self.batches = 0  # batches written
        self.runs: list[int] = []  # the batch each run starts at
        self.last: tuple[str, int] | None = None  # the key of the last reject written

    def add_rejects(self, table: pa.Table) -> None:
        self.add(self.rel, table)

    def flush(self) -> None:
        tables = self.buffers.pop(self.rel, [])
        if tables:
            table = pa.concat_tables(tables).sort_by(SOURCE_ORDER)
            first = (table["source_path"][0].as_py(), table["source_record"][0].as_py())
            if self.last is None or first < self.last:
                self.runs.append(self.batches)
            self.last = (table["source_path"][-1].as_py(), table["source_record"][-1].as_py())
            if self.rel not in self.writers:
                self.writers[self.rel] = self.work.part_writer(self.rel, self.schema)
            self.writers[self.rel].write_table(table, max_chunksize=MERGE_ROWS)
            self.batches += -(-len(table) // MERGE_ROWS)
        self.buffered = self.buffered_bytes = 0

    def close(self) -> dict[str, int]:
        """The part (its key: the unit's, or its merged runs'), with its rejects' bytes."""
        written = super().close()
        if len(self.runs) < 2:
            return written
        merged_rel = self.rel.removesuffix(".arrow") + "-sorted.arrow"
        writer = self.work.part_writer(merged_rel, self.schema)
        bounds = itertools.pairwise([*self.runs, self.batches])
        runs = (self.work.part_batches(self.rel, start, stop) for start, stop in bounds)
        for table in merged(runs):
            writer.write_table(table, max_chunksize=MERGE_ROWS)
        writer.close()
        self.work.remove(self.rel)
        return {merged_rel: written[self.rel]}

    def discard(self) -> None:
        super().discard()
        self.batches, self.runs, self.last = 0, [], None


def partitions(table: pa.Table) -> tuple[pa.Table, list[tuple[str, int, int]]]:
    """The rows grouped by language/month (a stable sort: one take, not a filter per partition),
    and each partition's folder with its (start, stop) in the grouped table, in order of first
    appearance."""
    month = pc.fill_null(pc.utf8_slice_codeunits(table["date"], 0, 7), "")
    key = pc.binary_join_element_wise(table["language"], month, "/")
    codes = pc.dictionary_encode(pa.chunked_array([key]).combine_chunks()).indices.to_numpy()
    grouped = table.take(pa.array(np.argsort(codes, kind="stable")))
    spans, start = [], 0
    for count in np.bincount(codes).tolist():
        language, date = grouped["language"][start].as_py(), grouped["date"][start].as_py()
        spans.append((partition_dir(language, date), start, start + count))
        start += count
    return grouped, spans


@dataclass(frozen=True, slots=True)
class Spilled:
    """What a unit wrote: part files holding rows (with their rows' bytes in memory), the part
    file of its rejects, and the file of its rows' key rows."""

    parts: dict[str, int]
    rejects: str | None
    keys: KeyFile | None


class Sinks:
    """Where one unit's rows (per partition), their key rows, and its rejects go."""

    def __init__(self, work: Storage, name: str, buckets: int, settings: BuildSection):
        self.name = name  # of the unit's files: its cache key, or its number when it has none
        self.rows = Spill(work, arrow_schema())
        self.rejects = RejectSpill(work, f"rejects/{name}.arrow")
        self.keys = key_writer(work, name, buckets, settings)

    def add(self, batch: Batch) -> None:
        for rejects in batch.rejects:
            self.rejects.add_rejects(rejects)
        if not batch.table.num_rows:
            return
        grouped, spans = partitions(batch.table)
        rows, numbers, parts = published(grouped), [], []
        for partition, start, stop in spans:
            parts.append(f"parts/{partition}/{self.name}.arrow")
            first = self.rows.add(parts[-1], rows.slice(start, stop - start))
            numbers.append(np.arange(first, first + stop - start, dtype=np.int64))
        which = np.repeat(np.arange(len(parts)), [stop - start for _, start, stop in spans])
        keys = grouped.select(KEY_COLUMNS)
        keys = keys.append_column("_part", pa.array(parts, pa.string()).take(pa.array(which)))
        keys = keys.append_column("_row", pa.array(np.concatenate(numbers)))
        self.keys.write(keys)

    def discard(self) -> None:
        self.rows.discard()
        self.rejects.discard()
        self.keys.discard()

    def close(self) -> Spilled:
        return Spilled(self.rows.close(), next(iter(self.rejects.close()), None), self.keys.close())
