"""The `dates` step: parse the date a text's header or a record's field wrote (`raw_date`).

Rows without a raw date keep what their row maker found (a web page's date, chosen by
`builder.dates.page_date`, with its precision, source and time), untouched.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from builder.batch import Batch, Verdicts, with_columns
from builder.dates import judge_date
from builder.outcomes import RejectReason
from builder.steps.base import Step


class ParseDate(Step):
    """Parse the raw date; reject impossible dates and dates after `today` (the build day, UTC).

    Each distinct raw value is judged once per batch: a feed repeats the same dates many times.
    """

    name = "dates"
    provides = ("date", "date_precision", "date_time")  # from raw_date, where there is one

    def process(self, batch: Batch) -> Batch:
        table = batch.table
        raw = table["raw_date"].combine_chunks()
        distinct = pc.unique(raw).drop_null()
        verdicts = [judge_date(value, self.context.today) for value in distinct.to_pylist()]
        which = pc.index_in(raw, distinct)
        slots = pc.fill_null(which, -1).to_numpy(zero_copy_only=False)
        rejected = Verdicts(table.num_rows)
        for slot, verdict in enumerate(verdicts):
            if verdict.failure is not None:
                rejected.reject(slots == slot, *verdict.failure)
                if verdict.failure[0] == RejectReason.FUTURE_DATE:
                    self.context.day.note()  # on a later day this row may be kept
        stamps = [v.stamp for v in verdicts]
        parsed = {
            name: pc.take(pa.array([s and s[i] for s in stamps], pa.string()), which)
            for i, name in enumerate(("date", "date_precision", "date_time"))
        }
        has_raw = pc.is_valid(raw)
        table = with_columns(
            table,
            **{
                name: pc.if_else(has_raw, values, table[name].combine_chunks())
                for name, values in parsed.items()
            },
        )
        return rejected.apply(table)
