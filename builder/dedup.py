"""Exact deduplication across the whole input, decided once, before any shard is written.

Of the records sharing a normalized text (or an id), the one that comes first in
(source_path, source_record) order is kept, so the choice does not depend on worker count.
The others are duplicates, recorded with the id of the article they duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from builder.records import DuplicateReason

KEY_COLUMNS = ["id", "text_sha256", "source_path", "source_record"]
DUPLICATE_SCHEMA = pa.schema(
    [
        pa.field("source_path", pa.string(), nullable=False),
        pa.field("source_record", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string(), nullable=False),
    ]
)


@dataclass
class DedupPlan:
    dropped: dict[str, np.ndarray]  # part file -> sorted row numbers to leave out
    duplicates: pa.Table  # DUPLICATE_SCHEMA, sorted by (source_path, source_record)


def _first_of(keys: pa.Array) -> np.ndarray:
    """Boolean mask: True where the key appears for the first time (keys already in keep order)."""
    _, first = np.unique(keys.to_numpy(zero_copy_only=False), return_index=True)
    mask = np.zeros(len(keys), dtype=bool)
    mask[first] = True
    return mask


def plan_dedup(work_dir: Path, parts: list[str]) -> DedupPlan:
    """Read only the key columns of every part and decide which rows are duplicates."""
    tables = []
    for number, part in enumerate(parts):
        t = pq.read_table(work_dir / part, columns=KEY_COLUMNS)
        tables.append(
            t.append_column("_part", pa.repeat(number, len(t))).append_column(
                "_row", pa.array(np.arange(len(t)))
            )
        )
    if not tables:
        return DedupPlan({}, DUPLICATE_SCHEMA.empty_table())
    keys = pa.concat_tables(tables).sort_by(
        [("source_path", "ascending"), ("source_record", "ascending")]
    )

    same_text = ~_first_of(keys["text_sha256"])
    kept_id_by_text = dict(
        zip(
            keys.filter(~same_text)["text_sha256"].to_pylist(),
            keys.filter(~same_text)["id"].to_pylist(),
            strict=True,
        )
    )
    survivors = keys.filter(~same_text)
    same_id = ~_first_of(survivors["id"])

    text_dups = keys.filter(same_text)
    id_dups = survivors.filter(same_id)
    duplicates = pa.concat_tables(
        [
            _duplicate_rows(
                text_dups,
                DuplicateReason.SAME_TEXT,
                [kept_id_by_text[h] for h in text_dups["text_sha256"].to_pylist()],
            ),
            _duplicate_rows(id_dups, DuplicateReason.SAME_ID, id_dups["id"].to_pylist()),
        ]
    ).sort_by([("source_path", "ascending"), ("source_record", "ascending")])

    dropped_rows = pa.concat_tables(
        [text_dups.select(["_part", "_row"]), id_dups.select(["_part", "_row"])]
    )
    dropped: dict[str, np.ndarray] = {}
    for number in pc.unique(dropped_rows["_part"]).to_pylist():
        rows = dropped_rows.filter(pc.equal(dropped_rows["_part"], number))["_row"].to_numpy()
        dropped[parts[number]] = np.sort(rows)
    return DedupPlan(dropped, duplicates)


def _duplicate_rows(rows: pa.Table, reason: DuplicateReason, duplicate_of: list[str]) -> pa.Table:
    return pa.table(
        {
            "source_path": rows["source_path"],
            "source_record": rows["source_record"],
            "reason": pa.repeat(reason.value, len(rows)).cast(pa.string()),
            "duplicate_of": pa.array(duplicate_of, pa.string()),
        },
        schema=DUPLICATE_SCHEMA,
    )
