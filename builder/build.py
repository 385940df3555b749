"""`build()`: the library entry point that turns a folder of raw files into a release folder.

Phases: read the input as work units in parallel (rows spill to per-unit parts, with a key row
each), run the global stages (exact duplicates) bucket by bucket in parallel, write each
language/month partition's shards in parallel, then the accounting tables, manifest and card,
and swap the finished folder in atomically.

The input and the work files may be on any fsspec storage (`builder.storage`); tasks carry keys
relative to them. The release itself is always a local folder: shards written to a non-local
work storage are copied into it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pyarrow as pa

from builder.accounting import READ_STEP, Accounting, StepCounters
from builder.batch import reject_table
from builder.config import Config
from builder.digests import file_sha256
from builder.errors import BroadsheetError, ConfigError, InputError, StrictModeError
from builder.executors import Executor, open_executor
from builder.inputs.discover import discover
from builder.layout import CARD_FILE, DUPLICATES_FILE, JSON_SCHEMA_FILE, MANIFEST_FILE, REJECTS_FILE
from builder.progress import Progress
from builder.reading.gather import ReadPhase, gather
from builder.reading.plan import Planner, expected_units, input_bytes
from builder.reading.unit import UnitResult, UnitTask, process_unit
from builder.release import check_target, is_release, staged
from builder.rows import ROW_MAKERS
from builder.stages import active
from builder.stages.base import SOURCE_ORDER
from builder.stages.driver import StagePlan, bucket_count, run_stages
from builder.storage import Storage
from builder.writers.card import render_card
from builder.writers.manifest import Manifest, build_manifest, input_fingerprint, write_manifest
from builder.writers.parquet import (
    SHARDS_KEY,
    PartitionTask,
    ShardInfo,
    write_partition,
    write_partition_to_work,
    write_table,
)
from builder.writers.rejects import RejectsFile, Run, table_run, write_rejects
from builder.writers.stats import CHART_FILE, compute_stats, write_chart
from schema.derive import features_dict, json_schema_text


@dataclass
class BuildReport:
    out: Path
    manifest: Manifest
    accounting: Accounting


def build(
    config: Config,
    raw: Path | str,
    out: Path | str,
    workers: int = 1,
    strict: bool = False,
    today: dt.date | None = None,
    progress: Progress | None = None,
    allow_empty: bool = False,
    executor: str | None = None,
    address: str | None = None,
    work: str | None = None,
) -> BuildReport:
    """Build `raw` (a folder or an fsspec URL) into the release folder `out`; the previous `out`
    stays until the new one is complete.

    A build without a single row replaces an existing release only with `allow_empty`: an empty
    input is more often an unmounted share than an intended empty dataset. `executor`, `address`
    and `work` (the work storage) default to the config's `[run]` section; the release is the
    same on any executor and any storage.
    """
    out = Path(out)
    input_storage = Storage.of(raw)
    if input_storage.local:  # absolute: tasks may run with another working folder
        sources = discover(Path(input_storage.root).resolve())
        out = check_target(raw if isinstance(raw, Path) else Path(input_storage.root), out)
    else:  # a non-local input cannot overlap the release: checked against a path none is under
        sources = discover(input_storage)
        out = check_target(None, out)
    today = today or dt.datetime.now(dt.UTC).date()
    progress = progress or Progress(input_bytes(sources))
    executor = executor or config.run.executor
    address = address or (config.run.address if executor == "ray" else None)
    if executor == "local":  # never more processes than units: a small build runs in this one
        workers = min(workers, expected_units(sources, config.run.unit_bytes))
    runner = open_executor(executor, workers, address)
    where = work or config.run.work
    for storage in [input_storage, *([Storage.of(where)] if where else [])]:
        if storage.in_process and (executor != "local" or workers > 1):
            raise ConfigError(
                f"{storage}: this filesystem lives in the build's process only, where worker "
                "processes cannot see it; use --workers 1 with the local executor"
            )
    with staged(out) as stage, _work_storage(where, stage) as workspace, runner as pool:
        planner = Planner(config.run.unit_bytes)
        buckets = bucket_count(input_bytes(sources))
        tasks = (
            UnitTask(i, pieces, workspace, today, config.build, buckets)
            for i, pieces in enumerate(planner.units(sources))
        )
        units: list[UnitResult] = []
        for unit in pool.imap_unordered(process_unit, tasks):
            units.append(unit)
            progress.update(sum(f.size for f in unit.files), unit.records, _rejected(unit))
        progress.finish()
        read = gather(sorted(units, key=lambda u: u.index), planner.scans)

        stages = ", ".join(s.name for s in active(config.build))
        progress.note(f"deduplicating (stages: {stages})")
        plan = run_stages(pool, workspace, read.keys, buckets, config.build)
        rejects = _write_rejects(read, plan.rejects, workspace, stage)
        if strict and rejects.rows:
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(rejects.reasons.items()))
            raise StrictModeError(
                f"--strict: {rejects.rows} record(s) rejected ({reasons}); the previous release was left in place"
            )

        progress.note("writing shards")
        shards = _write_shards(config, read.parts, plan, workspace, stage, pool)
        files = {
            s.path: {"sha256": s.sha256, "size": s.size, "rows": s.rows, "nbytes": s.nbytes}
            for s in shards
        }
        files |= _write_accounting_tables(rejects, plan.duplicates, stage)
        # Counted from what was written, so the identity checks the pipeline rather than restating it.
        accounting = Accounting(
            files=sum(1 for f in read.files if f.supported),
            records_read=sum(f.records for f in read.files),
            rows=sum(s.rows for s in shards),
            rejects=rejects.reasons,
            duplicates=Counter(plan.duplicates["reason"].to_pylist()),
            skipped={f.rel: f.skipped for f in read.files if f.skipped},
            steps=_step_totals(read.steps, config.build.steps),
        )
        if not accounting.balanced:  # a bug, not bad input
            raise RuntimeError(f"accounting does not balance: {accounting.to_dict()}")
        if accounting.rows == 0 and not allow_empty and is_release(out):
            raise InputError(_nothing_to_release(raw, out, accounting))
        fingerprint = input_fingerprint([(f.rel, f.sha256) for f in read.files])
        stats = compute_stats(stage, [s.path for s in shards])
        write_chart(stats, stage / CHART_FILE)
        (stage / JSON_SCHEMA_FILE).write_text(json_schema_text(), encoding="utf-8")
        for rel in (CHART_FILE, JSON_SCHEMA_FILE):  # the card is not listed: publish rewrites it
            files[rel] = {"sha256": file_sha256(stage / rel), "size": (stage / rel).stat().st_size}
        manifest = build_manifest(config, accounting, files, fingerprint, len(read.files), stats)
        write_manifest(manifest, stage / MANIFEST_FILE)
        (stage / CARD_FILE).write_text(render_card(config, manifest), encoding="utf-8")
    return BuildReport(out, manifest, accounting)


@contextlib.contextmanager
def _work_storage(where: str | None, stage: Path) -> Iterator[Storage]:
    """The build's work folder: `.work` in the staging folder by default, else a new folder
    inside `where`, removed after the build whether it succeeds or not."""
    if where is None:
        work = Storage.of(stage / ".work")
    else:
        work = Storage.of(where).child(f"broadsheet-{uuid.uuid4().hex}")
    work.make_root()
    try:
        yield work
    finally:
        work.remove_root()


def _rejected(unit: UnitResult) -> int:
    return sum(sum(c.rejects.values()) for c in unit.steps)


def _step_totals(counters: list[StepCounters], steps: Sequence[str]) -> list[StepCounters]:
    """Each step's counters summed over the units, in pipeline order (read, content, the steps)."""
    totals: dict[str, StepCounters] = {}
    for c in counters:
        totals.setdefault(c.name, StepCounters(c.name)).add(c)
    order = [READ_STEP, *ROW_MAKERS, *steps]
    return [totals[name] for name in order if name in totals]


