"""Headlines of web pages (builder.web.titles): sources, site names removed, the choice by
agreement, `title_source`; and the title source of records and seed texts.

Every page is a few lines of HTML written here; each test shows one rule.
"""

from __future__ import annotations

import html
import json
import time

import lxml.html
import pytest

from builder.batch import RawBatch
from builder.config import BuildSection
from builder.reading.chain import run_steps
from builder.records import RawRecord
from builder.rows.crawler_fields import CrawlerFields
from builder.rows.seed_text import SeedText
from builder.steps.normalize import Normalize
from builder.transform import StepContext
from builder.web.affixes import strip_site
from builder.web.titles import TitleFound, page_title
from schema.article import TitleSource
from tests.support import TODAY, items_of

HEADLINE = "Il sindaco inaugura il nuovo ponte"


def page(head: str = "", body: str = "") -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def meta(name: str, content: str, attribute: str = "property") -> str:
    return f'<meta {attribute}="{name}" content="{html.escape(content)}">'


def json_ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def title_of(head: str = "", body: str = "", url: str | None = None) -> tuple[str, str] | None:
    found = page_title(page(head, body), url)
    return None if found is None else (found.title, found.source)


# Site names glued to a headline


@pytest.mark.parametrize(
    ("written", "site", "url"),
    [
        ("Zinsen steigen erneut | Börsen-Zeitung", "Börsen-Zeitung", None),
        ("Zinsen steigen erneut - Golem.de", None, None),
        ("Zinsen steigen erneut – DW – 28.04.2023", None, "https://www.dw.com/de/zinsen/a-1"),
        ("Zinsen steigen erneut：朝日新聞デジタル", "朝日新聞デジタル", None),
        ("Zinsen steigen erneut | 한국일보", "한국일보", None),
        ("Zinsen steigen erneut - Seznam Zprávy", None, "https://www.seznamzpravy.cz/clanek/1"),
        ("Zinsen steigen erneut — Die Zeitung", "Die Zeitung", None),
        ("Die Zeitung｜Zinsen steigen erneut", "Die Zeitung", None),
        ("Zinsen steigen erneut · Die Zeitung", "Die Zeitung", None),
        ("Zinsen steigen erneut » Die Zeitung", "Die Zeitung", None),
        ("Zinsen steigen erneut | Daily Mail Online", "Mail Online", None),
    ],
)  # fmt: skip
def test_the_sites_name_is_removed_from_the_title(written, site, url):
    head = f"<title>{written}</title>" + (meta("og:site_name", site) if site else "")
    assert title_of(head, url=url) == ("Zinsen steigen erneut", TitleSource.TITLE_TAG)


def test_a_publisher_named_in_json_ld_is_a_site_name_too():
    head = json_ld({"@type": "NewsArticle", "publisher": {"name": "Gazzetta di Prova"}})
    head += meta("og:title", f"{HEADLINE} - Gazzetta di Prova")
    assert title_of(head) == (HEADLINE, TitleSource.OG)


def test_words_that_only_start_like_the_site_stay():
    assert strip_site("Trome celebra: Trome gana la copa", {"trome"}) == (
        "Trome celebra: Trome gana la copa"
    )
    assert strip_site("VW-Betriebsversammlung: Es knirscht", {"automobilwoche"}) == (
        "VW-Betriebsversammlung: Es knirscht"
    )
    assert strip_site("Golem.de", {"golemde"}) == "Golem.de"  # never emptied


# Sources and the choice


def test_each_source_alone_is_the_title():
    ld = json_ld({"@type": "NewsArticle", "headline": HEADLINE})
    assert title_of(ld) == (HEADLINE, TitleSource.JSON_LD)
    assert title_of(meta("og:title", HEADLINE)) == (HEADLINE, TitleSource.OG)
    assert title_of(meta("twitter:title", HEADLINE, "name")) == (HEADLINE, TitleSource.TWITTER)
    assert title_of(body=f"<h1>{HEADLINE}</h1>") == (HEADLINE, TitleSource.H1)
    assert title_of(f"<title>{HEADLINE}</title>") == (HEADLINE, TitleSource.TITLE_TAG)
    assert title_of() is None


def test_the_printed_headline_beats_an_seo_title_with_a_topic_prefix():
    head = meta("og:title", f"Stromausfall Berlin: {HEADLINE}") + f"<title>{HEADLINE}</title>"
    assert title_of(head, f"<article><h1>{HEADLINE}</h1></article>") == (
        HEADLINE,
        TitleSource.H1,
    )


def test_the_printed_headline_keeps_its_quotes_and_dashes():
    printed = "Il sindaco: “Il ponte – finalmente – è aperto”"
    head = meta("og:title", 'Il sindaco: "Il ponte - finalmente - è aperto"')
    assert title_of(head, f"<h1>{printed}</h1>") == (printed, TitleSource.H1)


def test_json_ld_and_the_h1_over_metadata_that_disagree():
    head = json_ld({"@type": "NewsArticle", "headline": HEADLINE}) + meta("og:title", "Un ponte!")
    head += f"<title>{HEADLINE} | Gazzetta</title>"
    assert title_of(head) == (HEADLINE, TitleSource.JSON_LD)


