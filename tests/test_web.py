"""Saved web pages: charset, extraction, the page's metadata, and pages that are not articles."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from pathlib import Path

import pytest

from builder.config import BuildSection
from builder.outcomes import Reject, RejectError
from builder.records import WebPage
from builder.web import extract
from builder.web.charset import page_text
from builder.web.extract import extract_page, latest_date
from builder.web.timelimit import TimeLimitExceeded, time_limit
from tests.support import ENGLISH, ITALIAN, preview, rows, run_build, source_at, write

TODAY = dt.date(2026, 11, 26)


def article(
    paragraphs: list[str], head: str = "", title: str = "Il piano per la mobilità", lang: str = "it"
) -> str:
    """A news page as publishers write them: navigation, the article, a footer."""
    body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><title>{title} | Gazzetta di Prova</title>{head}</head>
<body><nav><a href="/">Home</a> <a href="/politica">Politica</a> <a href="/sport">Sport</a></nav>
<article><h1>{title}</h1>
{body}</article>
<footer><p>Gazzetta di Prova S.p.A. - P.IVA 01234567890</p></footer></body></html>"""


PARAGRAPHS = [ITALIAN, ITALIAN.replace("consiglio", "sindaco"), ITALIAN.replace("ieri", "oggi")]


def build_one(tmp_path: Path, name: str, content: str | bytes, **settings) -> list:
    path = write(tmp_path / "raw" / name, content)
    return preview(
        source_at(path, name),
        BuildSection(min_words=5, **settings),
        TODAY,
        ["language", "validate"],
    )


def test_a_saved_page_becomes_an_article_with_its_metadata(tmp_path):
    head = (
        '<meta property="og:site_name" content="Gazzetta di Prova">'
        '<link rel="canonical" href="https://gazzetta.example/politica/2021/02/piano-mobilita">'
        '<meta name="author" content="Maria Rossi">'
    )
    (row,) = build_one(tmp_path, "piano.html", article(PARAGRAPHS, head))

    assert row["title"] == "Il piano per la mobilità"  # the <title> says "| Gazzetta di Prova"
    assert row["title_source"] == "h1"
    assert ITALIAN in row["text"].split("\n\n")
    assert "Home" not in row["text"] and "P.IVA" not in row["text"]
    assert row["canonical_url"] == "https://gazzetta.example/politica/2021/02/piano-mobilita"
    assert row["url"] == row["canonical_url"]  # a saved page has no other address
    assert row["site_name"] == "Gazzetta di Prova"
    assert row["authors"] == ["Maria Rossi"]
    assert row["declared_language"] == "it"


def test_a_body_shorter_than_a_paragraph_is_extracted_again_favouring_recall(monkeypatch):
    tagline = "Dein wichtigster Touchpoint zur Digitalbranche."
    calls = []

    def extracted(tree, favor_recall=False):
        calls.append(favor_recall)
        return "\n".join(PARAGRAPHS) if favor_recall else tagline

    monkeypatch.setattr(extract, "_extracted", extracted)
    found = extract_page(WebPage(article(PARAGRAPHS).encode()), TODAY, 5)
    assert found.text == "\n".join(PARAGRAPHS) and calls == [False, True]
    calls.clear()
    tagline = ITALIAN  # a body of a paragraph is kept at the first extraction
    assert extract_page(WebPage(article(PARAGRAPHS).encode()), TODAY, 5).text == ITALIAN
    assert calls == [False]


def test_compressed_pages_are_read_too(tmp_path):
    (row,) = build_one(tmp_path, "piano.htm.gz", article(PARAGRAPHS))
    assert ITALIAN in row["text"]


def test_the_charset_order_is_http_header_bom_meta_then_detection():
    text = "<html><head><meta charset=iso-8859-1></head><body><p>città perché</p></body></html>"
    latin = text.encode("cp1252")
    assert "città" in page_text(latin)  # the meta charset
    assert "città" in page_text(text.encode("utf-8"))  # valid UTF-8 labelled Latin-1: a lie
    assert "città" in page_text(text.replace("iso-8859-1", "utf-8").encode("cp1252"))  # detected
    assert "città" in page_text(latin, http_charset="windows-1252")
    assert "città" in page_text(b"\xef\xbb\xbf" + text.encode("utf-8"), http_charset="bogus")
    assert "città" in page_text(text.encode("utf-16"))  # a BOM, whatever the meta says
    assert "città" in page_text(text.encode("utf-8"), http_charset="utf-8")


