"""One date module for every reader: strict parsing of machine-written values (`parse`), and
the publication date of a web page chosen from all its candidates by reliability (`page_date`)."""

from builder.dates.choose import DateFound, page_date
from builder.dates.parse import (
    DateError,
    Stamp,
    is_after,
    judge_date,
    parse_date,
    parse_stamp,
)

__all__ = [
    "DateError",
    "DateFound",
    "Stamp",
    "is_after",
    "judge_date",
    "page_date",
    "parse_date",
    "parse_stamp",
]
