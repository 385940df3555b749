"""One page to an article's fields: decode, parse once, date it, extract with trafilatura under
the time limit, and check the page is an article at all (`builder.web.pages`)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import trafilatura
from lxml.html import HtmlElement
from trafilatura.metadata import (
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_url,
)
from trafilatura.settings import Document
from trafilatura.utils import load_html

from builder.dates import DateFound, page_date
from builder.outcomes import RejectError, RejectReason, domain_of, excerpt
from builder.records import WebPage
from builder.text.decode import UndecodableError
from builder.web.charset import page_text
from builder.web.pages import check_body, check_page, check_response
from builder.web.timelimit import TimeLimitExceeded, time_limit
from builder.web.titles import page_title
from schema.article import TitleSource

# trafilatura and htmldate log every page they discard; the build reports rejects itself.
for _name in ("trafilatura", "htmldate", "courlan"):
    logging.getLogger(_name).addHandler(logging.NullHandler())
    logging.getLogger(_name).propagate = False


SHORT_BODY = 200  # characters: a shorter body is extracted a second time, favouring recall


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str
    title: str | None
    title_source: TitleSource | None
    authors: list[str]
    canonical_url: str | None
    site_name: str | None
    language: str | None  # as the page declares it (<html lang>, Content-Language)
    date: DateFound | None
    notes: tuple[str, ...] = ()  # what went wrong without losing the page, for the step's counts
    day_dependent: bool = False  # a date candidate was dropped for being after the build day


def latest_date(page: WebPage, today: dt.date) -> dt.date:
    """The last day the page can have been published: the fetch day, else the build day."""
    fetched = _fetch_day(page)
    return today if fetched is None else min(today, fetched)


def _fetch_day(page: WebPage) -> dt.date | None:
    if page.fetched:
        try:
            return dt.date.fromisoformat(page.fetched[:10])
        except ValueError:
            pass
    return None


def extract_page(page: WebPage, today: dt.date, seconds: float) -> Extracted:
    """The article in the page; RejectError when it has none, or takes over `seconds`."""
    check_response(page.status)
    try:
        text = page_text(page.html, page.charset)
    except UndecodableError as exc:
        raise RejectError(RejectReason.UNDECODABLE, str(exc), excerpt(page.html)) from exc
    latest = latest_date(page, today)
    fetched = _fetch_day(page)
    by_today = fetched is None or fetched > today  # a later build day may date the page otherwise
    try:
        with time_limit(seconds):
            return _extract(text, page.url, latest, by_today)
    except TimeLimitExceeded as exc:
        raise RejectError(
            RejectReason.EXTRACTION_TIMEOUT,
            f"extraction took over build.extraction_timeout={seconds:g} s; the page is left out",
            excerpt(text),
        ) from exc


def _extract(text: str, url: str | None, latest: dt.date, by_today: bool) -> Extracted:
    tree = load_html(text)
    if tree is None or len(tree) == 0:
        raise RejectError(
            RejectReason.NO_TEXT, "not an HTML page (nothing to parse)", excerpt(text)
        )
    meta, notes = _metadata(tree)
    address = url or meta.url  # the fetched URL, else the page's canonical one
    try:
        return _article(text, tree, address, meta, notes, latest, by_today)
    except RejectError as exc:  # a page that is not an article still counts for its domain
        exc.domain = exc.domain or domain_of(address)
        raise


def _article(
    text: str,
    tree: HtmlElement,
    address: str | None,
    meta: Document,
    notes: tuple[str, ...],
    latest: dt.date,
    by_today: bool,
) -> Extracted:
    check_page(tree, address)
    titled = page_title(tree, address)
    late: list[str] = []
    date = page_date(tree, address, latest, titled.headline if titled else None, late)
    body = _body(tree)
    if not body:
        raise RejectError(RejectReason.NO_TEXT, "no article body found in the page", excerpt(text))
    title = titled.title if titled else None
    check_body(body, title)
    return Extracted(
        text=body,
        title=title,
        title_source=titled.source if titled else None,
        authors=[a.strip() for a in (meta.author or "").split(";") if a.strip()],
        canonical_url=meta.url or None,
        site_name=(meta.sitename or "").lstrip("@") or None,
        language=_declared_language(tree),
        date=date,
        notes=notes,
        day_dependent=by_today and bool(late),
    )


def _body(tree: HtmlElement) -> str:
    """The article's text as trafilatura extracts it. A body under SHORT_BODY characters is
    often a tagline the page repeats, the article having been passed over: trafilatura is asked
    again, favouring recall, and the longer body is kept."""
    body = _extracted(tree)
    if len(body) < SHORT_BODY:
        body = max(body, _extracted(tree, favor_recall=True), key=len)
    return body


def _extracted(tree: HtmlElement, favor_recall: bool = False) -> str:
    # Without metadata trafilatura never dates the page (that is builder.dates' work), so its
    # result does not depend on the build's day; comments are not part of an article.
    document = trafilatura.bare_extraction(tree, include_comments=False, favor_recall=favor_recall)
    return (document.text or "").strip() if isinstance(document, Document) else ""


# What trafilatura's JSON-LD reader raises on JSON it does not expect (a list where it wants an
# object, a number for a name); the page's meta tags stand then.
JSON_LD_FAILURES = (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError)


def _metadata(tree: HtmlElement) -> tuple[Document, tuple[str, ...]]:
    """Authors, canonical URL and site name as trafilatura's extract_metadata finds them,
    without its title (`builder.web.titles` chooses the headline), date, categories, tags and
    licence, and with authors from the page's metadata only: its search of the visible text
    copies the whole tree (a sixth of a page's time). Also what went wrong on the way, as notes
    for the step's counts."""
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:  # a one-word "author" is a handle or a site
        meta.author = None
    notes: tuple[str, ...] = ()
    try:
        meta = extract_meta_json(tree, meta)
    except JSON_LD_FAILURES as exc:
        notes = (f"JSON-LD unreadable ({type(exc).__name__}); meta tags used",)
    meta.url = meta.url or extract_url(tree)
    meta.sitename = meta.sitename or extract_sitename(tree)
    return meta, notes


def _declared_language(tree: HtmlElement) -> str | None:
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not lang:
        found = tree.xpath(
            '//meta[translate(@http-equiv,"CONTELAGU","contelagu")="content-language"]/@content'
        )
        lang = found[0] if found else None
    return lang.strip() if lang else None
