"""What a work unit is given and gives back: everything travels in these, from the build to a
worker and back (a worker process, or a Ray task on another machine)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from builder.accounting import StepCounters
from builder.cache import Cache
from builder.config import BuildSection
from builder.reading.plan import Piece
from builder.stages.base import KeyFile
from builder.storage import Storage


@dataclass(frozen=True, slots=True)
class UnitTask:
    index: int
    pieces: list[Piece]
    work: Storage  # where parts, rejects and key files go (a local path is taken as one)
    today: dt.date
    settings: BuildSection
    buckets: int = 1  # of the stages' keys (builder.stages)
    cache: Cache | None = None  # where units are reused from and stored (None: --no-cache)
    salt: str = ""  # what every unit's cache key shares: settings, code, libraries

    def __post_init__(self) -> None:
        object.__setattr__(self, "work", Storage.of(self.work))


@dataclass(slots=True)
class FileResult:
    """What a unit read of one file: all of it, or one range."""

    rel: str
    size: int = 0  # bytes read (0 when the file was not read)
    sha256: str = ""  # of the bytes read: the file's, or the range's
    skipped: str | None = (
        None  # why the file was not read: its kind ("fifo", "not an input format")
    )
    records: int = 0
    passed_over: int = 0  # records skipped on purpose (a WARC's requests): the file is not empty
    change: str | None = (
        None  # a range that changed since it was planned: the build rejects the file
    )

    @property
    def supported(self) -> bool:
        return self.skipped is None


@dataclass(slots=True)
class UnitResult:
    index: int
    files: list[FileResult] = field(default_factory=list)
    # part files (keys in the work storage) holding rows, with their rows' bytes in memory
    parts: dict[str, int] = field(default_factory=dict)
    rejects_part: str | None = None
    keys: KeyFile | None = None  # the rows' key rows, for the stages
    steps: list[StepCounters] = field(default_factory=list)  # read, row makers, build.steps
    day_dependent: bool = False  # the build day changed an outcome (builder.transform)
    key: str | None = None  # its cache key (None: not cacheable, or no cache)
    cache: str = "computed"  # "reused" from the cache, "computed", or "uncached" (no key)
    damaged: bool = False  # its cache entry was damaged, and it was computed again

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)
