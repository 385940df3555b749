"""Saved web pages (.html, .htm, compressed too): one page per file, for the `web_page` step.

The bytes go on undecoded: the page's charset is read from the page itself (builder.web.charset).
"""

from __future__ import annotations

from collections.abc import Iterator

from builder.inputs.discover import Source
from builder.inputs.files import InputFile
from builder.readers.base import WEB_PAGE_COST, WholeFileReader, after_records
from builder.records import RawRecord, Skipped, WebPage


class HtmlReader(WholeFileReader):
    """A page read whole, up to build.max_record_bytes."""

    rows = "web_page"
    cost = WEB_PAGE_COST

    def pieces(self, source: Source, raw: InputFile) -> Iterator[RawRecord | Skipped]:
        whole = self.read(source, raw)
        yield RawRecord(source.rel, 1, whole.sha256, WebPage(whole.data), len(whole.data))
        after_records(whole)
