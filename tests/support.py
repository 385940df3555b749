"""Helpers shared by the build tests: configs, fixture files, builds and reading releases back."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import zstandard

from builder.accounting import READ_STEP, StepCounters
from builder.batch import Batch
from builder.build import BuildReport, build
from builder.config import BuildSection, Config, RunSection
from builder.inputs.discover import SkippedFile, Source
from builder.inputs.files import open_source
from builder.outcomes import Reject, RejectReason
from builder.progress import Progress
from builder.readers import Reader, reader_for
from builder.readers.base import unreadable
from builder.reading.chain import raw_batches, run_steps
from builder.records import ReadItem
from builder.rows import ROW_MAKERS
from builder.steps import STEPS
from builder.storage import Storage
from builder.transform import StepContext

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "raw" / "000_9cb97b3017c7590a.txt"
TODAY = dt.date(2026, 11, 26)

CONFIG_TOML = """\
[dataset]
name = "test-news"
repo_id = "test-org/test-news"
version = "1.0.0"
license = "cc-by-4.0"
languages = ["en", "it"]
description = "Test articles."

[build]
min_words = {min_words}
"""

ITALIAN = (
    "Il consiglio comunale ha approvato ieri sera il nuovo piano per la mobilità sostenibile, "
    "che prevede piste ciclabili, più autobus elettrici e una zona a traffico limitato nel centro storico. "
    "Secondo l’assessore, i lavori cominceranno entro l’estate e dureranno circa due anni."
)
# words for generated Italian texts: random sequences of them make distinct articles
ITALIAN_WORDS = [
    "il",
    "governo",
    "ha",
    "approvato",
    "la",
    "legge",
    "sulla",
    "stampa",
    "nelle",
    "regioni",
    "del",
    "nord",
    "e",
    "del",
    "sud",
]
ENGLISH = (
    "The city council approved a new plan for sustainable transport last night, with more cycle lanes, "
    "electric buses and a limited traffic zone in the historic centre. According to the councillor, "
    "work will start by the summer and last about two years."
)


def make_config(tmp_path: Path, min_words: int = 5) -> Path:
    path = tmp_path / "dataset.toml"
    path.write_text(CONFIG_TOML.format(min_words=min_words), encoding="utf-8")
    return path


def config(min_words: int = 5) -> Config:
    return Config.model_validate(
        {
            "dataset": {
                "name": "test-news",
                "repo_id": "test-org/test-news",
                "version": "1.0.0",
                "license": "cc-by-4.0",
                "languages": ["en", "it"],
                "description": "Test articles.",
            },
            "build": {"min_words": min_words},
        }
    )


def seed_text(date: str, body: str) -> str:
    return f" date {date} {body}"


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Write a fixture file; '.gz' and '.zst' names are compressed."""
    data = content.encode(encoding) if isinstance(content, str) else content
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    elif path.name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def cli(*args: str, cwd: Path, env_extra: dict | None = None, timeout: int = 300):
    """Run `python -m builder ...` as a user would, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "builder", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_build(
    raw: Path, out: Path, workers: int = 1, min_words: int = 5, unit_bytes: int = 0, **kw
) -> BuildReport:
    """A build as the CLI runs it; `unit_bytes` (work unit size) small enough makes a small
    input many units, so that `workers` processes really run."""
    cfg = config(min_words)
    if unit_bytes:
        cfg = cfg.model_copy(update={"run": RunSection(unit_bytes=unit_bytes)})
    return build(
        cfg,
        raw,
        out,
        workers=workers,
        today=TODAY,
        progress=quiet_progress(),
        **kw,
    )


def quiet_progress() -> Progress:
    """Progress that prints nothing: tests read results, not progress lines."""
    return Progress(0, _Null())


class _Null:
    def write(self, _s: str) -> None: ...
    def flush(self) -> None: ...
    def isatty(self) -> bool:
        return False


def read_part(path: Path) -> pa.Table:
    """A work part file, whole: rows or rejects as a unit spilled them (Arrow IPC)."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def rows(release: Path) -> list[dict]:
    """All published rows, ordered by id (none when the release has no shards)."""
    if not (release / "data").is_dir():
        return []
    table = pads.dataset(release / "data", format="parquet").to_table()
    return table.sort_by("id").to_pylist()


def rejects(release: Path) -> list[dict]:
    return pq.read_table(release / "accounting" / "rejects.parquet").to_pylist()


def duplicates(release: Path) -> list[dict]:
    return pq.read_table(release / "accounting" / "duplicates.parquet").to_pylist()


def shard_bytes(release: Path) -> dict[str, bytes]:
    return {
        p.relative_to(release).as_posix(): p.read_bytes()
        for p in sorted(release.rglob("*.parquet"))
    }


def preview(
    source: Source, settings: BuildSection, today: dt.date, steps: Iterable[str] = ()
) -> list[dict | Reject]:
    """One file through its row maker and the named steps, as rows (dicts in the working
    schema) and Rejects in record order: what a file becomes, without a build around it."""
    reader_cls = reader_for(source)
    assert reader_cls is not None, f"{source.rel}: not an input format"
    reader = reader_cls(settings)
    context = StepContext(settings, today)
    rows = ROW_MAKERS[reader.rows](context).run(
        raw_batches(read_file(reader, source), StepCounters(READ_STEP))
    )
    return items_of(run_steps(rows, [STEPS[name](context) for name in steps]))


def items_of(batches: Iterable[Batch]) -> list[dict | Reject]:
    """The rows (as dicts) and rejects of batches, in (source_path, source_record) order."""
    items: list[dict | Reject] = []
    for batch in batches:
        items += batch.table.to_pylist()
        for rejects in batch.rejects:
            items += [
                Reject(**r | {"reason": RejectReason(r["reason"])}) for r in rejects.to_pylist()
            ]

    def where(item: dict | Reject) -> tuple[str, int]:
        if isinstance(item, Reject):
            return item.source_path, item.source_record
        return item["source_path"], item["source_record"]

    return sorted(items, key=where)


def source_at(path: Path, rel: str) -> Source:
    """A local file on its own, outside any discovered input."""
    path = Path(os.path.abspath(path))
    return Source(Storage(str(path.parent)), path.name, rel)


def read_file(reader: Reader, source: Source) -> Iterator[ReadItem]:
    """Open a file and read it with `reader`, as a worker does (without its change checks)."""
    try:
        raw = open_source(source)
    except (OSError, SkippedFile) as exc:
        yield unreadable(source, exc)
        return
    with raw:
        yield from reader.records(source, raw)


KIB = 1024


def release_files(release: Path) -> dict[str, bytes]:
    """Every file of a release folder, by its path in it: to compare two releases byte for byte."""
    return {
        p.relative_to(release).as_posix(): p.read_bytes()
        for p in sorted(release.rglob("*"))
        if p.is_file()
    }
