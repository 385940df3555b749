"""The row makers, by name: each reader names the one that makes rows of its records."""

from __future__ import annotations

from builder.rows.base import RowMaker
from builder.rows.crawler_fields import CrawlerFields
from builder.rows.seed_text import SeedText
from builder.rows.web_page import WebPageFields

ROW_MAKERS: dict[str, type[RowMaker]] = {
    cls.name: cls for cls in (SeedText, CrawlerFields, WebPageFields)
}

__all__ = ["ROW_MAKERS", "RowMaker"]
