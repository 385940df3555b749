"""Takedowns (`build.remove`): a file of articles to keep out of every build, one per line.

Each line (after `#` comments and blank lines are dropped) is one of, recognised in this order:

- a URL: anything with `://` in it (`https://news.example/2021/02/story`): the article whose
  `url` is exactly that (its `id` is derived from it);
- a text hash: 64 hexadecimal digits, the sha256 of an article's text (`text_sha256`): every
  record with that text, wherever it was published;
- an id: 32 hexadecimal digits (`id`);
- a domain: a host name with at least one dot (`news.example`): every article of that domain
  and of its subdomains (`www.news.example`, `sport.news.example`).

A line holds one entry, optionally followed by white space and a `#` comment. Hexadecimal
digits and domains are taken in lower case. Anything else is refused when the config is read,
naming the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from builder.outcomes import article_id

Kind = Literal["url", "text_sha256", "id", "domain"]
_HASH = re.compile(r"^[0-9a-fA-F]{64}$")
_ID = re.compile(r"^[0-9a-fA-F]{32}$")
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"  # a host name's label: letters, digits and inner hyphens
_DOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+\.?$")
MAX_ENTRY = 4096  # characters of one line's entry


def kind_of(entry: str) -> Kind:
    """What an entry names; ValueError when it is none of the four."""
    if "://" in entry:
        return "url"
    if _HASH.match(entry):
        return "text_sha256"
    if _ID.match(entry):
        return "id"
    if _DOMAIN.match(entry):
        return "domain"
    raise ValueError(
        f"{entry[:100]!r} is not a URL (with ://), a text sha256 (64 hex digits), an id "
        "(32 hex digits) or a domain (a host name with a dot)"
    )


def _entry(line: str) -> str | None:
    """The entry of a line as written in the file: None for a blank or comment line."""
    words = line.split()
    if not words or words[0].startswith("#"):
        return None
    if len(words) > 1 and not words[1].startswith("#"):
        raise ValueError(f"one entry per line, found {len(words)} words (a comment starts with #)")
    if len(words[0]) > MAX_ENTRY:
        raise ValueError(f"an entry longer than {MAX_ENTRY:,} characters")
    entry = words[0]
    kind = kind_of(entry)
    return entry if kind == "url" else entry.lower().rstrip(".")


def read_removals(path: Path, shown: str) -> list[str]:
    """The entries of a takedown file, in its order, each once; ValueError naming `shown` and
    the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ValueError(f"{shown}: takedown file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{shown}: cannot read the takedown file: {exc}") from exc
    entries: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            entry = _entry(line)
        except ValueError as exc:
            raise ValueError(f"{shown}: line {number}: {exc}") from exc
        if entry is not None:
            entries[entry] = None
    return list(entries)


class Removals(BaseModel):
    """A takedown list as read when the config was loaded: the manifest keeps it whole, so a
    release says what was kept out of it, and workers need not see the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    entries: list[str]

    @cached_property
    def _by_kind(self) -> dict[str, dict[str, list[str]]]:
        """Per kind of key (id, text_sha256, domain, url), each value to the entries naming it;
        a URL names the id derived from it, and itself."""
        index: dict[str, dict[str, list[str]]] = {
            "id": {},
            "text_sha256": {},
            "domain": {},
            "url": {},
        }
        for entry in self.entries:
            kind = kind_of(entry)
            keys = [("id", article_id(entry)), ("url", entry)] if kind == "url" else [(kind, entry)]
            for key, value in keys:
                index[key].setdefault(value, []).append(entry)
        return index

    def listed(self, kind: str) -> list[str]:
        """The values of one kind of key the entries name: 'id' (URLs' ids too), 'text_sha256',
        'domain', 'url'."""
        return list(self._by_kind[kind])

    def domains(self, domains: Iterable[str | None]) -> dict[str, list[str]]:
        """Of these domains, those an entry names (itself or a parent domain), with the entries."""
        listed = self._by_kind["domain"]
        out: dict[str, list[str]] = {}
        for domain in domains:
            if not domain:
                continue
            labels = domain.lower().rstrip(".").split(".")
            named = [e for i in range(len(labels)) for e in listed.get(".".join(labels[i:]), [])]
            if named:
                out[domain] = named
        return out

    def matches(
        self,
        ids: Sequence[str | None],
        hashes: Sequence[str | None],
        domains: Sequence[str | None],
        urls: Sequence[str | None] | None = None,
    ) -> list[list[str]]:
        """For each article (its id, text hash, domain and, when given, URL), the entries that
        name it, in the file's order (none: it stays)."""
        index = self._by_kind
        by_domain = self.domains(set(domains))
        order = {entry: i for i, entry in enumerate(self.entries)}
        out = []
        for i, (id_, sha, domain) in enumerate(zip(ids, hashes, domains, strict=True)):
            named = [
                *index["id"].get(id_ or "", []),
                *index["text_sha256"].get(sha or "", []),
                *by_domain.get(domain or "", []),
                *(index["url"].get(urls[i] or "", []) if urls is not None else []),
            ]
            out.append(sorted(set(named), key=order.__getitem__))
        return out
