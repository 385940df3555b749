"""What a reader yields: raw records (where they sit, the hash of their bytes, their payload for
a row maker), records it passes over on purpose (Skipped), and rejects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from builder.outcomes import Reject


@dataclass(slots=True)
class RawRecord:
    """One record as a reader found it: where it sits, the hash of its bytes, its payload
    (decoded text, or a parsed JSON value) for a row maker to turn into a row, and its size
    as read (bytes or characters), which bounds how many records a batch holds."""

    source_path: str
    source_record: int
    source_sha256: str
    payload: Any
    size: int = 0


@dataclass(frozen=True, slots=True)
class WebPage:
    """The payload of a web page for the `web_page` row maker: the HTML's bytes as served
    (transfer and content encodings removed), and what the reader knows from outside them."""

    html: bytes
    url: str | None = None  # WARC-Target-URI; None for a saved page (its canonical link may say)
    fetched: str | None = None  # WARC-Date (ISO 8601, UTC): an upper bound for the date, no more
    charset: str | None = None  # from the HTTP Content-Type header, the first in charset order
    status: int | None = None  # HTTP status of a WARC response


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record a reader passes over on purpose (a WARC request, an image): counted by kind in
    the read step, never a row or a reject, so it is outside the accounting identity."""

    kind: str


ReadItem = RawRecord | Reject | Skipped  # what a reader yields
