"""accounting/rejects.parquet in bounded memory, whatever the number of rejects.

Rejects come as runs, each sorted by source (`SOURCE_ORDER`): every work unit's part (which
`builder.reading.sinks` writes sorted), the files rejected whole, the stages' rejects. They are
merged, and written as they come, a row group at a time. The file is the one that sorting all the
rejects at once gave, byte for byte: the same order (the merge is stable: ties keep the order of
the runs, as a stable sort keeps the order of their concatenation) and the same row groups (cut
greedily at MAX_ROW_GROUP_BYTES of rows, as `write_table` cuts a table). The writer holds one row
group, the merge a batch of MERGE_ROWS rows per run and at most MAX_RUNS runs: more runs are
merged in rounds, through spill files.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from builder.outcomes import REJECT_SCHEMA, SOURCE_ORDER
from builder.storage import WORK_FILE_OPTIONS
from builder.writers.parquet import MAX_ROW_GROUP_BYTES, open_writer, row_sizes

MERGE_ROWS = 4096  # rows of a run read (and written to spills and parts) at once
MAX_RUNS = 64  # runs merged at once

Run = Callable[[], Iterator[pa.RecordBatch]]  # a sorted run, read from its start when called
_Key = tuple[str, int]


def merged(runs: Iterable[Iterator[pa.RecordBatch]]) -> Iterator[pa.Table]:
    """The rows of `runs`, each sorted by SOURCE_ORDER, as one sorted stream of tables; rows
    with the same key come in the order of their runs.

    Each step takes the run whose batch ends lowest (the first such run on a tie) and emits its
    batch with every row of the other runs that must come before its last row: rows below it,
    and rows equal to it from earlier runs. Rows left are all above it, or equal to it in later
    runs, so the steps' outputs follow one another in order.
    """
    sources = [iter(run) for run in runs]
    heads: dict[int, pa.Table] = {}
    for i, source in enumerate(sources):
        _advance(heads, i, source)
    while heads:
        first = min(heads, key=lambda i: (_last_key(heads[i]), i))
        key = _last_key(heads[first])
        pieces = []
        for i in sorted(heads):
            head = heads[i]
            count = len(head) if i == first else _count_before(head, key, inclusive=i < first)
            if not count:
                continue
            pieces.append(head.slice(0, count))
            if count < len(head):
                heads[i] = head.slice(count)
            else:
                _advance(heads, i, sources[i])
        yield pa.concat_tables(pieces).sort_by(SOURCE_ORDER) if len(pieces) > 1 else pieces[0]


def _advance(heads: dict[int, pa.Table], i: int, source: Iterator[pa.RecordBatch]) -> None:
    """The next non-empty batch of run `i` as its head, or the run dropped at its end."""
    for batch in source:
        if len(batch):
            heads[i] = pa.Table.from_batches([batch])
            return
    heads.pop(i, None)


def _last_key(table: pa.Table) -> _Key:
    return table["source_path"][-1].as_py(), table["source_record"][-1].as_py()


def _count_before(table: pa.Table, key: _Key, inclusive: bool) -> int:
    """How many rows of the sorted `table` are below `key` (or at most `key`)."""
    path, record = table["source_path"], table["source_record"]
    at = pc.equal(path, key[0])
    below = pc.less_equal(record, key[1]) if inclusive else pc.less(record, key[1])
    return pc.sum(pc.or_(pc.less(path, key[0]), pc.and_(at, below))).as_py() or 0


@dataclass(frozen=True, slots=True)
class RejectsFile:
    """What was written: its rows, and their reasons counted from the file itself."""

    rows: int
    reasons: Counter


def write_rejects(
    runs: list[Run], path: Path, rewrite: Callable[[pa.Table], pa.Table] | None = None
) -> RejectsFile:
    """Merge the sorted runs into the Parquet file at `path` (spills go next to it); `rewrite`,
    if given, changes the merged rows' values on the way (never their number or order)."""
    with (
        tempfile.TemporaryDirectory(dir=path.parent, prefix="sort-rejects-") as spill_dir,
        _RowGroups(path, MAX_ROW_GROUP_BYTES) as writer,
    ):
        for table in merged(run() for run in _at_most(runs, MAX_RUNS, Path(spill_dir))):
            writer.add(table if rewrite is None else rewrite(table))
    reasons: Counter = Counter()
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(columns=["reason"]):
        reasons.update(dict(zip(*_value_counts(batch.column(0)), strict=True)))
    return RejectsFile(parquet.metadata.num_rows, reasons)


def _value_counts(column: pa.Array) -> tuple[list[str], list[int]]:
    counts = pc.value_counts(column)
    return counts.field("values").to_pylist(), counts.field("counts").to_pylist()


def _at_most(runs: list[Run], fan_in: int, spill_dir: Path) -> list[Run]:
    """The runs, merged in rounds of `fan_in` consecutive runs (their order kept) into spill
    files until at most `fan_in` are left."""
    round_ = 0
    while len(runs) > fan_in:
        spilled = []
        for j in range(0, len(runs), fan_in):
            spill = spill_dir / f"{round_:02d}-{j // fan_in:06d}.arrows"
            with ipc.new_stream(str(spill), REJECT_SCHEMA, options=WORK_FILE_OPTIONS) as out:
                for table in merged(run() for run in runs[j : j + fan_in]):
                    out.write_table(table, max_chunksize=MERGE_ROWS)
            spilled.append(_spill_run(spill))
        runs, round_ = spilled, round_ + 1
    return runs


def _spill_run(path: Path) -> Run:
    def read() -> Iterator[pa.RecordBatch]:
        with ipc.open_stream(pa.OSFile(str(path))) as reader:
            yield from reader

    return read


def table_run(table: pa.Table) -> Run:
    """A table in REJECT_SCHEMA as a sorted run (sorted here, stably)."""
    return lambda: iter(table.sort_by(SOURCE_ORDER).to_batches(max_chunksize=MERGE_ROWS))


class _RowGroups:
    """Rejects written with the release's settings (`open_writer`), their row groups cut as
    `builder.writers.parquet.cuts` cuts a whole table: greedily, at most `limit` bytes of rows
    each (`row_sizes`), and at least one row. Holds one row group."""

    def __init__(self, path: Path, limit: int):
        self.writer = open_writer(path, REJECT_SCHEMA)
        self.limit = limit
        self.group: list[pa.Table] = []
        self.group_bytes = 0

    def __enter__(self) -> _RowGroups:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self._close_group()
        finally:
            self.writer.close()

    def add(self, table: pa.Table) -> None:
        start = 0
        for row, size in enumerate(row_sizes(table).tolist()):
            if self.group_bytes + size > self.limit and (self.group or row > start):
                self._keep(table.slice(start, row - start))
                self._close_group()
                start = row
            self.group_bytes += size
        self._keep(table.slice(start))

    def _keep(self, rows: pa.Table) -> None:
        if len(rows):
            self.group.append(rows)

    def _close_group(self) -> None:
        """Write the row group as one chunk, as `write_table` writes a slice of one sorted
        table: the Parquet writer pages a table in chunks differently."""
        group, self.group, self.group_bytes = self.group, [], 0
        if group:
            table = pa.concat_tables(group).combine_chunks()
            del group  # the pieces go before the writer's own buffers come
            self.writer.write_table(table, row_group_size=len(table))
