"""The `web_page` row maker: a web page (saved HTML, or a WARC response) to an article row.

Extraction (`builder.web.extract`) gives the body, the headline and its source, authors,
canonical URL, site name and the declared language; the date comes from `builder.dates`, already checked against the fetch
and build days, so the `dates` step leaves these rows' dates as they are.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from builder.outcomes import domain_of
from builder.records import RawRecord, WebPage
from builder.rows.base import RowMaker, line_paragraphs


class WebPageFields(RowMaker):
    """One row per page with an article; a page that is not one is a reject naming why."""

    name = "web_page"
    columns = (
        "text",
        "title",
        "title_source",
        "date",
        "date_precision",
        "date_source",
        "date_time",
        "declared_language",
        "url",
        "canonical_url",
        "site_name",
        "authors",
    )

    def row(self, record: RawRecord) -> dict[str, Any]:
        # imported here: trafilatura and its dependencies take about 6 MB in every process, and only
        # builds with web pages need them
        from builder.web.extract import extract_page

        page: WebPage = record.payload
        settings = self.context.settings
        found = extract_page(page, self.context.today, settings.extraction_timeout)
        self.counters.counts.update(found.notes)
        if found.day_dependent:
            self.context.day.note()
        date = found.date
        return {
            "text": found.text,
            "title": found.title,
            "title_source": found.title_source,
            "date": date and date.date,
            "date_precision": date and date.precision,
            "date_source": date and date.source,
            "date_time": date and date.date_time,
            "declared_language": found.language,
            "url": page.url or found.canonical_url,
            "canonical_url": found.canonical_url,
            "site_name": found.site_name,
            "authors": found.authors,
        }

    def finish(self, table: pa.Table) -> pa.Table:
        return line_paragraphs(table)

    def domain(self, record: RawRecord) -> str | None:
        return domain_of(record.payload.url)
