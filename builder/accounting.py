"""The accounting identity: every record read is exactly one of a row, a reject or a duplicate."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

READ_STEP = "read"  # the counters of the readers: records found, rejects while reading


@dataclass(slots=True)
class StepCounters:
    """What one step did over the whole build: rows in and out, rejects by reason, time."""

    name: str
    rows_in: int = 0
    rows_out: int = 0
    rejects: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    # What the step noticed without dropping a row, by name: records a reader skipped (by
    # kind), articles a boilerplate rule touched, declared languages the model contradicts.
    counts: Counter = field(default_factory=Counter)

    def add(self, other: StepCounters) -> None:
        self.rows_in += other.rows_in
        self.rows_out += other.rows_out
        self.rejects.update(other.rejects)
        self.seconds += other.seconds
        self.counts.update(other.counts)


@dataclass
class Accounting:
    files: int = 0
    records_read: int = 0
    rows: int = 0
    rejects: Counter = field(default_factory=Counter)
    duplicates: Counter = field(default_factory=Counter)
    # Files not read, and what they are: "not an input format", "fifo", "link outside the input".
    skipped: dict[str, str] = field(default_factory=dict)
    steps: list[StepCounters] = field(default_factory=list)  # in pipeline order

    @property
    def skipped_files(self) -> list[str]:
        return sorted(self.skipped)

    @property
    def skipped_records(self) -> Counter:
        """Records a reader passed over on purpose (a WARC request record), by kind."""
        return sum((s.counts for s in self.steps if s.name == READ_STEP), Counter())

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
            "skipped_files": self.skipped_files,
            "skipped_kinds": dict(sorted(self.skipped.items())),
            "skipped_records": dict(sorted(self.skipped_records.items())),
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
        if self.skipped_records:
            lines.append(("records skipped", sum(self.skipped_records.values())))
            lines += [(f"  {kind}", n) for kind, n in sorted(self.skipped_records.items())]
        if self.skipped:
            lines.append(("files skipped", len(self.skipped)))
            lines += [
                (f"  {kind}", n) for kind, n in sorted(Counter(self.skipped.values()).items())
            ]
        width = max(len(label) for label, _ in lines)
        out = [f"{label:<{width}}  {n:>10,}" for label, n in lines]
        check = "ok" if self.balanced else "MISMATCH"
        out.append(
            f"{'check':<{width}}  {check:>10}  (records read = rows + rejected + duplicates)"
        )
        return "\n".join(out + self._steps_table())

    def _steps_table(self) -> list[str]:
        if not self.steps:
            return []
        width = max(len(s.name) for s in self.steps)
        out = [
            "",
            f"{'step':<{width}}  {'rows in':>10}  {'rows out':>10}  {'rejected':>10}  seconds",
        ]
        for s in self.steps:
            out.append(
                f"{s.name:<{width}}  {s.rows_in:>10,}  {s.rows_out:>10,}  "
                f"{sum(s.rejects.values()):>10,}  {s.seconds:>7.2f}"
            )
        for s in self.steps:  # what each step noticed (the read step's: records skipped, above)
            if s.counts and s.name != READ_STEP:
                key_width = max(len(key) for key in s.counts)
                out += ["", f"{s.name}: noticed in rows it kept"]
                out += [f"  {key:<{key_width}}  {n:>10,}" for key, n in sorted(s.counts.items())]
        return out
