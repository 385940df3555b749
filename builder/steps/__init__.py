"""Pipeline steps: each turns drafts into drafts or rejects, passing rejects through untouched."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from builder.records import Draft, Reject


class Step:
    """One per-article transformation; subclasses implement `process` as a pure function of the draft."""

    def process(self, draft: Draft) -> Draft | Reject:
        raise NotImplementedError

    def run(self, items: Iterable[Draft | Reject]) -> Iterator[Draft | Reject]:
        for item in items:
            yield self.process(item) if isinstance(item, Draft) else item
