"""Takedowns: the first stage keeps out every article `build.remove` lists (`builder.rules.removals`).

It reads the key rows the workers write for every row whatever the list (id, text hash,
domain), so the list is applied here only: a changed list recomputes no work unit, and its
result always follows the current list. A matching record is a reject with reason `removed`,
whose detail names the entries that matched it, and without an excerpt: nothing of its text
stays in the release. Running first, it removes every record at a listed URL or with a listed
text, before the other stages choose which copy to keep.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from builder.config import BuildSection
from builder.outcomes import DUPLICATE_SCHEMA, REJECT_SCHEMA, RejectReason
from builder.rules.removals import Removals
from builder.stages.base import Decision, Stage
from builder.storage import Storage

DETAIL = "listed in build.remove: "  # then the entries that matched, separated by spaces


class Remove(Stage):
    """Records an entry of the takedown list names: left out, as rejects `removed`."""

    name = "remove"
    key = "id"  # as same_id's: the key files are bucketed alike with the list or without it
    columns = ("text_sha256", "domain")

    def __init__(self, removals: Removals | None = None):
        self.removals = removals

    def configured(self, settings: BuildSection | None) -> Remove | None:
        removals = settings.remove if settings is not None else None
        return Remove(removals) if removals is not None and removals.entries else None

    def decide(self, keys: pa.Table, work: Storage) -> Decision:
        assert self.removals is not None  # a configured stage has its list
        removals = self.removals
        ids = pa.array(removals.listed("id"), pa.string())
        hashes = pa.array(removals.listed("text_sha256"), pa.string())
        domains = pc.unique(keys["domain"].combine_chunks()).drop_null().to_pylist()
        named = pa.array(list(removals.domains(domains)), pa.string())
        hit = pc.or_(
            pc.or_(
                pc.is_in(keys["id"], value_set=ids), pc.is_in(keys["text_sha256"], value_set=hashes)
            ),
            pc.is_in(keys["domain"], value_set=named),
        )
        hit = pc.fill_null(hit, False)
        gone, kept = keys.filter(hit), keys.filter(pc.invert(hit))
        entries = removals.matches(
            gone["id"].to_pylist(), gone["text_sha256"].to_pylist(), gone["domain"].to_pylist()
        )
        rejects = pa.table(
            {
                "source_path": gone["source_path"],
                "source_record": gone["source_record"],
                "reason": pa.array([RejectReason.REMOVED.value] * len(gone), pa.string()),
                "detail": pa.array([DETAIL + " ".join(e) for e in entries], pa.string()),
                "excerpt": pa.array([""] * len(gone), pa.string()),
                "domain": gone["domain"],
            },
            schema=REJECT_SCHEMA,
        )
        return Decision(
            kept, DUPLICATE_SCHEMA.empty_table(), rejects, gone.select(["_part", "_row"])
        )


def matched(details: Iterable[str | None]) -> set[str]:
    """The entries named by the details of `removed` rejects."""
    return {
        entry
        for detail in details
        if detail and detail.startswith(DETAIL)
        for entry in detail.removeprefix(DETAIL).split()
    }


def blank_listed_excerpts(removals: Removals | None, rejects: pa.Table) -> pa.Table:
    """The rejects, with no excerpt for a record of a domain the takedown list names (a reject
    made before the stages, too short say): a removed publisher's text stays out of the release.
    Rejects carry no id or URL: an entry of those kinds reaches only the records it removes."""
    if removals is None or not removals.listed("domain") or not len(rejects):
        return rejects
    domains = pc.unique(rejects["domain"].combine_chunks()).drop_null().to_pylist()
    named = pa.array(list(removals.domains(domains)), pa.string())
    listed = pc.fill_null(pc.is_in(rejects["domain"], value_set=named), False)
    excerpts = pc.if_else(listed, pa.scalar("", pa.string()), rejects["excerpt"])
    at = rejects.schema.get_field_index("excerpt")
    return rejects.set_column(at, rejects.schema.field(at), excerpts)  # its field: not null
