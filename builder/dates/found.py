"""A date found on a page, with its precision and the source it came from."""

from __future__ import annotations

from dataclasses import dataclass

from builder.dates.parse import Stamp
from schema import DatePrecision, DateSource


@dataclass(frozen=True, slots=True)
class DateFound:
    """One candidate (or the chosen) publication date, never more precise than its source."""

    date: str  # 'YYYY' | 'YYYY-MM' | 'YYYY-MM-DD'
    precision: DatePrecision
    source: DateSource
    date_time: str | None = None  # 'YYYY-MM-DDTHH:MM:SS+HH:MM', only when the source gave an offset

    @classmethod
    def of(cls, stamp: Stamp, source: DateSource) -> DateFound:
        return cls(stamp.date, stamp.precision, source, stamp.date_time)
