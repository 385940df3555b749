"""What the build records besides rows: rejects (why a record was dropped) and duplicates.

Their table schemas are derived from the dataclasses below, the one place their fields are listed.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from schema.article import DatePrecision
from schema.derive import dataclass_schema


class RejectReason(StrEnum):
    UNREADABLE = "unreadable"  # the file cannot be opened (a broken link, no permission)
    UNDECODABLE = "undecodable"  # bytes that are not text in any detectable encoding
    CORRUPT_FILE = "corrupt_file"  # a truncated or damaged .gz/.zst stream
    PARSE_ERROR = "parse_error"  # not valid JSON, or JSON that is not an article object
    NO_TEXT = "no_text"  # nothing left after normalization
    TOO_SHORT = "too_short"  # fewer words than build.min_words
    TOO_LARGE = "too_large"  # over build.max_record_bytes
    BAD_DATE = "bad_date"  # a date that does not parse or does not exist (2021-13)
    FUTURE_DATE = "future_date"  # a date after the build day
    INVALID_RECORD = "invalid_record"  # a field the schema refuses (e.g. an unknown language code)
    ID_CONFLICT = "id_conflict"  # the id (URL) of a kept article, with a different text
    TOO_COMPLEX = "too_complex"  # text whose normalization would cost more than linear time
    EXTRACTION_TIMEOUT = "extraction_timeout"  # a web page over build.extraction_timeout
    NOT_AN_ARTICLE = "not_an_article"  # a listing: front, tag, category or archive page
    REDIRECT_PAGE = "redirect_page"  # an HTTP 3xx response, or a meta refresh to elsewhere
    ERROR_PAGE = "error_page"  # an HTTP 4xx/5xx response, or a short "page not found" body
    STUB_PAGE = "stub_page"  # a consent wall, paywall or "not available in your region" stub
    LOW_QUALITY = "low_quality"  # a quality signal outside a build.quality threshold
    REMOVED = "removed"  # listed in build.remove (a takedown): kept out, without its text


class DuplicateReason(StrEnum):
    SAME_TEXT = "same_text"  # normalized text equal to a kept article's
    NEAR_DUPLICATE = "near_duplicate"  # a near-copy of a kept article (builder.stages.near)


EXCERPT_CHARS = 200


@dataclass(slots=True, frozen=True)
class Reject:
    """A record left out, and why; one row of accounting/rejects.parquet."""

    source_path: str
    source_record: int
    reason: RejectReason
    detail: str
    excerpt: str = ""
    # the publisher's host name, as a row's `domain` would be: the record's own, else its URL's;
    # None when the record says neither (a file that cannot be read, JSON that does not parse)
    domain: str | None = None


@dataclass(slots=True, frozen=True)
class Duplicate:
    """A record equal or near to a kept one; one row of accounting/duplicates.parquet."""

    source_path: str
    source_record: int
    reason: DuplicateReason
    duplicate_of: str  # id of the article kept
    # near_duplicate: the estimated Jaccard similarity of its word n-grams to the kept article's
    # (or, when the two are linked only through others, to the closest article of its cluster)
    similarity: float | None = None


REJECT_SCHEMA = dataclass_schema(Reject)
DUPLICATE_SCHEMA = dataclass_schema(Duplicate)
SOURCE_ORDER = [("source_path", "ascending"), ("source_record", "ascending")]  # of both tables

PRECISIONS = tuple(p.value for p in (DatePrecision.DAY, DatePrecision.MONTH, DatePrecision.YEAR))

# One row of accounting/domains.parquet: what one domain (a row's `domain`; a reject's and a
# duplicate's, as `Reject.domain` says) gave. Every record read counts in exactly one row, so each
# column sums to the build's total. A column per reject and duplicate reason, from the enums.
DomainCounts = dataclasses.make_dataclass(
    "DomainCounts",
    [
        ("domain", str | None),  # None: records that name no domain (no URL, nor a domain field)
        ("records", int),  # articles + rejected + duplicates
        ("articles", int),  # rows in the release
        ("rejected", int),
        *((f"rejected_{reason.value}", int) for reason in RejectReason),
        ("duplicates", int),
        *((f"duplicates_{reason.value}", int) for reason in DuplicateReason),
        *((f"dated_{precision}", int) for precision in PRECISIONS),  # articles dated so
        ("undated", int),  # articles without a date
        ("languages", list[str]),  # of its articles, the most articles first
        # its records that are near-copies of an article kept (near_duplicate duplicates, or with
        # action = "mark" rows whose cluster_id names another article), and the near-copy clusters
        # its records are in (a cluster is named by the article kept)
        ("near_copies", int),
        ("near_copy_clusters", int),
    ],
    frozen=True,
    slots=True,
)
DOMAIN_SCHEMA = dataclass_schema(DomainCounts)


class RejectError(Exception):
    """Raised by readers and row makers for a record (or the rest of a file) that cannot be used;
    the runner turns it into a Reject. `record` is where it applies when the raiser knows better."""

    def __init__(
        self,
        reason: RejectReason,
        detail: str,
        excerpt: str = "",
        record: int | None = None,
        domain: str | None = None,
    ):
        super().__init__(detail)
        self.reason, self.detail, self.excerpt, self.record = reason, detail, excerpt, record
        self.domain = domain  # the record's domain, where the raiser (or a catcher) knows it

    def reject(self, source_path: str, source_record: int, domain: str | None = None) -> Reject:
        """The Reject; `domain` is the record's when the error does not carry one."""
        where = self.record if self.record is not None else source_record
        return Reject(
            source_path, where, self.reason, self.detail, self.excerpt, self.domain or domain
        )


def article_id(url: str | None, source_path: str = "", source_record: int = 0) -> str:
    """Stable id: from the URL when there is one, else from where the record sits in the input."""
    key = f"url:{url}" if url else f"path:{source_path}#{source_record}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def domain_of(url: str | None) -> str | None:
    """The host name of a URL (lower case), None when it has none."""
    try:
        host = urlsplit(url).hostname if url else None
    except ValueError:
        return None
    return host or None


def record_domain(domain: str | None, url: str | None) -> str | None:
    """A record's domain as a row's `domain` is made: its own (trimmed, lower case), else its
    URL's host name."""
    own = domain.strip().lower() if isinstance(domain, str) else ""
    return own or domain_of(url)


def excerpt(text: str | bytes) -> str:
    """A short, printable beginning of the record, so a reject can be found and judged."""
    if isinstance(text, bytes):
        text = text[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    return "".join(
        ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in text[:EXCERPT_CHARS]
    )