def _nothing_to_release(raw: Path | str, out: Path, accounting: Accounting) -> str:
    if accounting.records_read == 0:
        found = f"read no records ({accounting.files} input file(s))"
    else:
        found = f"rejected or deduplicated all {accounting.records_read:,} record(s) it read"
    return (
        f"{raw}: the build {found}, so it would publish an empty release; {out} was left as it "
        "is (pass --allow-empty to replace it anyway)"
    )


def _write_shards(
    config: Config,
    parts: dict[str, int],
    plan: StagePlan,
    work: Storage,
    stage: Path,
    pool: Executor,
) -> list[ShardInfo]:
    """Every partition's shards, written by the workers into the staging folder, or, with a
    non-local work storage, into it and then copied here (the release is always local)."""
    by_partition: dict[str, list[str]] = defaultdict(list)
    for part in parts:
        by_partition[part.removeprefix("parts/").rsplit("/", 1)[0]].append(part)
    metadata = {b"huggingface": json.dumps({"info": {"features": features_dict()}}).encode()}
    tasks = [
        PartitionTask(
            partition=partition,
            parts=sorted(members),
            nbytes=sum(parts[p] for p in members),
            dropped={p: plan.dropped[p] for p in members if p in plan.dropped},
            clusters={p: plan.clusters[p] for p in members if p in plan.clusters},
            work=work,
            out_dir=stage,
            schema_metadata=metadata,
            max_shard_bytes=config.build.max_shard_bytes,
            max_row_group_bytes=config.build.max_row_group_bytes,
        )
        for partition, members in sorted(by_partition.items())
    ]
    writer = write_partition if work.local else write_partition_to_work
    shards = sorted(
        (s for shards in pool.imap_unordered(writer, tasks) for s in shards),
        key=lambda s: s.path,
    )
    if not work.local:
        for shard in shards:
            _fetch_shard(work, shard, stage)
    return shards


def _fetch_shard(work: Storage, shard: ShardInfo, stage: Path) -> None:
    """Copy a shard from the work storage into the release, checking it arrived whole."""
    path = stage / shard.path
    work.download(f"{SHARDS_KEY}/{shard.path}", path)
    if file_sha256(path) != shard.sha256:
        raise BroadsheetError(
            f"{work}: shard {shard.path} changed between its writing and its copy into the "
            "release (sha256 differs); the previous release was left in place: build again"
        )


def _write_rejects(read: ReadPhase, staged: pa.Table, work: Storage, stage: Path) -> RejectsFile:
    """Every reject, from the readers, steps and stages, ordered by where it came from: the
    units' parts (each sorted) merged with the files rejected whole and the stages' rejects."""
    path = stage / REJECTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = [partial(work.part_batches, part) for part in read.rejects_parts]
    runs += [table_run(reject_table(read.file_rejects)), table_run(staged)]
    return write_rejects(runs, path)


def _write_accounting_tables(
    rejects: RejectsFile, duplicates: pa.Table, stage: Path
) -> dict[str, dict]:
    """Duplicates as Parquet, outside data/ (rejects are written already); both files' entries."""
    path = stage / DUPLICATES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(duplicates.sort_by(SOURCE_ORDER), path)
    rows = {REJECTS_FILE: rejects.rows, DUPLICATES_FILE: len(duplicates)}
    return {
        rel: {"sha256": file_sha256(stage / rel), "size": (stage / rel).stat().st_size, "rows": n}
        for rel, n in rows.items()
    }
