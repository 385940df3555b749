"""Dates of web pages (builder.dates.page_date) and the `dates` step's times with offsets.

Every page is a few lines of HTML written here; each test shows one rule.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import lxml.html
import pytest

from builder.batch import Batch, RawBatch
from builder.config import BuildSection
from builder.dates import DateFound, page_date
from builder.reading.chain import run_steps
from builder.records import RawRecord
from builder.rows.crawler_fields import CrawlerFields
from builder.rows.seed_text import SeedText
from builder.steps import STEPS
from builder.steps.dates import ParseDate
from builder.transform import StepContext
from builder.web.titles import page_title
from schema import DatePrecision, DateSource
from schema.working import working_table
from tests.support import items_of

LATEST = dt.date(2026, 11, 26)


def page(head: str = "", body: str = "") -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def meta(name: str, content: str, attribute: str = "property") -> str:
    return f'<meta {attribute}="{name}" content="{content}">'


def json_ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def found(head: str = "", body: str = "", url: str | None = None, latest: dt.date = LATEST):
    return page_date(page(head, body), url, latest)


def headline(byline: str) -> str:
    return f"<article><h1>Il sindaco inaugura il ponte</h1><p>{byline}</p></article>"


# Each source


def test_json_ld_date_published_inside_a_graph():
    graph = {
        "@graph": [{"@type": "WebSite"}, {"@type": "NewsArticle", "datePublished": "2021-02-17"}]
    }
    assert found(json_ld(graph)) == DateFound("2021-02-17", "day", DateSource.JSON_LD)


def test_json_ld_prefers_the_article_over_an_image_in_the_same_block():
    items = [
        {"@type": "ImageObject", "datePublished": "2020-05-01"},
        {"@type": ["BlogPosting"], "datePublished": "2021-02-17"},
    ]
    assert found(json_ld(items)).date == "2021-02-17"


def test_meta_published_time_with_its_offset():
    head = meta("article:published_time", "2021-02-17T10:00:00+01:00")
    assert found(head) == DateFound(
        "2021-02-17", DatePrecision.DAY, DateSource.META, "2021-02-17T10:00:00+01:00"
    )


@pytest.mark.parametrize(
    ("name", "attribute"),
    [("pubdate", "name"), ("DC.date.issued", "name"), ("parsely-pub-date", "name"),
     ("og:published_time", "property"), ("sailthru.date", "name")],
)  # fmt: skip
def test_common_meta_names(name, attribute):
    assert found(meta(name, "2021-02-17", attribute)).source == DateSource.META


def test_modified_and_updated_dates_are_never_publication_dates():
    head = meta("article:modified_time", "2021-03-01") + meta("og:updated_time", "2021-03-02")
    body = '<article><h1>T</h1><time class="updated" datetime="2021-03-03">x</time></article>'
    assert found(head, body) is None


def test_microdata_date_published():
    body = '<div itemscope><span itemprop="datePublished" content="2021-02-17">17/2</span></div>'
    assert found(body=body) == DateFound("2021-02-17", "day", DateSource.MICRODATA)


def test_time_element_marked_published_beats_an_earlier_one():
    body = (
        '<aside><time datetime="2020-01-01">related story</time></aside>'
        '<article><time pubdate datetime="2021-02-17T09:30:00Z">17 Feb</time></article>'
    )
    assert found(body=body) == DateFound(
        "2021-02-17", "day", DateSource.TIME_ELEMENT, "2021-02-17T09:30:00+00:00"
    )


@pytest.mark.parametrize(
    "written",
    [
        "17 febbraio 2021",  # it
        "17. Februar 2021",  # de
        "le 17 février 2021",  # fr
        "17 de febrero de 2021",  # es
        "17 de fevereiro de 2021",  # pt
        "17 februari 2021",  # nl
        "17 lutego 2021",  # pl
        "Feb. 17, 2021",  # en
        "February 17th, 2021",
        "17.02.2021",
        "2021年2月17日",
    ],
)
def test_visible_date_near_the_headline_in_many_languages(written):
    assert found(body=headline(f"Pubblicato: {written}")) == DateFound(
        "2021-02-17", "day", DateSource.TEXT
    )


def test_dateline_just_above_the_headline():
    body = "<article><p>Mercoledì 17 febbraio 2021</p><h1>Il ponte</h1><p>Testo.</p></article>"
    assert found(body=body).date == "2021-02-17"


def test_a_month_alone_counts_only_in_the_byline_right_after_the_headline():
    story = "<p>" + "Il cantiere era fermo da anni. " * 10 + "</p>"
    assert found(body=headline("ponte") + story + "<p>Archivio: marzo 2019</p>") is None
    assert found(body=headline("ponte") + story + "<p>Il 3 marzo 2019</p>").date == "2019-03-03"


def test_an_element_whose_class_names_the_date():
    body = (
        "<h1>Il ponte</h1>"
        + "<p>Testo.</p>" * 500
        + '<div class="publishing-date">13.01.2022</div>'
    )
    assert found(body=body) == DateFound("2022-01-13", "day", DateSource.TEXT)


def test_the_printed_headline_anchors_the_text_windows_without_an_h1():
    tree = page(
        "<title>Il sindaco inaugura il ponte</title>",
        "<table><tr><td><b>Il sindaco inaugura il ponte</b></td></tr>"
        "<tr><td>Gazzetta ( 2012-06-04 09:20:26 )</td></tr></table>",
    )
    assert page_date(tree, None, LATEST) is None  # no <h1>: no window to read
    printed = page_title(tree, None)
    assert printed.headline is not None and printed.headline.tag == "b"
    assert page_date(tree, None, LATEST, printed.headline).date == "2012-06-04"


def test_a_dateline_just_above_the_headline_beats_a_day_further_below():
    story = "<p>" + "Il cantiere era fermo da anni. " * 10 + "</p>"
    body = (
        "<p>Par Loïc Le Clerc | 30 septembre 2018</p><h1>Deux ans en Macronie</h1>"
        + story + "<p>Réaction du 7 janvier 2020</p>"
    )  # fmt: skip
    assert found(body=body).date == "2018-09-30"


def test_the_indentation_of_the_source_is_not_read_as_text():
    indent = "<div>" + "\n" + " " * 400 + "\t</div>"
    body = f"<p>14. Februar 2012</p>{indent * 3}<h1>Berlusconis Prozess geht weiter</h1>"
    assert found(body=body).date == "2012-02-14"


def test_a_two_digit_year_counts_only_in_an_element_marked_as_a_date():
    assert found(body='<div class="date">Party, 30.10.23</div><h1>Kostüme</h1>') == DateFound(
        "2023-10-30", "day", DateSource.TEXT
    )
    assert found(body="<p>Party, 30.10.23</p><h1>Kostüme</h1>") is None


@pytest.mark.parametrize(
    "byline", ["Updated June 13, 2019", "Aktualisiert: 30.12.2016", "Aggiornato il 17 febbraio 2021",
               "Mis à jour le mercredi 17 février 2021", "Last updated on Wednesday, 17 Feb 2021"],
)  # fmt: skip
def test_a_date_after_an_update_word_is_never_the_publication_date(byline):
    assert found(body=headline(byline)) is None
    both = "Pubblicato il 16 febbraio 2021, aggiornato il 17 febbraio 2021"
    assert found(body=headline(both)).date == "2021-02-16"


def test_a_description_dates_the_page_only_after_a_publication_phrase():
    described = meta(
        "description", "ORSO MARSICANO: UN ANNO DA RECORD (Notizia del 14 Gennaio 2020)", "name"
    )
    assert found(described, "<h1>Orso marsicano</h1>") == DateFound("2020-01-14", "day", "meta")
    event = meta("og:description", "Il concerto del 14 gennaio 2020 al Teatro Regio")
    assert found(event, "<h1>Orso marsicano</h1>") is None


def test_url_day_and_month():
    assert found(url="https://a.example/2021/02/17/ponte") == DateFound("2021-02-17", "day", "url")
    assert found(url="https://a.example/news/2021-02-17-ponte.html").date == "2021-02-17"
    assert found(url="https://a.example/2021/02/ponte") == DateFound("2021-02", "month", "url")


def test_a_year_alone_in_the_url_is_no_date():
    assert found(url="https://a.example/2021/ponte-sullo-stretto") is None


# Precision


def test_a_month_stays_a_month():
    assert found(body=headline("febbraio 2021")) == DateFound("2021-02", "month", "text")
    assert found(meta("article:published_time", "2021-02")) == DateFound("2021-02", "month", "meta")


def test_day_and_month_that_could_be_swapped_are_not_guessed():
    assert found(body=headline("03/04/2021")) is None
    assert found(body=headline("17/02/2021")).date == "2021-02-17"


def test_a_less_precise_source_is_refined_only_by_an_agreeing_date():
    head = meta("article:published_time", "2021-02")
    assert found(head, url="https://a.example/2021/02/17/x") == DateFound(
        "2021-02-17", "day", "url"
    )
    assert found(head, url="https://a.example/2021/03/17/x") == DateFound(
        "2021-02", "month", "meta"
    )
    both = headline("18 febbraio 2021")  # text and URL agree with the meta, not with each other
    assert found(head, both, url="https://a.example/2021/02/17/x").date == "2021-02"


# Priority


def test_reliability_not_document_order():
    head = meta("article:published_time", "2021-02-16") + json_ld({"datePublished": "2021-02-17"})
    body = headline("15 febbraio 2021")
    assert found(head, body).source == DateSource.JSON_LD


def test_meta_beats_the_url_and_the_url_is_used_only_when_nothing_else():
    url = "https://a.example/2020/01/01/old-slug"
    assert found(meta("pubdate", "2021-02-17", "name"), url=url).source == DateSource.META
    assert found(url=url).source == DateSource.URL


def test_a_utc_time_takes_the_publishers_day_when_another_source_gives_it():
    head = json_ld({"datePublished": "2021-02-16T23:30:00Z"}) + meta(
        "article:published_time", "2021-02-17T00:30:00+01:00"
    )
    assert found(head) == DateFound("2021-02-17", "day", "meta", "2021-02-17T00:30:00+01:00")


# Dropped, never guessed


def test_copyright_years_are_never_publication_dates():
    body = "<h1>Il ponte</h1><p>Testo.</p><footer>© 2018 Editore. Copyright February 2018</footer>"
    assert found(body=body) is None


def test_a_date_after_the_fetch_is_dropped_and_the_next_used():
    head = json_ld({"datePublished": "2021-03-01"}) + meta("pubdate", "2021-02-17", "name")
    assert found(head, latest=dt.date(2021, 2, 20)).date == "2021-02-17"
    assert found(head).date == "2021-03-01"


@pytest.mark.parametrize("bad", ["1985-05-01", "2021-02-30", "2021-00", "2021-02-00", "0000"])
def test_dates_before_1990_and_impossible_dates_are_dropped(bad):
    head = meta("article:published_time", bad)
    assert found(head) is None
    assert found(head + meta("date", "2021-02-17", "name")).date == "2021-02-17"


def test_date_time_only_when_the_offset_is_given():
    assert found(meta("article:published_time", "2021-02-17T10:00:00")).date_time is None
    gmt = found(meta("pubdate", "Wed, 17 Feb 2021 10:00:00 GMT", "name"))
    assert gmt.date_time == "2021-02-17T10:00:00+00:00"


def test_malformed_json_ld_is_ignored():
    head = '<script type="application/ld+json">{"datePublished": "2021-01-01",</script>'
    assert found(head + meta("pubdate", "2021-02-17", "name")).source == DateSource.META


# Bounded


def test_a_huge_page_stays_bounded():
    filler = "<p>parole senza date</p>" * 100_000
    times = '<time datetime="not a date">x</time>' * 10_000
    tree = page(body=f"<h1>Titolo</h1>{filler}{times}<p>17 febbraio 2021</p>")
    start = time.perf_counter()
    assert page_date(tree, None, LATEST) is None  # the date is far beyond every window
    assert time.perf_counter() - start < 2  # about 0.2 s: lxml's XPath walks, no Python loop


# The `dates` step


def through(record: RawRecord, content) -> dict:
    context = StepContext(BuildSection(min_words=1), LATEST)
    (item,) = items_of(run_steps([RawBatch([record])], [content(context), STEPS["dates"](context)]))
    return item


def test_a_seed_header_with_an_offset_fills_date_time():
    record = RawRecord("a.txt", 0, "0" * 64, "date 2021-02-03T10:00:00+01:00\n\nBody text.")
    row = through(record, SeedText)
    assert (row["date"], row["date_source"], row["date_time"]) == (
        "2021-02-03",
        "header",
        "2021-02-03T10:00:00+01:00",
    )


@pytest.mark.parametrize(
    ("raw", "date_time"),
    [("2021-02-03T10:00:00Z", "2021-02-03T10:00:00+00:00"), ("2021-02-03T10:00", None),
     ("2021-02-03T10:00+05", "2021-02-03T10:00:00+05:00"), ("2021-02", None)],
)  # fmt: skip
def test_a_record_timestamp_fills_date_time_only_with_its_offset(raw, date_time):
    record = RawRecord("a.jsonl", 1, "0" * 64, {"text": "Body text.", "date": raw})
    row = through(record, CrawlerFields)
    assert row["date_source"] == "record" and row["date_time"] == date_time


def test_the_step_keeps_a_web_pages_date():
    web = {"date": ["2021-02-17"], "date_precision": ["day"], "date_source": ["json_ld"]}
    web["date_time"] = ["2021-02-17T10:00:00+01:00"]
    table = working_table(web, 1)
    out = ParseDate(StepContext(BuildSection(), LATEST)).process(Batch(table, []))
    assert {k: out.table.to_pylist()[0][k] for k in web} == {k: v[0] for k, v in web.items()}
