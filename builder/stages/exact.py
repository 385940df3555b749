"""Exact deduplication, as two stages, ids first.

Records with a different text but the id of another record (the same URL) are not duplicates:
the first in (source_path, source_record) order keeps the id, the others are rejected as
`id_conflict` (`same_id`). Then, of the records sharing a normalized text, the first in that
order is kept, and the others are duplicates naming it (`same_text`). Ids first, so that no
duplicate names an article rejected afterwards: a copy of a rejected text is judged among the
records that are left, and kept when it is the first of them. The choices never depend on
worker count or buckets.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from builder.outcomes import DUPLICATE_SCHEMA, REJECT_SCHEMA, DuplicateReason, RejectReason, excerpt
from builder.stages.base import Decision, Stage, first_of
from builder.storage import Storage


class SameText(Stage):
    """Equal normalized texts (by their sha256): the first copy is kept."""

    name = "same_text"
    key = "text_sha256"
    columns = ("id",)

    def decide(self, keys: pa.Table, work: Storage) -> Decision:
        first = first_of(keys[self.key])
        kept, copies = keys.filter(first), keys.filter(~first)
        kept_id = pc.take(kept["id"], pc.index_in(copies[self.key], kept[self.key]))
        duplicates = pa.table(
            {
                "source_path": copies["source_path"],
                "source_record": copies["source_record"],
                "reason": pa.array([DuplicateReason.SAME_TEXT.value] * len(copies), pa.string()),
                "duplicate_of": kept_id,
                "similarity": pa.nulls(len(copies), pa.float64()),
            },
            schema=DUPLICATE_SCHEMA,
        )
        return Decision(
            kept, duplicates, REJECT_SCHEMA.empty_table(), copies.select(["_part", "_row"])
        )


class SameId(Stage):
    """A different text under the id of an earlier record: rejected, since an id names one
    article. Records with the first one's id and text go on: they are exact copies."""

    name = "same_id"
    key = "id"
    columns = ("text_sha256", "domain")  # the domain: of its rejects, for per-domain counts

    def decide(self, keys: pa.Table, work: Storage) -> Decision:
        first = first_of(keys[self.key])
        owners = keys.filter(first)
        owner_text = pc.take(owners["text_sha256"], pc.index_in(keys[self.key], owners[self.key]))
        conflict = pc.not_equal(keys["text_sha256"], owner_text)
        kept, conflicts = keys.filter(pc.invert(conflict)), keys.filter(conflict)
        where = pc.take(
            pc.binary_join_element_wise(
                owners["source_path"], owners["source_record"].cast(pa.string()), "#"
            ),
            pc.index_in(conflicts[self.key], owners[self.key]),
        )
        detail = [
            f"same id {i} (same URL) as {w}, with a different text"
            for i, w in zip(conflicts[self.key].to_pylist(), where.to_pylist(), strict=True)
        ]
        rejects = pa.table(
            {
                "source_path": conflicts["source_path"],
                "source_record": conflicts["source_record"],
                "reason": pa.array([RejectReason.ID_CONFLICT.value] * len(conflicts), pa.string()),
                "detail": pa.array(detail, pa.string()),
                "excerpt": pa.array(_excerpts(work, conflicts), pa.string()),
                "domain": conflicts["domain"],
            },
            schema=REJECT_SCHEMA,
        )
        return Decision(
            kept, DUPLICATE_SCHEMA.empty_table(), rejects, conflicts.select(["_part", "_row"])
        )


def _excerpts(work: Storage, rows: pa.Table) -> list[str]:
    """Excerpts of the given rows' texts: each part is read once, up to its last wanted row."""
    positions = rows["_row"].to_numpy()
    by_part: dict[str, list[int]] = defaultdict(list)
    for index, part in enumerate(rows["_part"].to_pylist()):
        by_part[part].append(index)
    out = [""] * len(rows)
    for part, indices in sorted(by_part.items()):
        wanted = np.array(indices)
        texts = texts_at(work, part, positions[wanted])
        for index, text in zip(wanted, texts, strict=True):
            out[index] = excerpt(text)
    return out


def texts_at(work: Storage, part: str, positions: np.ndarray) -> list[str]:
    """The `text` values at the given row positions of one part file, in the order given."""
    order = np.argsort(positions, kind="stable")
    ascending = positions[order]
    out: list[str] = [""] * len(positions)
    done = offset = 0
    for batch in work.part_batches(part):
        end = offset + batch.num_rows
        upto = int(np.searchsorted(ascending, end))
        if upto > done:
            taken = batch.column("text").take(pa.array(ascending[done:upto] - offset))
            for index, text in zip(order[done:upto].tolist(), taken.to_pylist(), strict=True):
                out[index] = text
        done, offset = upto, end
        if done == len(positions):
            break
    return out
