"""What flows through row makers and steps: Arrow batches in the working schema, each carrying the
rejects made on the way (tables in REJECT_SCHEMA), and the helpers steps judge rows with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from builder.outcomes import REJECT_SCHEMA, Reject, RejectReason, excerpt, record_domain
from builder.records import RawRecord


@dataclass(slots=True)
class RawBatch:
    records: list[RawRecord]
    rejects: list[pa.Table] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)


@dataclass(slots=True)
class Batch:
    table: pa.Table  # in the working schema
    rejects: list[pa.Table] = field(default_factory=list)  # in REJECT_SCHEMA

    def __len__(self) -> int:
        return self.table.num_rows


def reject_table(rejects: Iterable[Reject]) -> pa.Table:
    """Reject objects as a table in REJECT_SCHEMA."""
    rows = list(rejects)
    return pa.Table.from_arrays(
        [pa.array([getattr(r, f.name) for r in rows], f.type) for f in REJECT_SCHEMA],
        schema=REJECT_SCHEMA,
    )


class Verdicts:
    """Which rows of a table a step rejects and why; the first reason given to a row wins."""

    def __init__(self, rows: int):
        self.reason = np.full(rows, None, dtype=object)
        self.detail = np.full(rows, None, dtype=object)

    def reject(
        self, mask: np.ndarray | pa.Array, reason: RejectReason, detail: str | Sequence[str]
    ) -> None:
        """Reject the rows where `mask` is true; `detail` is one text or one per masked row."""
        mask = np.asarray(mask, dtype=bool)
        if isinstance(detail, str):
            details = np.full(int(mask.sum()), detail, dtype=object)
        else:
            details = np.asarray(list(detail) + [None], dtype=object)[:-1]  # keep strings whole
        fresh = self.reason[mask] == None  # noqa: E711 (elementwise)
        where = np.flatnonzero(mask)[fresh]
        self.reason[where] = reason.value
        self.detail[where] = details[fresh]

    def reject_row(self, row: int, reason: RejectReason, detail: str) -> None:
        if self.reason[row] is None:
            self.reason[row], self.detail[row] = reason.value, detail

    def apply(self, table: pa.Table) -> Batch:
        """The rows kept, and a reject (with an excerpt of the row's current text, and its
        domain) per row dropped."""
        dropped = self.reason != None  # noqa: E711 (elementwise)
        if not dropped.any():
            return Batch(table)
        gone = table.filter(pa.array(dropped))
        texts = gone["text"].to_pylist()
        domains = zip(gone["domain"].to_pylist(), gone["url"].to_pylist(), strict=True)
        rejects = pa.Table.from_arrays(
            [
                gone["source_path"].cast(pa.string()),
                gone["source_record"].cast(pa.int64()),
                pa.array(self.reason[dropped].tolist(), pa.string()),
                pa.array(self.detail[dropped].tolist(), pa.string()),
                pa.array([excerpt(t or "") for t in texts], pa.string()),
                pa.array([record_domain(d, u) for d, u in domains], pa.string()),
            ],
            schema=REJECT_SCHEMA,
        )
        return Batch(table.filter(pa.array(~dropped)), [rejects])


def with_columns(table: pa.Table, **columns: pa.Array | pa.ChunkedArray) -> pa.Table:
    """The table with these columns replaced, each keeping its field (name, type, metadata)."""
    for name, values in columns.items():
        index = table.schema.get_field_index(name)
        field_ = table.schema.field(name)
        table = table.set_column(index, field_, values.cast(field_.type))
    return table
