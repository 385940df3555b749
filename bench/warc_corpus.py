"""Write saved pages as one crawl-style `.warc.gz`, for `make eval`'s WARC build.

Each page becomes a request record and a response record (HTTP 200, `text/html` without a
charset, so the reader finds the page's own), after one warcinfo record, as a crawler writes
them. Record ids and dates are fixed, so the same pages give the same bytes.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def _record_id(*parts: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, '#'.join(parts))}>"


def write_warc(pages: Iterable[tuple[str, bytes]], path: Path, date: str) -> int:
    """Write `pages` (URL, HTML bytes) to `path`, all fetched at `date` (ISO, UTC, 'Z').

    Returns the number of pages written; the file holds 1 + 2 x that many records.
    """
    count = 0
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        info = writer.create_warcinfo_record(
            path.name, {"software": "broadsheet bench.warc_corpus"}
        )
        info.rec_headers.replace_header("WARC-Record-ID", _record_id(path.name))
        info.rec_headers.replace_header("WARC-Date", date)
        writer.write_record(info)
        for count, (url, html) in enumerate(pages, 1):
            parts = urlsplit(url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            request = StatusAndHeaders(
                f"GET {target} HTTP/1.1", [("Host", parts.netloc)], is_http_request=True
            )
            response = StatusAndHeaders(
                "200 OK",
                [("Content-Type", "text/html"), ("Content-Length", str(len(html)))],
                protocol="HTTP/1.1",
            )
            for kind, headers, body in (
                ("request", request, b""),
                ("response", response, html),
            ):
                warc_headers = {
                    "WARC-Date": date,
                    "WARC-Record-ID": _record_id(str(count), kind, url),
                }
                record = writer.create_warc_record(
                    url,
                    kind,
                    payload=io.BytesIO(body),
                    length=len(body),
                    warc_headers_dict=warc_headers,
                    http_headers=headers,
                )
                writer.write_record(record)
    return count
