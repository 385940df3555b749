"""The accounting identity: every record read is exactly one of a row, a reject or a duplicate."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Accounting:
    files: int = 0
    records_read: int = 0
    rows: int = 0
    rejects: Counter = field(default_factory=Counter)
    duplicates: Counter = field(default_factory=Counter)
    skipped_files: list[str] = field(default_factory=list)  # not an input format

    @property
    def rejected(self) -> int:
        return sum(self.rejects.values())

    @property
    def duplicated(self) -> int:
        return sum(self.duplicates.values())

    @property
    def balanced(self) -> bool:
        return self.records_read == self.rows + self.rejected + self.duplicated

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "records_read": self.records_read,
            "rows": self.rows,
            "rejected": self.rejected,
            "duplicates": self.duplicated,
            "rejects_by_reason": dict(sorted(self.rejects.items())),
            "duplicates_by_reason": dict(sorted(self.duplicates.items())),
            "skipped_files": sorted(self.skipped_files),
        }

    def table(self) -> str:
        """The end-of-build summary, as plain aligned text."""
        lines = [
            ("files read", self.files),
            ("records read", self.records_read),
            ("rows written", self.rows),
        ]
        lines.append(("rejected", self.rejected))
        lines += [(f"  {reason}", n) for reason, n in sorted(self.rejects.items())]
        lines.append(("duplicates", self.duplicated))
        lines += [(f"  {reason}", n) for reason, n in sorted(self.duplicates.items())]
        if self.skipped_files:
            lines.append(("files skipped (not an input format)", len(self.skipped_files)))
        width = max(len(label) for label, _ in lines)
        out = [f"{label:<{width}}  {n:>10,}" for label, n in lines]
        check = "ok" if self.balanced else "MISMATCH"
        out.append(
            f"{'check':<{width}}  {check:>10}  (records read = rows + rejected + duplicates)"
        )
        return "\n".join(out)