def test_the_h1_of_the_article_not_the_sites_logo():
    body = f"<header><h1>Gazzetta di Prova</h1></header><article><h1>{HEADLINE}</h1></article>"
    head = f"<title>{HEADLINE} | Gazzetta di Prova</title>"
    assert title_of(head, body) == (HEADLINE, TitleSource.H1)


def test_an_h1_that_is_the_blogs_name_in_the_title_is_no_headline():
    head = "<title>Rinderleber mit Apfel und Zwiebel | Liebe geht durch den Magen</title>"
    body = "<h1>Liebe geht durch den Magen</h1><h2>Rinderleber mit Apfel und Zwiebel</h2>"
    assert title_of(head, body) == ("Rinderleber mit Apfel und Zwiebel", TitleSource.TITLE_TAG)


def test_a_blog_name_before_a_colon_is_no_headline():
    head = meta("og:title", "Open Verilog flow for GreenPak4 devices")
    head += "<title>Silicon Exposed: Open Verilog flow for GreenPak4 devices</title>"
    assert title_of(head, "<h1>Silicon Exposed</h1>") == (
        "Open Verilog flow for GreenPak4 devices",
        TitleSource.OG,
    )


def test_without_agreement_the_h1_in_the_article_else_the_metadata():
    head = "<title>Ponte, lavori e orari | Gazzetta</title>" + meta("og:site_name", "Gazzetta")
    assert title_of(head, f"<main><h1>{HEADLINE}</h1></main>") == (HEADLINE, TitleSource.H1)
    assert title_of(head, f"<div><h1>{HEADLINE}</h1></div>") == (
        "Ponte, lavori e orari",
        TitleSource.TITLE_TAG,
    )


def test_a_kicker_inside_the_h1_is_not_the_headline():
    body = (
        '<h1><span class="article-heading__kicker">Klimaschutz</span><span>: </span>'
        "<span>Bohren, bis es heiß wird</span></h1>"
    )
    assert title_of(body=body) == ("Bohren, bis es heiß wird", TitleSource.H1)


def test_ruby_readings_are_not_read_into_the_headline():
    body = "<h1><ruby>子<rt>こ</rt></ruby>どもへの<ruby>体罰<rt>たいばつ</rt></ruby>を禁止</h1>"
    assert title_of(body=body) == ("子どもへの体罰を禁止", TitleSource.H1)


def test_a_host_name_is_removed_from_the_printed_headline_too():
    assert title_of(body=f"<h1>{HEADLINE} | FASSETTE.NET</h1>") == (HEADLINE, TitleSource.H1)


# The printed headline, for the date


def test_the_element_printing_the_title_is_found_without_an_h1():
    body = (
        "<table><tr><td><b><font>Il sindaco inaugura il ponte</font></b></td></tr>"
        "<tr><td>(2012-06-04 09:20)</td></tr></table>"
    )
    found = page_title(page("<title>Il sindaco inaugura il ponte</title>", body), None)
    assert isinstance(found, TitleFound) and found.headline is not None
    assert found.headline.tag == "font"


def test_a_heading_narrows_a_title_with_an_unknown_suffix():
    head = f"<title>{HEADLINE}-新华网</title>"
    found = page_title(page(head, f'<div class="h-title">{HEADLINE}</div>'), None)
    assert (found.title, found.source, found.headline.tag) == (
        HEADLINE,
        TitleSource.TITLE_TAG,
        "div",
    )


def test_a_huge_page_stays_bounded():
    headings = "".join(f"<h1>Titolo {i}</h1><h2>Sezione {i}</h2>" for i in range(20_000))
    metas = "".join(meta("og:title", f"Titolo {i}") for i in range(5_000))
    tree = page(metas + "<title>" + "parola " * 50_000 + "</title>", headings)
    start = time.perf_counter()
    found = page_title(tree, None)
    assert time.perf_counter() - start < 2
    assert found is not None and len(found.title) <= 400


# Records and seed texts


def through(record: RawRecord, content) -> dict:
    """The record's row after its row maker and normalize (which drops a title of no words)."""
    context = StepContext(BuildSection(min_words=1), TODAY)
    steps = [content(context), Normalize(context)]
    (item,) = items_of(run_steps([RawBatch([record])], steps))
    return item


@pytest.mark.parametrize(
    ("record", "source"),
    [({"text": "Body.", "title": "Il ponte"}, "record"), ({"text": "Body."}, None),
     ({"text": "Body.", "title": "—"}, None)],
)  # fmt: skip
def test_a_records_title_has_the_source_record(record, source):
    row = through(RawRecord("a.jsonl", 1, "0" * 64, record), CrawlerFields)
    assert row["title_source"] == source


def test_a_seed_text_has_no_title_and_no_title_source():
    row = through(RawRecord("a.txt", 0, "0" * 64, "date 2021-02\n\nBody text."), SeedText)
    assert row["title"] is None and row["title_source"] is None
