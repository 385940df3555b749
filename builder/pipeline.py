"""The per-file half of a build: read one raw file, run the steps, spill rows and rejects to parts.

`process_file` runs in worker processes; everything it needs travels in its `FileTask`, and
everything the build needs back travels in its `FileResult`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from builder.config import BuildSection
from builder.dedup import REJECT_SCHEMA
from builder.layout import partition_dir
from builder.readers import reader_for
from builder.readers.base import unreadable
from builder.records import Draft, Reject, RejectReason
from builder.sources import NOT_INPUT_FORMAT, SkippedFile, Source, open_source
from builder.steps.dates import ParseDate
from builder.steps.language import DetectLanguage
from builder.steps.normalize import Normalize
from builder.steps.validate import Validate
from schema import Article, arrow_schema

SPILL_ROWS = 20_000  # rows (and rejects) buffered per file before they are written to its parts
_REJECT_FIELDS = tuple(REJECT_SCHEMA.names)


@dataclass(frozen=True, slots=True)
class FileTask:
    index: int
    source: Source
    work_dir: Path
    today: dt.date
    settings: BuildSection


@dataclass(slots=True)
class FileResult:
    index: int
    rel: str
    size: int  # bytes read (0 when the file was not read)
    sha256: str  # of the bytes read, for the input fingerprint
    skipped: str | None = (
        None  # why the file was not read: its kind ("fifo", "not an input format")
    )
    records: int = 0
    rejects: Counter = field(default_factory=Counter)  # for progress; the build counts the tables
    parts: list[str] = field(default_factory=list)  # part files (relative to work_dir) holding rows
    rejects_part: str | None = None

    @property
    def supported(self) -> bool:
        return self.skipped is None


class _Spill:
    """Buffers rows of one table kind and spills them to Parquet files in batches of SPILL_ROWS."""

    def __init__(self, work_dir: Path, schema: pa.Schema):
        self.work_dir, self.schema = work_dir, schema
        self.buffers: dict[str, list[dict]] = {}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.buffered = 0

    def add(self, rel: str, row: dict) -> None:
        """Add a row to the file `rel` (relative to the work folder)."""
        self.buffers.setdefault(rel, []).append(row)
        self.buffered += 1
        if self.buffered >= SPILL_ROWS:
            self.flush()

    def flush(self) -> None:
        for rel, rows in self.buffers.items():
            if rel not in self.writers:
                path = self.work_dir / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                self.writers[rel] = pq.ParquetWriter(path, self.schema, compression="lz4")
            self.writers[rel].write_table(pa.Table.from_pylist(rows, schema=self.schema))
        self.buffers, self.buffered = {}, 0

    def close(self) -> list[str]:
        """Write what is buffered; the files written, relative to the work folder."""
        self.flush()
        for writer in self.writers.values():
            writer.close()
        return sorted(self.writers)

    def discard(self) -> None:
        """Drop everything: nothing of this file is published."""
        self.buffers, self.buffered = {}, 0
        for rel, writer in self.writers.items():
            writer.close()
            (self.work_dir / rel).unlink()
        self.writers = {}


class _Sinks:
    """Where one file's rows (per partition) and rejects go."""

    def __init__(self, work_dir: Path, index: int, result: FileResult):
        self.index, self.result = index, result
        self.rows = _Spill(work_dir, arrow_schema())
        self.rejects = _Spill(work_dir, REJECT_SCHEMA)

    def add(self, item: Article | Reject) -> None:
        self.result.records += 1
        if isinstance(item, Reject):
            self.result.rejects[item.reason.value] += 1
            row = {name: getattr(item, name) for name in _REJECT_FIELDS}
            self.rejects.add(f"rejects/{self.index:08d}.parquet", row)
        else:
            partition = partition_dir(item.language, item.date)
            self.rows.add(f"parts/{partition}/{self.index:08d}.parquet", item.model_dump())

    def discard(self) -> None:
        self.rows.discard()
        self.rejects.discard()
        self.result.records, self.result.rejects = 0, Counter()

    def close(self) -> None:
        self.result.parts = self.rows.close()
        self.result.rejects_part = next(iter(self.rejects.close()), None)


def process_file(task: FileTask) -> FileResult:
    """Read, normalize, date, detect language and validate every record of one file.

    A file that changed while it was read is rejected whole: none of its rows are kept.
    """
    source = task.source
    result = FileResult(task.index, source.rel, 0, "")
    reader_cls = reader_for(source)
    result.skipped = source.skip or (NOT_INPUT_FORMAT if reader_cls is None else None)
    if result.skipped is not None:
        return result
    sinks = _Sinks(task.work_dir, task.index, result)
    try:
        raw = open_source(source)
    except SkippedFile as exc:
        result.skipped = exc.kind
        return result
    except OSError as exc:  # a broken link, no permission
        sinks.add(unreadable(source, exc))
        sinks.close()
        return result
    with raw:
        items: Iterable[Draft | Reject | Article] = reader_cls(task.settings).read(source, raw)
        for step in (
            Normalize(),
            ParseDate(task.today),
            DetectLanguage(),
            Validate(task.settings.min_words),
        ):
            items = step.run(items)
        for item in items:
            sinks.add(item)
        change = raw.finish()
        result.size, result.sha256 = raw.bytes_read, raw.sha256
    if change is not None:
        sinks.discard()
        sinks.add(
            Reject(
                source.rel,
                1,
                RejectReason.CHANGED_WHILE_READING,
                f"{change}; build again once it is complete",
            )
        )
    elif result.records == 0:  # an empty .jsonl or '[]': say so rather than let the file vanish
        sinks.add(Reject(source.rel, 1, RejectReason.NO_TEXT, "the file holds no records"))
    sinks.close()
    return result
