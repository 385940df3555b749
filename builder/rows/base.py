"""Row makers: a reader's raw records to rows of the working schema, one row per record.

Each reader names the row maker for its records (`Reader.rows`): `seed_text` reads the seed's
plain-text format, `crawler_fields` maps crawler JSON records, `web_page` extracts an article
from a web page. A record that cannot be a row is a reject naming why; the steps run after.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from ftfy.fixes import fix_surrogates

from builder.batch import Batch, RawBatch, reject_table, with_columns
from builder.outcomes import RejectError
from builder.records import RawRecord
from builder.text.re2 import to_re2
from builder.transform import Transform
from schema.working import working_table

# Columns whose lone UTF-16 surrogates (from a JSON '\\ud800') become U+FFFD, as normalization's
# ftfy does, or that later steps parse and replace; any other column that holds one makes the row
# invalid, which Validate reports (after the steps that could reject it for another reason).
_REPAIRED = ("text", "title", "authors", "raw_date", "declared_language")
_SURROGATE = re.compile("[\\ud800-\\udfff]")


class RowMaker(Transform[RawBatch]):
    """Makes one row per raw record with `row`; a RejectError from it rejects that record."""

    columns: ClassVar[tuple[str, ...]]

    def row(self, record: RawRecord) -> dict[str, Any]:
        raise NotImplementedError

    def finish(self, table: pa.Table) -> pa.Table:
        """Work on whole columns of the rows made: in Arrow it costs less than per row."""
        return table

    def domain(self, record: RawRecord) -> str | None:
        """The domain of a record rejected here, where its payload says (for per-domain counts)."""
        return None

    def process(self, batch: RawBatch) -> Batch:
        names = ("source_path", "source_record", "source_sha256", *self.columns)
        values: dict[str, list] = {name: [] for name in names}
        rejects = []
        for record in batch.records:
            try:
                row = self.row(record)
            except RejectError as exc:
                where = (record.source_path, record.source_record)
                rejects.append(exc.reject(*where, self.domain(record)))
                continue
            values["source_path"].append(record.source_path)
            values["source_record"].append(record.source_record)
            values["source_sha256"].append(record.source_sha256)
            for name in self.columns:
                values[name].append(row.get(name))
        table = self.finish(_storable(values, len(values["source_path"])))
        return Batch(table, [reject_table(rejects)] if rejects else [])


def _storable(values: dict[str, list], rows: int) -> pa.Table:
    """The working table of these columns; strings Arrow cannot hold (lone surrogates) are
    repaired, and flagged in `unstorable` where the column is not one of _REPAIRED."""
    try:
        return working_table(values, rows)
    except UnicodeEncodeError:
        pass
    unstorable: list[str | None] = [None] * rows
    for name, column in values.items():
        for i, value in enumerate(column):
            items = value if isinstance(value, list) else [value]
            found = [m for v in items if isinstance(v, str) for m in [_SURROGATE.search(v)] if m]
            if not found:
                continue
            if name not in _REPAIRED and unstorable[i] is None:
                unstorable[i] = (
                    f"{name}: holds a lone UTF-16 surrogate ({found[0].group()!r}), which is "
                    "not a character; fix the escapes in the source"
                )
            fixed = [fix_surrogates(v) if isinstance(v, str) else v for v in items]
            column[i] = fixed if isinstance(value, list) else fixed[0]
    return working_table(values | {"unstorable": unstorable}, rows)


# Crawlers end each paragraph with one line break; the schema separates paragraphs by a blank line.
_LINE_BREAKS = re.compile(r"(?:\r\n|\r|\n)+")


def line_paragraphs(table: pa.Table) -> pa.Table:
    """Each run of line breaks in the text becomes a paragraph break ("\\n\\n"), for sources
    that end each paragraph with one line break (crawlers, trafilatura)."""
    if table.num_rows == 0:
        return table
    text = table["text"].combine_chunks()
    return with_columns(table, text=pc.replace_substring_regex(text, _line_breaks_re2(), "\n\n"))


@cache
def _line_breaks_re2() -> str:
    return to_re2(_LINE_BREAKS)
