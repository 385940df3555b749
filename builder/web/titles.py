"""The headline of a page, chosen the way its date is: every source gathered, then the one the
others agree with.

Sources, most trusted first: the article's JSON-LD `headline`, the page's <h1>s, og:title,
twitter:title, the article's JSON-LD `name`, then <title>. The metadata lose the site's name
glued to them (`builder.web.affixes`); an <h1> loses only a host name ('| FASSETTE.NET'), since a
domain made of words ('welpenkaufen24.de') would cut a printed headline short. Two sources agree
when they say the same words, or when one says the other's less a segment at one end
('Stromausfall Berlin: Strom ist zurück' and 'Strom ist zurück').

The most trusted source another one agrees with is chosen. When an <h1> prints it (the same
words, or them less a topic or a site), the <h1>'s text is taken, with the page's own quotes and
dashes; of metadata saying the same words, the one with typeset quotes and dashes. Without any
agreement: the <h1> inside the page's <article> or <main>, else the most trusted metadata, else
any <h1>. An <h1> that is only a segment at one end of the <title> ('Rezept | Liebe geht durch
den Magen' over an <h1> 'Liebe geht durch den Magen') is the blog's name, not a headline.

The element printing the chosen title (its <h1>, an <h2>, <h3> or element classed as a title,
else one whose own text is the title) is the headline the date is looked for around.

Every search is bounded: at most MAX_METAS meta tags, MAX_H1 <h1> and MAX_PROMINENT other
headings, values cut to MAX_TITLE characters, the JSON-LD bounds of `builder.dates.jsonld`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import islice

from lxml import etree

from builder.dates.jsonld import json_ld_objects, type_rank
from builder.text.normalize import has_word_characters
from builder.web.affixes import RULES, SEPARATOR, domain_keys, key, strip_site
from schema.article import TitleSource

MAX_TITLE = 400  # characters: longer is a description or a whole block, not a headline
MAX_METAS = 400
MAX_H1 = 8
MAX_PROMINENT = 40  # headings and title-classed elements that may print the headline
MAX_SITE_NAMES = 12
MAX_DEPTH = 8  # element levels read inside a heading
MAX_NODES = 200  # elements read inside a heading (an unclosed <h1> may hold the whole page)

_SITE_METAS = ("og:site_name", "application-name", "twitter:site")
_META_NAMES = {"og:title", "twitter:title", *_SITE_METAS}
_PROMINENT = etree.XPath(
    "(//*[self::h2 or self::h3 or @itemprop='headline' or contains(@class, 'title')"
    f" or contains(@class, 'headline')])[position() <= {MAX_PROMINENT}]"
)
_SAYING = etree.XPath("(//body//*[normalize-space(text()) = $title])[1]")  # one scan, in C
_NOT_TEXT = {"script", "style", "noscript", "template", "svg", "button", "rt", "rp"}
_BLOCKS = {"br", "div", "p", "li", "h1", "h2", "h3", "h4", "h5", "h6"}
_EDGES = re.compile(r"^[\s:|·•–—-]+|[\s:|·•–—-]+$")  # what a kicker left out leaves behind
_KICKERS = tuple(RULES["kicker_classes"])
_SITE_TYPES = {"website", "organization", "newsmediaorganization", "corporation"}
_COLONS = (":", "：")


@dataclass(frozen=True, slots=True)
class TitleFound:
    """The chosen headline, its source, and the element printing it (None when not found)."""

    title: str
    source: TitleSource
    headline: etree._Element | None = None


@dataclass(frozen=True, slots=True)
class _Candidate:
    source: TitleSource
    text: str
    element: etree._Element | None = None


def _clean(value: object) -> str:
    """One line of text, entities that were escaped twice read, cut to MAX_TITLE; '' for none."""
    if not isinstance(value, str):
        return ""
    text = " ".join(html.unescape(value[:MAX_TITLE]).split())
    return text if has_word_characters(text) else ""


def _is_kicker(element: etree._Element) -> bool:
    marks = f"{element.get('class', '')} {element.get('id', '')}".lower()
    return any(word in marks for word in _KICKERS)


def _printed(element: etree._Element) -> str:
    """The element's visible text without a kicker or ruby readings: at most MAX_TITLE
    characters, MAX_DEPTH levels and MAX_NODES elements read."""
    parts: list[str] = []
    budget = {"chars": MAX_TITLE, "nodes": MAX_NODES}

    def add(text: str | None) -> None:
        parts.append(text or "")
        budget["chars"] -= len(parts[-1])

    def walk(node: etree._Element, depth: int) -> None:
        add(node.text)
        for child in node:
            budget["nodes"] -= 1
            if budget["chars"] < 0 or budget["nodes"] < 0:
                return
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag and tag not in _NOT_TEXT and depth < MAX_DEPTH and not _is_kicker(child):
                gap = " " if tag in _BLOCKS else ""  # <br> or a block: a word ends there
                add(gap)
                walk(child, depth + 1)
                add(gap)
            add(child.tail)

    walk(element, 0)
    return _clean(_EDGES.sub("", "".join(parts)))


def _metas(tree: etree._Element) -> dict[str, str]:
    """The first value of each meta tag naming a title or the site."""
    found: dict[str, str] = {}
    for meta in islice(tree.iter("meta"), MAX_METAS):
        for name in (meta.get("property"), meta.get("name")):
            if name in _META_NAMES:
                found.setdefault(name, meta.get("content") or "")
    return found


def _json_ld(tree: etree._Element) -> tuple[list[str], list[str], list[str]]:
    """The headlines and names of the page's articles, and the names of its site and
    publisher."""
    headlines: list[str] = []
    names: list[str] = []
    sites: list[str] = []
    for node in json_ld_objects(tree):
        if type_rank(node) == 0:
            headlines.append(_clean(node.get("headline")))
            names.append(_clean(node.get("name")))
            publisher = node.get("publisher")
            if isinstance(publisher, dict):
                sites.append(_clean(publisher.get("name")))
        kinds = node.get("@type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if any(isinstance(k, str) and k.lower() in _SITE_TYPES for k in kinds):
            sites.append(_clean(node.get("name")))
    return [h for h in headlines if h], [n for n in names if n], sites[:MAX_SITE_NAMES]


def _title_tag(tree: etree._Element) -> str:
    title = tree.find("head/title")
    title = title if title is not None else next(tree.iter("title"), None)
    return "" if title is None else _clean(title.text_content())


def _candidates(tree: etree._Element, address: str | None) -> list[_Candidate]:
    """Every source's title in order of trust; the metadata without the site's name."""
    metas = _metas(tree)
    headlines, names, sites = _json_ld(tree)
    sites += [_clean(metas.get(name, "").lstrip("@")) for name in _SITE_METAS]
    keys = ({key(site) for site in sites} | domain_keys(address)) - {""}
    h1s = [(_printed(e), e) for e in islice(tree.iter("h1"), MAX_H1)]
    title = _title_tag(tree)
    keys |= {key(text) for text, _ in h1s if _names_site(text, title)}
    found = [_Candidate(TitleSource.JSON_LD, h) for h in headlines[:1]]
    found += [_Candidate(TitleSource.H1, t, e) for t, e in h1s if t and key(t) not in keys]
    found += [
        _Candidate(TitleSource.OG, _clean(metas.get("og:title"))),
        _Candidate(TitleSource.TWITTER, _clean(metas.get("twitter:title"))),
        *(_Candidate(TitleSource.JSON_LD, n) for n in names[:1]),
        _Candidate(TitleSource.TITLE_TAG, title),
    ]
    return [
        replace(c, text=strip_site(c.text, () if c.source == TitleSource.H1 else keys))
        for c in found
        if c.text
    ]


def _segments(title: str) -> tuple[list[str], list[str]]:
    """A title's segments as `key`s, and the separators before each but the first; a segment
    without letters or digits ('»' closing a quote) belongs to its neighbour."""
    parts: list[str] = []
    separators: list[str] = []
    for part, separator in zip(
        SEPARATOR.split(title), ["", *SEPARATOR.findall(title)], strict=True
    ):
        if (mine := key(part)) or not parts:
            parts.append(mine)
            separators.append(separator)
    return parts, separators[1:]


def _names_site(text: str, title: str) -> bool:
    """An <h1> that is a segment at one end of the <title> but not its headline: the site's name
    printed as a logo."""
    mine = key(text)
    parts, _ = _segments(title)
    at_end = len(parts) > 1 and mine in (parts[0], parts[-1])
    return at_end and not _part_of(text, title)


def _part_of(short: str, long: str) -> bool:
    """`short` is `long` less separated segments at one end, as sites write a headline into a
    title: before a separator, with a site or section after it ('Headline | Site'); after a
    colon, with a topic or blog name before it ('Topic: Headline'). The other way round it must
    be at least half of `long`: a short segment there is more often a site's name."""
    mine = key(short)
    parts, separators = _segments(long)
    if not mine or len(parts) < 2:
        return False
    long_enough = 2 * len(mine) >= sum(map(len, parts))
    for cut in range(1, len(parts)):
        colon = separators[cut - 1].strip() in _COLONS
        if "".join(parts[:cut]) == mine and (long_enough or not colon):
            return True
        if "".join(parts[cut:]) == mine and (long_enough or colon):
            return True
    return False


