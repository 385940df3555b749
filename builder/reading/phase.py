"""The reading phase, run from the build: every work unit through the executor's workers, files
that changed while they were read read again once they are stable, and the results gathered.

A file that changes while it is read (a crawler still appending to it) is not left out: every
unit that held it is dropped and the file is planned and read again after a pause, up to RETRIES
times. A file that never holds still stops the build (InputChangedError, exit 7) with the
previous release in place, so a release always holds every record of the bytes it names.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from builder.errors import InputChangedError
from builder.executors import Executor
from builder.inputs.discover import Source, rediscover
from builder.progress import Progress
from builder.reading.gather import ReadPhase, gather
from builder.reading.plan import Piece, Planner
from builder.reading.result import UnitResult, UnitTask
from builder.reading.unit import process_unit

RETRIES = 3  # times a changed file is read again before the build stops
RETRY_WAIT = 2.0  # seconds before the first new reading, doubled each time after


@dataclass
class CacheUse:
    """How the units of a build came to be: reused from the cache, computed, or neither cached
    nor cacheable (a file that could not be opened); entries found damaged and computed again."""

    reused: int = 0
    computed: int = 0
    uncached: int = 0
    damaged: int = 0
    keys: set[str] = field(default_factory=set)  # this build's unit entries, kept by eviction
    parts: set[str] = field(default_factory=set)  # part files of units with a key

    def add(self, unit: UnitResult) -> None:
        setattr(self, unit.cache, getattr(self, unit.cache) + 1)
        self.damaged += unit.damaged
        if unit.key is not None:
            self.keys.add(unit.key)
            self.parts.update(unit.parts)


def read_input(
    pool: Executor,
    sources: list[Source],
    planner: Planner,
    task: Callable[[int, list[Piece]], UnitTask],
    progress: Progress,
) -> tuple[ReadPhase, CacheUse]:
    """Every source read by the workers, as units `task` makes; the results gathered per file."""
    units: dict[int, UnitResult] = {}
    pieces: dict[int, list[Piece]] = {}  # of each unit, to read again those holding a changed file
    todo: Iterable[list[Piece]] = planner.units(sources)
    for attempt in range(RETRIES + 1):
        for unit in _run(pool, todo, task, pieces, progress):
            units[unit.index] = unit
        changed = _changed(units.values(), planner)
        if not changed:
            break
        if attempt == RETRIES:
            rel, why = sorted(changed.items())[0]
            more = f" (and {len(changed) - 1} more file(s))" if len(changed) > 1 else ""
            raise InputChangedError(
                f"{rel}: {why}, and it changed again each of the {RETRIES} times it was read "
                f"again{more}; the previous release was left in place: build again once the "
                "input is complete"
            )
        dropped = [n for n, u in units.items() if any(f.rel in changed for f in u.files)]
        again = set(changed) | {p.source.rel for n in dropped for p in pieces[n]}
        for number in dropped:
            del units[number]
        for rel in again:
            planner.scans.pop(rel, None)
        progress.note(f"reading again {len(again)} file(s) that changed while they were read")
        time.sleep(RETRY_WAIT * 2**attempt)
        todo = planner.units([rediscover(s) for s in sources if s.rel in again])
    use = CacheUse()
    for unit in units.values():
        use.add(unit)
    return gather(sorted(units.values(), key=lambda u: u.index), planner.scans), use


def _run(
    pool: Executor,
    units: Iterable[list[Piece]],
    task: Callable[[int, list[Piece]], UnitTask],
    pieces: dict[int, list[Piece]],
    progress: Progress,
) -> Iterator[UnitResult]:
    """The units through the workers, numbered after those before; `pieces` notes each one's."""

    def tasks() -> Iterator[UnitTask]:
        for members in units:
            number = len(pieces)
            pieces[number] = members
            yield task(number, members)

    for unit in pool.imap_unordered(process_unit, tasks()):
        rejected = sum(sum(c.rejects.values()) for c in unit.steps)
        progress.update(sum(f.size for f in unit.files), unit.records, rejected)
        yield unit


def _changed(units: Iterable[UnitResult], planner: Planner) -> dict[str, str]:
    """The files that changed while they were read (or scanned), with how."""
    changed = {rel: scan.change for rel, scan in planner.scans.items() if scan.change}
    for unit in units:
        for file in unit.files:
            if file.change is not None:
                changed.setdefault(file.rel, file.change)
    return changed
