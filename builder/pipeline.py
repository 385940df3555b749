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
from builder.records import Draft, Reject, RejectReason
from builder.sources import Source, file_sha256
from builder.steps.dates import ParseDate
from builder.steps.language import DetectLanguage
from builder.steps.normalize import Normalize
from builder.steps.validate import Validate
from schema import Article, arrow_schema

SPILL_ROWS = 20_000  # rows buffered per file before they are written to its part files


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
    size: int
    sha256: str
    supported: bool = True
    records: int = 0
    rejects: Counter = field(default_factory=Counter)  # for progress; the build counts the tables
    parts: list[str] = field(default_factory=list)  # part files (relative to work_dir) holding rows
    rejects_part: str | None = None


class _PartSink:
    """Buffers a file's rows per partition and spills them to one Parquet part per partition."""

    def __init__(self, work_dir: Path, index: int):
        self.work_dir, self.index = work_dir, index
        self.buffers: dict[str, list[dict]] = {}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.buffered = 0

    def add(self, article: Article) -> None:
        self.buffers.setdefault(partition_dir(article.language, article.date), []).append(
            article.model_dump()
        )
        self.buffered += 1
        if self.buffered >= SPILL_ROWS:
            self.flush()

    def flush(self) -> None:
        for partition, rows in self.buffers.items():
            if partition not in self.writers:
                path = self.work_dir / "parts" / partition / f"{self.index:08d}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                self.writers[partition] = pq.ParquetWriter(path, arrow_schema(), compression="lz4")
            self.writers[partition].write_table(pa.Table.from_pylist(rows, schema=arrow_schema()))
        self.buffers, self.buffered = {}, 0

    def close(self) -> list[str]:
        self.flush()
        for writer in self.writers.values():
            writer.close()
        return sorted(f"parts/{p}/{self.index:08d}.parquet" for p in self.writers)


def process_file(task: FileTask) -> FileResult:
    """Read, normalize, date, detect language and validate every record of one file."""
    source = task.source
    try:
        size, sha256, error = source.path.stat().st_size, file_sha256(source.path), None
    except OSError as exc:  # a broken link, no permission
        size, sha256, error = 0, "", exc
    result = FileResult(task.index, source.rel, size, sha256)
    reader_cls = reader_for(source)
    if reader_cls is None:
        result.supported = False
        return result
    items: Iterable[Draft | Reject | Article]
    if error is not None:
        items = [
            Reject(
                source.rel,
                1,
                RejectReason.UNREADABLE,
                f"cannot read the file: {error.strerror or error}",
            )
        ]
    else:
        items = reader_cls(task.settings).run(source)
        for step in (
            Normalize(),
            ParseDate(task.today),
            DetectLanguage(),
            Validate(task.settings.min_words),
        ):
            items = step.run(items)
    sink = _PartSink(task.work_dir, task.index)
    rejects: list[Reject] = []
    for item in items:
        result.records += 1
        if isinstance(item, Reject):
            rejects.append(item)
            result.rejects[item.reason.value] += 1
        else:
            sink.add(item)
    if result.records == 0:  # an empty .jsonl or '[]': say so rather than let the file vanish
        rejects.append(Reject(source.rel, 1, RejectReason.NO_TEXT, "the file holds no records"))
        result.records, result.rejects[RejectReason.NO_TEXT.value] = 1, 1
    result.parts = sink.close()
    if rejects:
        result.rejects_part = f"rejects/{task.index:08d}.parquet"
        path = task.work_dir / result.rejects_part
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [{name: getattr(r, name) for name in REJECT_SCHEMA.names} for r in rejects]
        pq.write_table(pa.Table.from_pylist(rows, schema=REJECT_SCHEMA), path, compression="lz4")
    return result
