"""The objects of a page's JSON-LD blocks, read within fixed bounds: the page's date and its
headline both come from there, and a page may hold megabytes of JSON or nest it without end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from weakref import WeakKeyDictionary

from lxml import etree

MAX_SCRIPTS = 8  # JSON-LD blocks read per page
MAX_SCRIPT_CHARS = 300_000  # a longer block is skipped, not parsed
MAX_JSON_NODES = 5_000  # objects and lists visited across one block
MAX_JSON_DEPTH = 12

_SCRIPTS = etree.XPath(
    "(//script[contains(translate(@type, 'LDJSON', 'ldjson'), 'ld+json')])"
    f"[position() <= {MAX_SCRIPTS}]"
)
# A page's objects while its tree lives: gone with the page, never held for the next one.
_READ: WeakKeyDictionary[etree._Element, tuple[dict, ...]] = WeakKeyDictionary()
_ARTICLE_TYPES = {"blogposting", "liveblogposting", "socialmediaposting", "posting", "report"}
_MEDIA_TYPES = {"imageobject", "videoobject", "audioobject", "mediaobject", "person"}


def type_rank(node: dict) -> int:
    """0 for an article, 2 for a media object or person, 1 for anything else (a WebPage)."""
    kinds = node.get("@type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    names = {k.rsplit("/", 1)[-1].lower() for k in kinds if isinstance(k, str)}
    if any(n.endswith("article") or n in _ARTICLE_TYPES for n in names):
        return 0
    return 2 if names & _MEDIA_TYPES else 1


def _objects(data: object) -> Iterator[dict]:
    """Every object of one JSON value in document order (@graph and lists too), within bounds."""
    stack: list[tuple[object, int]] = [(data, 0)]
    visited = 0
    while stack and visited < MAX_JSON_NODES:
        node, depth = stack.pop()
        visited += 1
        if depth > MAX_JSON_DEPTH:
            continue
        if isinstance(node, dict):
            yield node
            children = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            continue
        stack.extend((child, depth + 1) for child in reversed(children))


def json_ld_objects(tree: etree._Element) -> tuple[dict, ...]:
    """The objects of the page's JSON-LD blocks, block by block; malformed blocks are skipped.
    Parsed once per page (the date and the headline read the same blocks): read them, never
    change them."""
    found = _READ.get(tree)
    if found is None:
        found = _READ[tree] = tuple(_read(tree))
    return found


def _read(tree: etree._Element) -> Iterator[dict]:
    for script in _SCRIPTS(tree):
        text = script.text or ""
        if len(text) > MAX_SCRIPT_CHARS:
            continue
        text = text.strip().removeprefix("<![CDATA[").removesuffix("]]>").strip()
        try:
            data = json.loads(text, strict=False)
        except (ValueError, RecursionError):
            continue
        yield from _objects(data)
