"""Date candidates of a parsed page, one function per source, each in its own order of trust.

Every search is bounded: lxml XPath with position limits picks the elements, values and JSON-LD
scripts are cut to a fixed size, and the text near the headline is a fixed window. Update and
modification dates are never candidates: only what says *published*.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from lxml import etree

from builder.dates.found import DateFound
from builder.dates.jsonld import json_ld_objects, type_rank
from builder.dates.phrases import PUBLISHED
from builder.dates.text import MAX_VALUE, short_year_dates, text_dates, value_stamp
from schema import DatePrecision, DateSource

MAX_METAS = 400
MAX_ITEMPROPS = 8
MAX_TIMES = 40
TEXT_WINDOW = 1_500  # characters of visible text read after the headline
BYLINE = 200  # ... of which the first characters may give a month alone ("febbraio 2021")
TEXT_BEFORE = 300  # ... and just before it (a dateline above the headline)
MAX_WALK = 3_000  # elements visited to gather a window
MAX_HEADLINES = 5  # <h1> elements compared with the page's title
MAX_HINTED = 20  # elements whose class says date, published, posted or byline

_METAS = etree.XPath(f"(//meta[@content])[position() <= {MAX_METAS}]")
_ITEMPROPS = etree.XPath(
    f"(//*[@itemprop='datePublished' or @itemprop='datepublished'])[position() <= {MAX_ITEMPROPS}]"
)
_TIMES = etree.XPath(f"(//time)[position() <= {MAX_TIMES}]")
_HEADLINES = etree.XPath(f"(//h1)[position() <= {MAX_HEADLINES}]")
_TITLE = etree.XPath("/html/head/meta[@property='og:title']/@content | /html/head/title/text()")
_HINTED = etree.XPath(
    "(//*[@class][contains(@class, 'date') or contains(@class, 'publish')"
    " or contains(@class, 'posted') or contains(@class, 'byline')])"
    f"[position() <= {MAX_HINTED}]"
)
_DESCRIPTIONS = etree.XPath(
    "(//meta[@name='description' or @property='og:description'])[position() <= 2]/@content"
)
PHRASE_REACH = 40  # characters after a publication phrase that may hold its date
MAX_DESCRIPTION = 1_000  # characters of a description read
_UPDATE = re.compile(r"modif|updat|edited|comment", re.IGNORECASE)  # never a publication date
_SKIPPED_TAGS = {"script", "style", "noscript", "template", "svg", "button", "select"}

# Meta names (name, property or http-equiv), most specific first; never modified/updated dates.
META_NAMES = (
    "article:published_time", "og:article:published_time", "og:published_time",
    "article:published", "published_time", "article.published", "parsely-pub-date",
    "sailthru.date", "datepublished", "date_published", "date-published", "publish-date",
    "publish_date", "publishdate", "published-date", "published_date", "publication_date",
    "pubdate", "pub_date", "og:pubdate", "bt:pubdate", "rnews:datepublished",
    "citation_publication_date", "citation_online_date", "citation_date", "dc.date.issued",
    "dcterms.issued", "dc.date.published", "dc.date.created", "dcterms.created", "dc.date",
    "dcterms.date", "originalpublicationdate", "article_date_original",
    "cxenseparse:recs:publishtime", "article:post_date", "displaydate", "date",
)  # fmt: skip
_META_RANK = {name: rank for rank, name in enumerate(META_NAMES)}


def _stamps(values: Iterable[str | None], source: DateSource) -> Iterator[DateFound]:
    for value in values:
        if value and (stamp := value_stamp(value)):
            yield DateFound.of(stamp, source)


def json_ld_dates(tree: etree._Element) -> Iterator[DateFound]:
    """`datePublished` of JSON-LD blocks (in @graph and lists too), articles first; malformed
    blocks are skipped."""
    found = [
        (type_rank(node), value)
        for node in json_ld_objects(tree)
        if isinstance(value := node.get("datePublished"), str)
    ]
    found.sort(key=lambda pair: pair[0])  # stable: document order within a rank
    yield from _stamps((value for _, value in found), DateSource.JSON_LD)


def meta_dates(tree: etree._Element) -> Iterator[DateFound]:
    """Published-time meta tags, the most specific name first."""
    ranked = []
    for meta in _METAS(tree):
        key = meta.get("property") or meta.get("name") or meta.get("http-equiv") or ""
        rank = _META_RANK.get(key.strip().lower())
        if rank is not None:
            ranked.append((rank, meta.get("content")))
    ranked.sort(key=lambda pair: pair[0])
    yield from _stamps((content for _, content in ranked), DateSource.META)


def _text_of(element: etree._Element, limit: int = MAX_VALUE) -> str:
    """The element's text, read only up to `limit` characters (a class may mark the whole body)."""
    parts: list[str] = []
    for text in element.itertext():
        parts.append(text)
        limit -= len(text)
        if limit <= 0:
            break
    return "".join(parts)


def _element_value(element: etree._Element) -> str | None:
    return element.get("content") or element.get("datetime") or _text_of(element)


def microdata_dates(tree: etree._Element) -> Iterator[DateFound]:
    """Elements marked itemprop="datePublished", in document order."""
    yield from _stamps(map(_element_value, _ITEMPROPS(tree)), DateSource.MICRODATA)


