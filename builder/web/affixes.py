"""Site names glued to a headline: `… | Börsen-Zeitung`, `… - Golem.de`, `… – DW – 28.04.2023`,
`…：朝日新聞デジタル`, `NEWS WEB EASY|…`. A segment at either end of a title is dropped when it
names the site (as its site name, publisher or domain says, or written as a host name), and a
date at its end; a title is never emptied. The separators are data (`titles.toml`)."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

RULES = tomllib.loads(Path(__file__).with_name("titles.toml").read_text(encoding="utf-8"))
_CJK = "\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef"


def _alternation(items: Iterable[str]) -> str:
    return "|".join(re.escape(i) for i in sorted(items, key=len, reverse=True))


SEPARATOR = re.compile(
    rf"\s+(?:{_alternation(RULES['separators'])})\s+"  # spaced: "Headline - Site"
    rf"|\s*(?:{_alternation(RULES['tight'])})\s*"  # also unspaced: "Headline｜Site"
    r"|(?<=\w):\s+"  # "Topic: Headline"
    rf"|(?<=[{_CJK}])-|-(?=[{_CJK}])"  # a hyphen against CJK text: "…城！-新华网"
)
_DATE = re.compile(r"[\d\s./-]*\d{4}[\d\s./-]*|[\d\s./-]*\d{1,2}\.\s*\d{1,2}\.")
_NOT_ALNUM = re.compile(r"[\W_]+")  # accents too, once decomposed: they are not word characters
_HOST = re.compile(r"(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,6}", re.IGNORECASE)
_COLON = re.compile(r"\s*:\s+")
MIN_CONTAINED = 5  # a site key this long names the site inside a longer segment too
_TLD_SECOND = {"co", "com", "org", "net", "gov", "ac", "or", "ne", "go", "gob", "edu"}


def key(text: str) -> str:
    """Letters and digits only, case-folded and without accents: 'Seznam Zprávy' -> 'seznamzpravy'."""
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKD", text.casefold()))


def domain_keys(address: str | None) -> set[str]:
    """The keys a site's host gives: 'www.golem.de' -> {'golemde', 'golem'}."""
    try:
        host = urlsplit(address or "").hostname or ""
    except ValueError:
        return set()
    labels = [label for label in host.split(".") if label and label != "www"]
    if len(labels) < 2:
        return set()
    cut = 3 if len(labels) > 2 and labels[-2] in _TLD_SECOND else 2
    name = labels[-cut]
    return {key(".".join(labels[-cut:])), key(name)} - {""}


def _is_date(segment: str) -> bool:
    return bool(_DATE.fullmatch(segment.strip()))


def _is_host(segment: str) -> bool:
    """A segment written as a host name ('FASSETTE.NET', 'Golem.de') names a site, whichever."""
    return bool(_HOST.fullmatch(segment.strip()))


def _is_site(segment: str, keys: Iterable[str], loose: bool) -> bool:
    """The segment is the site's name: a host name, or equal to a key; `loose`, also starting or
    ending with a long key and at most three times as long ('Daily Mail Online' for 'Mail
    Online'), or the start or end of a long key ('Analyse Opinion Critique' of 'AOC media -
    Analyse Opinion Critique')."""
    mine = key(segment)
    if not mine:
        return False
    if _is_host(segment):
        return True
    for site in keys:
        short, long = sorted((mine, site), key=len)
        if short == long:
            return True
        if not loose or len(short) < MIN_CONTAINED:
            continue
        if long == mine and len(long) > 3 * len(short):
            continue
        if long.startswith(short) or long.endswith(short):
            return True
    return False


def strip_site(title: str, keys: Iterable[str]) -> str:
    """The title without the segments at its ends that name the site, and the dates at its end;
    with no keys, only the host names at its ends. A site's name in front is written as it is
    ('NEWS WEB EASY|…'), behind it may be decorated ('… | sheego ♥ Magazin'); what follows a
    colon is a headline after its topic ('Trome celebra: Trome gana la copa'), never a site."""
    parts = SEPARATOR.split(title)
    separators = SEPARATOR.findall(title)
    start, end = 0, len(parts)

    while end - start > 1 and not _COLON.fullmatch(separators[end - 2]):  # "Topic: Headline"
        if not (_is_date(parts[end - 1]) or _is_site(parts[end - 1], keys, loose=True)):
            break
        end -= 1
    while end - start > 1 and _is_site(parts[start], keys, loose=False):
        start += 1
    kept = [parts[start]]
    for i in range(start + 1, end):
        kept += [separators[i - 1], parts[i]]
    stripped = "".join(kept).strip()
    return stripped if any(ch.isalpha() for ch in stripped) else title
