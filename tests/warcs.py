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


SENTENCES = [
    "Il consiglio comunale ha approvato ieri sera il nuovo piano per la mobilità sostenibile.",
    "Il piano prevede piste ciclabili, più autobus elettrici e una zona a traffico limitato.",
    "Secondo l'assessore, i lavori cominceranno entro l'estate e dureranno circa due anni.",
    "I commercianti del centro storico chiedono parcheggi nuovi vicino alle mura.",
    "Le associazioni dei ciclisti hanno accolto la notizia con favore.",
    "La regione contribuirà con un finanziamento di tre milioni di euro.",
    "Il sindaco ha promesso incontri pubblici in ogni quartiere della città.",
    "L'opposizione giudica il progetto troppo costoso e lento da realizzare.",
]


def article(i: int) -> bytes:
    """A news article as publishers serve it (navigation, article, footer), different for
    every i, with its publication date in a meta tag."""
    rng = random.Random(i)
    paragraphs = "".join(
        f"<p>{' '.join(rng.sample(SENTENCES, 4))} Notizia numero {i}.</p>\n" for _ in range(3)
    )
    day = 1 + i % 28
    return (
        f'<!DOCTYPE html><html lang="it"><head><title>Notizia {i} | Gazzetta di Prova</title>'
        f'<meta property="article:published_time" content="2021-02-{day:02d}T08:00:00+01:00">'
        f"</head><body><nav><a href='/'>Home</a> <a href='/sport'>Sport</a></nav>"
        f"<article><h1>Notizia {i}</h1>\n{paragraphs}</article>"
        f"<footer><p>Gazzetta di Prova S.p.A.</p></footer></body></html>"
    ).encode()


def news_crawl(pages: int, start: int = 0) -> list[Record]:
    """A crawl of news articles, with a page that is no article, an image and a revisit."""
    records = [warcinfo()]
    for i in range(start, start + pages):
        url = f"https://gazzetta.example/2021/02/notizia-{i}"
        encoding = ("gzip", None, "br")[i % 3]
        records += [request(url), response(url, article(i), encoding=encoding), metadata(url)]
    records += [
        response("https://gazzetta.example/logo.png", b"\x89PNG....", content_type="image/png"),
        response("https://gazzetta.example/tag/x", b"<html><body><img src=a.png></body></html>"),
        revisit(f"https://gazzetta.example/2021/02/notizia-{start}"),
    ]
    return records


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


def from_folder(folder: Path) -> list[Record]:
    """Every .html/.htm page under `folder` as a crawl (request, response, metadata), in name
    order, its URL made from its path: to build a WARC of real pages (`make eval`'s corpus)."""
    records = [warcinfo()]
    pages = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".html", ".htm"))
    for path in pages:
        url = f"https://corpus.example/{path.relative_to(folder).as_posix()}"
        records += [
            request(url),
            response(url, path.read_bytes(), content_type="text/html"),
            metadata(url),
        ]
    return records


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3:
        sys.exit("usage: python -m tests.warcs PAGES_FOLDER OUT.warc.gz")
    out = save(Path(sys.argv[2]), warc(from_folder(Path(sys.argv[1])), gz=True))
    print(f"{out}: {out.stat().st_size} bytes")
