"""Exact deduplication across the whole input, decided once, before any shard is written.

Of the records sharing a normalized text, the one first in (source_path, source_record)
order is kept, so the choice does not depend on worker count; the others are duplicates,
recorded with the id of the article kept. Records with a different text but the id of a
kept article (the same URL) are not duplicates: they are rejected as `id_conflict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from builder.records import (
    DUPLICATE_SCHEMA,
    REJECT_SCHEMA,
    DuplicateReason,
    RejectReason,
    excerpt,
)

KEY_COLUMNS = ["id", "text_sha256", "source_path", "source_record"]
SOURCE_ORDER = [("source_path", "ascending"), ("source_record", "ascending")]


@dataclass
class DedupPlan:
    dropped: dict[str, np.ndarray]  # part file -> sorted row numbers to leave out
    duplicates: pa.Table  # DUPLICATE_SCHEMA
    conflicts: pa.Table  # REJECT_SCHEMA, reason id_conflict


def _first_of(keys: pa.ChunkedArray) -> np.ndarray:
    """Boolean mask: True where the key appears for the first time (keys already in keep order)."""
    _, first = np.unique(keys.to_numpy(), return_index=True)
    mask = np.zeros(len(keys), dtype=bool)
    mask[first] = True
    return mask


def plan_dedup(work_dir: Path, parts: list[str]) -> DedupPlan:
    """Read only the key columns of every part and decide which rows to leave out, and why."""
    tables = []
    for number, part in enumerate(parts):
        t = pq.read_table(work_dir / part, columns=KEY_COLUMNS)
        t = t.append_column("_part", pa.repeat(number, len(t)).cast(pa.int64()))
        tables.append(t.append_column("_row", pa.array(np.arange(len(t), dtype=np.int64))))
    if not tables:
        return DedupPlan({}, DUPLICATE_SCHEMA.empty_table(), REJECT_SCHEMA.empty_table())
    keys = pa.concat_tables(tables).sort_by(SOURCE_ORDER)

    same_text = _first_of(keys["text_sha256"])
    kept = keys.filter(same_text)
    text_dups = keys.filter(~same_text)
    kept_id = dict(zip(kept["text_sha256"].to_pylist(), kept["id"].to_pylist(), strict=True))
    same_id = _first_of(kept["id"])
    conflicts = kept.filter(~same_id)
    kept_where = {
        i: f"{p}#{r}"
        for i, p, r in zip(
            *(kept.filter(same_id)[c].to_pylist() for c in ("id", "source_path", "source_record")),
            strict=True,
        )
    }

    duplicates = pa.table(
        {
            "source_path": text_dups["source_path"],
            "source_record": text_dups["source_record"],
            "reason": pa.array([DuplicateReason.SAME_TEXT.value] * len(text_dups), pa.string()),
            "duplicate_of": pa.array(
                [kept_id[h] for h in text_dups["text_sha256"].to_pylist()], pa.string()
            ),
        },
        schema=DUPLICATE_SCHEMA,
    )
    conflict_rejects = pa.table(
        {
            "source_path": conflicts["source_path"],
            "source_record": conflicts["source_record"],
            "reason": pa.array([RejectReason.ID_CONFLICT.value] * len(conflicts), pa.string()),
            "detail": pa.array(
                [
                    f"same id {i} (same URL) as {kept_where[i]}, with a different text"
                    for i in conflicts["id"].to_pylist()
                ],
                pa.string(),
            ),
            "excerpt": pa.array(_excerpts(work_dir, parts, conflicts), pa.string()),
        },
        schema=REJECT_SCHEMA,
    )

    left_out = pa.concat_tables(
        [text_dups.select(["_part", "_row"]), conflicts.select(["_part", "_row"])]
    )
    dropped: dict[str, np.ndarray] = {}
    for number in pc.unique(left_out["_part"]).to_pylist():
        rows = left_out.filter(pc.equal(left_out["_part"], number))["_row"].to_numpy()
        dropped[parts[number]] = np.sort(rows)
    return DedupPlan(dropped, duplicates, conflict_rejects)


def _excerpts(work_dir: Path, parts: list[str], rows: pa.Table) -> list[str]:
    """Excerpts of the given rows' texts: each part is opened once, and of its text column only
    the row groups that hold wanted rows are read."""
    numbers, positions = rows["_part"].to_numpy(), rows["_row"].to_numpy()
    out = [""] * len(rows)
    for number in np.unique(numbers):
        wanted = np.flatnonzero(numbers == number)
        texts = _texts_at(work_dir / parts[number], positions[wanted])
        for index, text in zip(wanted, texts, strict=True):
            out[index] = excerpt(text)
    return out


def _texts_at(path: Path, positions: np.ndarray) -> list[str]:
    """The `text` values at the given row positions of one part file, in the order given."""
    part = pq.ParquetFile(path)
    starts = np.cumsum(
        [0] + [part.metadata.row_group(i).num_rows for i in range(part.num_row_groups)]
    )
    groups = np.searchsorted(starts, positions, side="right") - 1
    needed = np.unique(groups)
    texts = part.read_row_groups(needed.tolist(), columns=["text"])["text"]
    # Row position -> position in the concatenation of the needed row groups.
    offsets = np.cumsum([0] + [starts[g + 1] - starts[g] for g in needed])
    local = offsets[np.searchsorted(needed, groups)] + positions - starts[groups]
    return texts.take(pa.array(local)).to_pylist()