def _agree(a: str, b: str) -> bool:
    if key(a) == key(b):
        return True
    short, long = sorted((a, b), key=len)
    return _part_of(short, long)


def _typographic(text: str) -> int:
    """Quotes and dashes as typeset (’ “ „ – —): what an editor wrote, not a plain copy."""
    return sum(not ch.isascii() and not ch.isalnum() and not ch.isspace() for ch in text)


def _prints(h1: _Candidate, title: str) -> bool:
    """The <h1> prints `title`, with the page's own quotes and dashes, or less a topic or site."""
    return h1.source == TitleSource.H1 and (key(h1.text) == key(title) or _part_of(h1.text, title))


def _in_article(element: etree._Element) -> bool:
    """Inside the page's <article> or <main>: the article's own heading, not the site's."""
    return any(True for _ in element.iterancestors("article", "main"))


def _choose(candidates: list[_Candidate]) -> _Candidate | None:
    """The most trusted candidate another source agrees with, or the <h1> printing it; without
    agreement, the <h1> inside the article, else the most trusted metadata, else any <h1>."""
    for c in candidates:
        others = [o for o in candidates if o.source != c.source and _agree(c.text, o.text)]
        if others:
            printed = next((o for o in others if _prints(o, c.text)), None)
            if printed is not None:
                return printed
            same = [o for o in others if key(o.text) == key(c.text)]
            return max([c, *same], key=lambda o: _typographic(o.text))
    article = (c for c in candidates if c.element is not None and _in_article(c.element))
    metadata = (c for c in candidates if c.source != TitleSource.H1)
    return next(article, None) or next(metadata, next(iter(candidates), None))