def test_a_page_over_the_time_limit_is_rejected_and_the_next_page_is_read(tmp_path):
    many = "".join(f"<div><p>{ENGLISH} {i}</p><span>{i}</span></div>" for i in range(20_000))
    page = article([], title="Slow").replace("<article>", f"<article>{many}")

    slow = build_one(tmp_path, "slow.html", page, extraction_timeout=1.0)  # 9 s of work
    fast = build_one(tmp_path, "fast.html", article(PARAGRAPHS), extraction_timeout=1.0)

    assert isinstance(slow[0], Reject) and slow[0].reason == "extraction_timeout"
    assert "build.extraction_timeout=1 s" in slow[0].detail
    assert fast[0]["title"] == "Il piano per la mobilità"


def test_the_time_limit_stops_code_that_catches_exceptions():
    """trafilatura catches Exception in places: the limit is not one, and it comes again until
    the block ends, so even code catching everything part of the time is stopped."""
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded), time_limit(0.2):
        for _ in range(500):  # 10 s unlimited
            with contextlib.suppress(BaseException):  # what the limit must get past
                time.sleep(0.01)
            with contextlib.suppress(Exception):
                time.sleep(0.01)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        (WebPage(b"<html><body><p>Moved</p></body></html>", status=301), "redirect_page"),
        (WebPage(b"<html><body><p>Not here</p></body></html>", status=404), "error_page"),
        (
            WebPage(
                b'<html><head><meta http-equiv="Refresh" content="0; URL=https://x.example/a">'
                b"</head><body><p>Redirecting</p></body></html>"
            ),
            "redirect_page",
        ),
        (
            WebPage(article(PARAGRAPHS).encode(), url="https://gazzetta.example/tag/mobilita/"),
            "not_an_article",
        ),
        (
            WebPage(
                article(
                    ["Pagina non trovata. La pagina che cercavi non esiste più o è stata spostata."]
                ).encode()
            ),
            "error_page",
        ),
        (
            WebPage(
                article(
                    [
                        "This content is not available in your region. We are working to make "
                        "it available as soon as possible."
                    ],
                    lang="en",
                ).encode()
            ),
            "stub_page",
        ),
        (
            WebPage(b"<html><head><title>Foto</title></head><body><img src=a.png></body></html>"),
            "no_text",
        ),
    ],
)
def test_pages_that_are_not_articles_are_rejects_that_say_why(page, reason):
    with pytest.raises(RejectError) as caught:
        extract_page(page, TODAY, 5.0)
    assert caught.value.reason == reason


def test_a_refresh_for_browsers_without_javascript_does_not_make_a_redirect():
    noscript = "<noscript><meta http-equiv='refresh' content='0;url=/nojs.aspx'></noscript>"
    page = WebPage(article(PARAGRAPHS).replace("<body>", f"<body>{noscript}").encode())
    assert extract_page(page, TODAY, 5.0).title == "Il piano per la mobilità"


def test_an_article_under_a_tag_path_is_kept_when_it_says_it_is_an_article():
    head = '<meta property="og:type" content="article">'
    page = WebPage(article(PARAGRAPHS, head).encode(), url="https://g.example/tag/x/piano")
    assert extract_page(page, TODAY, 5.0).title == "Il piano per la mobilità"


def test_the_fetch_day_bounds_dates_and_the_build_day_bounds_the_rest():
    assert latest_date(WebPage(b"", fetched="2021-02-17T10:00:00Z"), TODAY) == dt.date(2021, 2, 17)
    assert latest_date(WebPage(b""), TODAY) == TODAY
    assert latest_date(WebPage(b"", fetched="2030-01-01T00:00:00Z"), TODAY) == TODAY


def test_a_folder_of_pages_builds_into_a_release(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "a.html", article(PARAGRAPHS))
    write(raw / "b.html", article([ENGLISH, ENGLISH.replace("city", "town")], lang="en"))
    write(raw / "copy.html", article(PARAGRAPHS))
    write(
        raw / "photo.html",
        "<html><head><title>Foto</title></head><body><img src=a.png></body></html>",
    )

    report = run_build(raw, tmp_path / "out")

    accounting = report.accounting
    assert accounting.records_read == 4 and accounting.balanced
    assert accounting.rejects == {"no_text": 1} and accounting.duplicates == {"same_text": 1}
    assert sorted(r["language"] for r in rows(tmp_path / "out")) == ["en", "it"]
