"""Semantic versions and the bump a schema change requires."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _TAG.match(text if text.startswith("v") else f"v{text}")
        if match is None:
            raise ValueError(f"{text!r} is not a semantic version X.Y.Z")
        return cls(*map(int, match.groups()))

    @classmethod
    def from_tag(cls, tag: str) -> Version | None:
        return cls.parse(tag) if _TAG.match(tag) else None

    def __lt__(self, other: Version) -> bool:
        return (self.major, self.minor, self.patch) < (other.major, other.minor, other.patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def tag(self) -> str:
        return f"v{self}"


@dataclass(frozen=True)
class SchemaChange:
    kind: str  # "removed", "type changed", "added"
    column: str
    detail: str = ""

    @property
    def breaking(self) -> bool:
        return self.kind != "added"

    def __str__(self) -> str:
        return f"column `{self.column}` {self.kind}{f' ({self.detail})' if self.detail else ''}"


def schema_changes(old: dict[str, str], new: dict[str, str]) -> list[SchemaChange]:
    """Differences between two manifests' `schema_fields` (column -> Arrow type)."""
    changes = [SchemaChange("removed", c) for c in old if c not in new]
    changes += [
        SchemaChange("type changed", c, f"{old[c]} -> {new[c]}")
        for c in old
        if c in new and old[c] != new[c]
    ]
    changes += [SchemaChange("added", c, new[c]) for c in new if c not in old]
    return changes


def required_bump_error(latest: Version, new: Version, changes: list[SchemaChange]) -> str | None:
    """Why `new` is not an acceptable successor of `latest`, or None when it is."""
    if new <= latest:
        return (
            f"version {new} is not after the latest published {latest.tag}: raise dataset.version"
        )
    breaking = [c for c in changes if c.breaking]
    if breaking and new.major <= latest.major:
        needed = Version(latest.major + 1, 0, 0)
        return f"{'; '.join(map(str, breaking))}: a breaking schema change needs a major bump (to {needed} or later), not {new}"
    if changes and (new.major, new.minor) <= (latest.major, latest.minor):
        needed = Version(latest.major, latest.minor + 1, 0)
        return f"{'; '.join(map(str, changes))}: an additive schema change needs at least a minor bump (to {needed}), not {new}"
    return None