def _printing(
    chosen: _Candidate, candidates: Iterable[_Candidate], tree: etree._Element
) -> TitleFound:
    """The chosen title with the element that prints it: its own, an agreeing <h1>'s, a heading
    saying its words (or them less a segment at one end, which is then the title), else the
    first element whose own text is the title (a bold line in a table layout)."""
    if chosen.element is not None:
        return TitleFound(chosen.text, chosen.source, chosen.element)
    for c in candidates:
        if c.element is not None and key(c.text) == key(chosen.text):
            return TitleFound(chosen.text, chosen.source, c.element)
    for element in _PROMINENT(tree):
        text = _printed(element)
        if text and key(text) == key(chosen.text):
            return TitleFound(chosen.text, chosen.source, element)
        if text and len(text) < len(chosen.text) and _part_of(text, chosen.text):
            return TitleFound(text, chosen.source, element)
    saying = _SAYING(tree, title=chosen.text)
    return TitleFound(chosen.text, chosen.source, saying[0] if saying else None)


def page_title(tree: etree._Element, address: str | None) -> TitleFound | None:
    """The page's headline and where it was found, or None when the page gives none."""
    candidates = _candidates(tree, address)
    chosen = _choose(candidates)
    return None if chosen is None else _printing(chosen, candidates, tree)
