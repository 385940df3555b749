"""WARC files for tests, written by hand so that tests control every byte: records of any type,
HTTP messages with chunked transfer and content encodings (even mislabelled ones), and
`.warc.gz` files with one gzip member per record, or one gzip stream for the whole file."""

from __future__ import annotations

import gzip
import random
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import brotli

FETCHED = "2021-02-17T10:20:30Z"


@dataclass(frozen=True)
class Record:
    """One WARC record: its type, extra WARC headers, and its block (an HTTP message or not)."""

    type: str
    block: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def bytes(self) -> bytes:
        lines = [
            "WARC/1.1",
            f"WARC-Type: {self.type}",
            f"WARC-Record-ID: <urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, repr(self))}>",
            f"WARC-Date: {self.headers.get('WARC-Date', FETCHED)}",
        ]
        lines += [f"{k}: {v}" for k, v in self.headers.items() if k != "WARC-Date"]
        if self.content_type:
            lines.append(f"Content-Type: {self.content_type}")
        lines.append(f"Content-Length: {len(self.block)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        return head + self.block + b"\r\n\r\n"


def http(
    body: bytes,
    content_type: str | None = "text/html; charset=utf-8",
    status: int = 200,
    encoding: str | None = None,
    chunked: bool = False,
    label: str | None = None,
) -> bytes:
    """An HTTP response: `encoding` (gzip, deflate, br) compresses the body and is declared,
    `label` is declared without compressing (CC-NEWS before 2019-05), `chunked` frames it."""
    headers = [f"HTTP/1.1 {status} {'OK' if status == 200 else 'Other'}"]
    if content_type is not None:
        headers.append(f"Content-Type: {content_type}")
    if encoding is not None:
        body = COMPRESS[encoding](body)
    if encoding or label:
        headers.append(f"Content-Encoding: {encoding or label}")
    if chunked:
        body = (
            b"".join(
                b"%x\r\n%s\r\n" % (len(body[i : i + 100]), body[i : i + 100])
                for i in range(0, len(body), 100)
            )
            + b"0\r\n\r\n"
        )
        headers.append("Transfer-Encoding: chunked")
    else:
        headers.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


COMPRESS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
}


def response(url: str, body: bytes, date: str = FETCHED, **http_options) -> Record:
    return Record(
        "response",
        http(body, **http_options),
        {"WARC-Target-URI": url, "WARC-Date": date},
        "application/http; msgtype=response",
    )


def request(url: str) -> Record:
    block = f"GET {url} HTTP/1.1\r\nHost: example.org\r\n\r\n".encode()
    return Record("request", block, {"WARC-Target-URI": url}, "application/http; msgtype=request")


def warcinfo() -> Record:
    return Record(
        "warcinfo",
        b"software: tests\r\nformat: WARC File Format 1.1\r\n",
        {},
        "application/warc-fields",
    )


def metadata(url: str) -> Record:
    return Record(
        "metadata", b"fetchTimeMs: 12\r\n", {"WARC-Target-URI": url}, "application/warc-fields"
    )


def revisit(url: str) -> Record:
    return Record(
        "revisit",
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n",
        {
            "WARC-Target-URI": url,
            "WARC-Profile": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
        },
        "application/http; msgtype=response",
    )


def page(i: int, words: int = 60) -> bytes:
    """An HTML news page, different for every i."""
    rng = random.Random(i)
    text = " ".join(f"parola{rng.randrange(10_000)}" for _ in range(words))
    return (
        f"<!DOCTYPE html><html><head><title>Notizia {i}</title></head>"
        f"<body><article><h1>Notizia {i}</h1><p>{text}</p></article></body></html>"
    ).encode()


def warc(records: list[Record], gz: bool = False, one_stream: bool = False) -> bytes:
    """The file's bytes: plain, one gzip member per record (gz), or one gzip stream (one_stream)."""
    if one_stream:
        return gzip.compress(b"".join(r.bytes() for r in records))
    if gz:
        return b"".join(gzip.compress(r.bytes()) for r in records)
    return b"".join(r.bytes() for r in records)


def crawl(pages: int, start: int = 0) -> list[Record]:
    """A crawl as CC-NEWS stores it: warcinfo, then request, response, metadata per page."""
    records = [warcinfo()]
    for i in range(start, start + pages):
        url = f"https://example.org/news/{i}"
        records += [request(url), response(url, page(i)), metadata(url)]
    return records


def save(path: Path, data: bytes) -> Path:
    """Write the file's bytes as they are (tests.support.write would gzip a .gz name again)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