def _time_rank(element: etree._Element) -> int | None:
    """0 marked as published, 1 inside an article or header, 2 elsewhere; None for updates."""
    marks = " ".join(element.get(name, "") for name in ("class", "itemprop", "id")).lower()
    if _UPDATE.search(marks):
        return None
    if element.get("pubdate") is not None or "publi" in marks:
        return 0
    if any(True for _ in element.iterancestors("article", "header")):
        return 1
    return 2


def time_dates(tree: etree._Element) -> Iterator[DateFound]:
    """<time> elements: marked as published first, then those in the article, then the rest."""
    ranked = []
    for element in _TIMES(tree):
        rank = _time_rank(element)
        if rank is not None:
            ranked.append((rank, _element_value(element)))
    ranked.sort(key=lambda pair: pair[0])
    yield from _stamps((value for _, value in ranked), DateSource.TIME_ELEMENT)


def _visible(text: str) -> int:
    """Characters a reader sees: the indentation of the page's source is not text."""
    return len(text) - sum(ch.isspace() for ch in text) + (1 if text.strip() else 0)


def _following(start: etree._Element, budget: int) -> str:
    """Up to `budget` characters of visible text after `start` in document order (its own text
    excluded), visiting at most MAX_WALK nodes."""
    parts: list[str] = []
    node: etree._Element | None = start
    entering = False
    for _ in range(MAX_WALK):
        if node is None or budget <= 0:
            break
        if entering:
            visible = isinstance(node.tag, str) and node.tag not in _SKIPPED_TAGS
            if visible and node.text:
                parts.append(node.text)
                budget -= _visible(node.text)
            child = next(iter(node), None) if visible else None
            if child is not None:
                node = child
                continue
        if node.tail:
            parts.append(node.tail)
            budget -= _visible(node.tail)
        following = node.getnext()
        node, entering = (following, True) if following is not None else (node.getparent(), False)
    return " ".join(parts)


def _preceding(start: etree._Element, budget: int) -> str:
    """Up to `budget` characters of visible text before `start`, read backwards in document
    order from it, visiting at most MAX_WALK nodes."""
    parts: list[str] = []
    node: etree._Element = start
    entering = False  # True: read `node`'s subtree from its end; False: step back from `node`
    for _ in range(MAX_WALK):
        if budget <= 0:
            break
        visible = isinstance(node.tag, str) and node.tag not in _SKIPPED_TAGS
        last = next(node.iterchildren(reversed=True), None) if entering and visible else None
        if last is not None:
            node, text = last, last.tail
        elif entering:
            text, entering = (node.text if visible else None), False
        else:
            previous = node.getprevious()
            if previous is not None:
                node, entering, text = previous, True, previous.tail
            else:
                parent = node.getparent()
                if parent is None:
                    break
                node, text = parent, parent.text
        if text:
            parts.append(text)
            budget -= _visible(text)
    return " ".join(reversed(parts))


def _words(text: str) -> str:
    return " ".join(text.split()).lower()


def _headline(tree: etree._Element) -> etree._Element | None:
    """The <h1> that the page's title contains (the article's, not the site logo's), else the
    first <h1>."""
    headlines = _HEADLINES(tree)
    titles = [_words(str(t))[: MAX_VALUE * 2] for t in _TITLE(tree)]
    for headline in headlines:
        text = _words("".join(headline.itertext())[: MAX_VALUE * 2])
        if len(text) >= 8 and any(text in title or title in text for title in titles if title):
            return headline
    return headlines[0] if headlines else None


def _found(texts: Iterable[str]) -> Iterator[DateFound]:
    for text in texts:
        for stamp in text_dates(text):
            yield DateFound.of(stamp, DateSource.TEXT)


def _marked(element: etree._Element) -> Iterator[DateFound]:
    """The dates of an element marked as a date, a two-digit year too ('Party, 30.10.23')."""
    text = _text_of(element)
    found = list(_found([text]))
    yield from found or (DateFound.of(s, DateSource.TEXT) for s in short_year_dates(text))


def visible_text_dates(
    tree: etree._Element, headline: etree._Element | None = None
) -> Iterator[DateFound]:
    """Dates in the visible text: right after the headline (its byline), just before it (nearest
    first), further after it, then in elements whose class names a date or a byline. Past the
    first BYLINE characters after the headline only a full day counts: a month alone there is
    an archive link or an event in the story, not when the story was published; and a day
    there is further from the headline than a dateline just above it. The headline is the
    element given (the one printing the page's chosen title), else the <h1> the page's title
    names."""
    headline = headline if headline is not None else _headline(tree)
    if headline is not None:
        after = _following(headline, TEXT_WINDOW)
        yield from _found([after[:BYLINE]])
        yield from reversed(list(_found([_preceding(headline, TEXT_BEFORE)])))
        yield from (f for f in _found([after]) if f.precision == DatePrecision.DAY)
    for element in _HINTED(tree):
        if not _UPDATE.search(element.get("class", "")):
            yield from _marked(element)


def described_dates(tree: etree._Element) -> Iterator[DateFound]:
    """Dates the page's description says it was published on ("Notizia del 14 Gennaio 2020"):
    right after a publication phrase (`phrases`) only, since a description tells of other days
    too."""
    for description in _DESCRIPTIONS(tree):
        text = str(description)[:MAX_DESCRIPTION]
        for phrase in PUBLISHED.finditer(text):
            stamp = next(text_dates(text[phrase.end() : phrase.end() + PHRASE_REACH]), None)
            if stamp is not None:
                yield DateFound.of(stamp, DateSource.META)
