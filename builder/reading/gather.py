"""The read phase put together: the units' results as one result per input file.

A split file comes back as several ranges. It is whole again here: its hash is the one the build
computed scanning it. Files that changed while they were read are not here: the reading phase
(`builder.reading.phase`) reads them again, or stops the build.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from builder.accounting import READ_STEP, StepCounters
from builder.outcomes import Reject
from builder.reading.plan import Scan
from builder.reading.result import FileResult, UnitResult
from builder.reading.unit import empty_reject
from builder.stages.base import KeyFile


@dataclass
class ReadPhase:
    files: list[FileResult] = field(default_factory=list)  # one per input file, in input order
    parts: dict[str, int] = field(default_factory=dict)  # part files holding rows: bytes
    rejects_parts: list[str] = field(default_factory=list)  # part files holding rejects
    keys: list[KeyFile] = field(default_factory=list)  # key rows of the rows, for the stages
    file_rejects: list[Reject] = field(default_factory=list)  # split files rejected whole
    steps: list[StepCounters] = field(default_factory=list)  # every unit's, to be summed


def gather(units: list[UnitResult], scans: dict[str, Scan]) -> ReadPhase:
    """`units` in unit order, none holding a changed file; `scans` are the split files, by name."""
    phase = ReadPhase()
    ranges: dict[str, list[FileResult]] = defaultdict(list)
    for unit in units:
        for file in unit.files:
            if file.rel in scans:
                ranges[file.rel].append(file)
            else:
                phase.files.append(file)
        phase.parts |= unit.parts
        phase.rejects_parts += [unit.rejects_part] if unit.rejects_part else []
        phase.keys += [unit.keys] if unit.keys else []
        phase.steps += unit.steps
    for rel, scan in scans.items():
        whole = FileResult(rel, sum(r.size for r in ranges[rel]), scan.sha256)
        whole.records = sum(r.records for r in ranges[rel])
        whole.passed_over = sum(r.passed_over for r in ranges[rel])
        if whole.records == 0 and whole.passed_over == 0:
            reject = empty_reject(rel)
            whole.records = 1
            phase.file_rejects.append(reject)
            phase.steps.append(
                StepCounters(READ_STEP, rows_in=1, rejects=Counter([reject.reason.value]))
            )
        phase.files.append(whole)
    phase.files.sort(key=lambda f: f.rel)
    return phase
