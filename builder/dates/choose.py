"""The publication date of a web page: every candidate gathered, the most reliable one chosen.

Sources in order of reliability: JSON-LD, meta tags, microdata, <time> elements, the visible
text near the headline, the page's description where it says "published on", the URL (used
only when nothing better exists). Candidates before 1990 or after `latest` (the fetch time or
the build day) are dropped, and the next one is used.

Two refinements, each taking another candidate only when it agrees with the chosen one:
- Precision: when the chosen date is less precise (2021-02 from a meta tag) and more precise
  candidates agree with it (2021-02-17 from the URL), the more precise one is taken, provided
  they all give that same date; if they disagree the chosen date stays as it is.
- Local day: a time written in UTC (Z, +00:00) does not say the publisher's day; when another
  candidate gives the same instant with its own offset, that local date and time are taken.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from lxml import etree

from builder.dates.found import DateFound
from builder.dates.html import (
    described_dates,
    json_ld_dates,
    meta_dates,
    microdata_dates,
    time_dates,
    visible_text_dates,
)
from builder.dates.parse import is_after
from builder.dates.url import url_date
from schema import DatePrecision, DateSource

__all__ = ["DateFound", "page_date"]

EARLIEST = "1990"  # the web is younger: an earlier date on a page is not its publication date
UTC = "+00:00"


class Page(NamedTuple):
    """What the sources read: the parsed page, its address, and its headline when known."""

    tree: etree._Element
    url: str | None
    headline: etree._Element | None


def _url_dates(page: Page) -> Iterator[DateFound]:
    stamp = url_date(page.url)
    if stamp is not None:
        yield DateFound.of(stamp, DateSource.URL)


Gatherer = Callable[[Page], Iterator[DateFound]]


def _of_tree(gather: Callable[[etree._Element], Iterator[DateFound]]) -> Gatherer:
    return lambda page: gather(page.tree)


SOURCES: tuple[Gatherer, ...] = (
    _of_tree(json_ld_dates),
    _of_tree(meta_dates),
    _of_tree(microdata_dates),
    _of_tree(time_dates),
    lambda page: visible_text_dates(page.tree, page.headline),
    _of_tree(described_dates),
    _url_dates,
)  # most reliable first


TIMED = 4  # the first SOURCES that can give a time with its offset; text and URL never do


def _usable(
    sources: Iterable[Gatherer], page: Page, latest: dt.date, late: list[str] | None = None
) -> Iterator[DateFound]:
    """Candidates in order of reliability, without those before 1990 or after `latest` (those
    are noted in `late`, when given)."""
    for gather in sources:
        for found in gather(page):
            if found.date < EARLIEST:
                continue
            if is_after(found.date, latest):
                if late is not None:
                    late.append(found.date)
                continue
            yield found


def _is_utc(found: DateFound) -> bool:
    return found.date_time is not None and found.date_time.endswith(UTC)


def _local(best: DateFound, others: Iterable[DateFound]) -> DateFound:
    """The candidate giving `best`'s UTC instant with its own offset, or `best`."""
    instant = dt.datetime.fromisoformat(best.date_time or "")
    local = (f for f in others if f.date_time and not _is_utc(f))
    return next((f for f in local if dt.datetime.fromisoformat(f.date_time or "") == instant), best)


def _finer(best: DateFound, others: Iterable[DateFound]) -> DateFound:
    """The single more precise date that agrees with `best`, or `best` when there is none or
    the more precise candidates disagree."""
    finer = [f for f in others if len(f.date) > len(best.date) and f.date.startswith(best.date)]
    if not finer or len({f.date[:7] for f in finer}) > 1:
        return best
    days = [f for f in finer if f.precision == DatePrecision.DAY]
    if len({f.date for f in days}) > 1:
        return best
    return days[0] if days else finer[0]


def page_date(
    tree: etree._Element,
    url: str | None,
    latest: dt.date,
    headline: etree._Element | None = None,
    late: list[str] | None = None,
) -> DateFound | None:
    """The most reliable publication date of the page, at its source's precision, or None.
    `headline` is the element printing the page's title (`builder.web.titles`), when found;
    candidates dropped for being after `latest` are noted in `late`, when given."""
    page = Page(tree, url, headline)
    for index, gather in enumerate(SOURCES):
        best = next(_usable([gather], page, latest, late), None)
        if best is None:
            continue
        if best.precision != DatePrecision.DAY:
            return _finer(best, _usable(SOURCES[index:], page, latest, late))
        if _is_utc(best):
            return _local(best, _usable(SOURCES[index:TIMED], page, latest, late))
        return best
    return None
