"""The working schema: the published fields plus internal columns that steps fill and read.

Internal columns are declared here and nowhere else, and never published: the shard writer
selects `arrow_schema()`. Publishing one is a change to `Article` only: a model field of the
same name takes the internal column's place.
"""

from __future__ import annotations

from functools import cache

import pyarrow as pa

from schema.derive import arrow_schema

INTERNAL = pa.schema(
    [
        pa.field(
            "raw_date",
            pa.string(),
            metadata={"description": "The date as the source wrote it; `date` is parsed from it."},
        ),
        pa.field(
            "declared_language",
            pa.string(),
            metadata={"description": "The language the source declared, as written."},
        ),
        pa.field(
            "unstorable",
            pa.string(),
            metadata={"description": "Why a field cannot be stored as UTF-8; Validate rejects it."},
        ),
    ]
)


@cache
def working_schema() -> pa.Schema:
    """Published fields (nullable until validation fills them) then the unpublished internal ones."""
    published = arrow_schema()
    fields = [f.with_nullable(True) for f in published]
    fields += [f for f in INTERNAL if f.name not in published.names]
    return pa.schema(fields)


def working_table(columns: dict[str, list | pa.Array], rows: int) -> pa.Table:
    """A table in the working schema from the given columns; the others are null."""
    schema = working_schema()
    arrays = []
    for f in schema:
        values = columns.get(f.name)
        if values is None:
            arrays.append(pa.nulls(rows, f.type))
        elif isinstance(values, pa.Array | pa.ChunkedArray):
            arrays.append(values.cast(f.type))
        else:
            arrays.append(pa.array(values, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def published(table: pa.Table) -> pa.Table:
    """The published columns of a working table, with the published nullability."""
    return table.select(arrow_schema().names).cast(arrow_schema())
