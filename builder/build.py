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
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from builder.accounting import READ_STEP, Accounting, StepCounters
from builder.batch import reject_table
from builder.build_cache import (
    SHARDS,
    CacheReport,
    ShardShares,
    cache_salt,
    open_cache,
    reused_shards,
    store_shards,
)
from builder.cache import Cache
from builder.config import Config
from builder.digests import file_sha256
from builder.errors import BroadsheetError, ConfigError, InputError, StrictModeError
from builder.executors import Executor, open_executor
from builder.inputs.discover import discover
from builder.layout import (
    CARD_FILE,
    DOMAINS_FILE,
    DUPLICATES_FILE,
    JSON_SCHEMA_FILE,
    MANIFEST_FILE,
    REJECTS_FILE,
)
from builder.outcomes import RejectReason
from builder.progress import Progress
from builder.reading.chain import check_steps
from builder.reading.gather import ReadPhase
from builder.reading.phase import read_input
from builder.reading.plan import Piece, Planner, expected_units, input_bytes
from builder.reading.result import UnitTask
from builder.reading.reuse import KIND as UNITS
from builder.release import check_target, is_release, staged
from builder.rows import ROW_MAKERS
from builder.rules.removals import Removals
from builder.stages import active
from builder.stages.base import SOURCE_ORDER, KeyFile
from builder.stages.driver import StagePlan, bucket_count, run_stages
from builder.stages.remove import blank_listed_excerpts, matched
from builder.storage import Storage
from builder.writers.card import missing_languages, render_card
from builder.writers.domains import check_totals, domain_table, duplicate_domains, top_domains
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
    cache: CacheReport | None = None  # None: built with --no-cache
    warnings: list[str] = field(default_factory=list)  # for the summary: nothing failed


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
    cache: bool = True,
) -> BuildReport:
    """Build `raw` (a folder or an fsspec URL) into the release folder `out`; the previous `out`
    stays until the new one is complete.

    A build without a single row replaces an existing release only with `allow_empty`: an empty
    input is more often an unmounted share than an intended empty dataset. `executor`, `address`
    and `work` (the work storage) default to the config's `[run]` section; the release is the
    same on any executor and any storage. `cache` (run.cache, else a folder beside the release)
    keeps each work unit's results, so that the next build computes only what changed; the
    release is the same with or without it.
    """
    check_steps(config.build.steps)  # a step list that cannot make a valid row: exit 2, now
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
    salt = cache_salt(config.build)
    with staged(out) as stage, _work_storage(where, stage) as workspace, runner as pool:
        store = open_cache(config, cache, out, input_storage, executor, workers)
        buckets = bucket_count(input_bytes(sources))

        def task(number: int, pieces: list[Piece]) -> UnitTask:
            return UnitTask(number, pieces, workspace, today, config.build, buckets, store, salt)

        planner = Planner(config.run.unit_bytes)
        read, use = read_input(pool, sources, planner, task, progress)
        progress.finish()

        stages = ", ".join(s.name for s in active(config.build))
        progress.note(f"deduplicating (stages: {stages})")
        plan = run_stages(pool, workspace, read.keys, buckets, config.build)
        rejects = _write_rejects(read, plan.rejects, workspace, stage, config.build.remove)
        judged = _judged(rejects)
        if strict and judged:
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(judged.items()))
            raise StrictModeError(
                f"--strict: {judged.total()} record(s) rejected ({reasons}); the previous release was left in place"
            )

        progress.note("writing shards")
        shares = ShardShares(salt, use.parts)
        shards = _write_shards(config, read.parts, plan, workspace, stage, pool, store, shares)
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
        input_digest = input_fingerprint([(f.rel, f.sha256) for f in read.files])
        stats = compute_stats(stage, [s.path for s in shards])
        domain_files, domain_stats = _write_domains(
            stage, shards, plan.duplicates, workspace, read.keys, accounting
        )
        files |= domain_files
        stats |= domain_stats
        write_chart(stats, stage / CHART_FILE)
        (stage / JSON_SCHEMA_FILE).write_text(json_schema_text(), encoding="utf-8")
        for rel in (CHART_FILE, JSON_SCHEMA_FILE):  # the card is not listed: publish rewrites it
            files[rel] = {"sha256": file_sha256(stage / rel), "size": (stage / rel).stat().st_size}
        manifest = build_manifest(config, accounting, files, input_digest, len(read.files), stats)
        write_manifest(manifest, stage / MANIFEST_FILE)
        (stage / CARD_FILE).write_text(render_card(config, manifest), encoding="utf-8")
        warnings = _warnings(config, manifest, stage / REJECTS_FILE)
    report = BuildReport(out, manifest, accounting, warnings=warnings)
    if store is not None:
        keep = {(UNITS, key) for key in use.keys} | {(SHARDS, key) for key in shares.keys}
        evicted, size = store.evict(config.run.cache_max_bytes, keep)
        report.cache = CacheReport(
            use.reused,
            use.computed,
            use.uncached,
            use.damaged,
            shares.reused,
            shares.written,
            evicted,
            size,
        )
    return report


def _warnings(config: Config, manifest: Manifest, rejects: Path) -> list[str]:
    """What the summary warns of: configured languages without a row (the card does not tag
    them), and takedown entries that matched no record."""
    warnings = [
        f"dataset.languages lists {language!r}, but no article is in that language: the card "
        "does not tag it"
        for language in missing_languages(config, manifest)
    ]
    removals = config.build.remove
    if removals is not None:
        removed = pq.read_table(  # only the removed rows' details: at most one per listed line
            rejects, columns=["detail"], filters=[("reason", "==", RejectReason.REMOVED.value)]
        )
        found = matched(removed["detail"].to_pylist())
        unmatched = [entry for entry in removals.entries if entry not in found]
        if unmatched:
            more = f" and {len(unmatched) - 10} more" if len(unmatched) > 10 else ""
            warnings.append(
                f"build.remove ({removals.file}): {len(unmatched)} line(s) matched no article "
                f"of this input: {', '.join(unmatched[:10])}{more}"
            )
    return warnings


def _judged(rejects: RejectsFile) -> Counter:
    """The rejects' reasons counted, but those a takedown removed: what --strict fails on (a
    takedown is the maintainer's choice, not a fault of the input)."""
    return Counter({k: n for k, n in rejects.reasons.items() if k != RejectReason.REMOVED.value})


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
    store: Cache | None,
    shares: ShardShares,
) -> list[ShardInfo]:
    """Every partition's shards: copied from the build cache when the partition's rows are those
    of a cached partition, else written by the workers into the staging folder (or, with a
    non-local work storage, into it and then copied here: the release is always local)."""
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
    shards: list[ShardInfo] = []
    keys = {task.partition: shares.key(task) for task in tasks} if store is not None else {}
    shares.keys.update(key for key in keys.values() if key is not None)
    todo = []
    for task in tasks:
        reused = reused_shards(store, keys.get(task.partition), stage)
        if reused is None:
            todo.append(task)
        else:
            shards += reused
            shares.reused += 1
    writer = write_partition if work.local else write_partition_to_work
    for written in pool.imap_unordered(writer, todo):
        if not work.local:
            for shard in written:
                _fetch_shard(work, shard, stage)
        shards += written
        if written:
            partition = written[0].path.rsplit("/", 1)[0]
            store_shards(store, keys.get(partition), written, stage)
        shares.written += 1
    return sorted(shards, key=lambda s: s.path)


def _fetch_shard(work: Storage, shard: ShardInfo, stage: Path) -> None:
    """Copy a shard from the work storage into the release, checking it arrived whole."""
    path = stage / shard.path
    work.download(f"{SHARDS_KEY}/{shard.path}", path)
    if file_sha256(path) != shard.sha256:
        raise BroadsheetError(
            f"{work}: shard {shard.path} changed between its writing and its copy into the "
            "release (sha256 differs); the previous release was left in place: build again"
        )


def _write_rejects(
    read: ReadPhase, staged: pa.Table, work: Storage, stage: Path, removals: Removals | None
) -> RejectsFile:
    """Every reject, from the readers, steps and stages, ordered by where it came from: the
    units' parts (each sorted) merged with the files rejected whole and the stages' rejects;
    the excerpts of a domain the takedown list names blanked on the way."""
    path = stage / REJECTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = [partial(work.part_batches, part) for part in read.rejects_parts]
    runs += [table_run(reject_table(read.file_rejects)), table_run(staged)]
    return write_rejects(runs, path, partial(blank_listed_excerpts, removals))


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


def _write_domains(
    stage: Path,
    shards: list[ShardInfo],
    duplicates: pa.Table,
    work: Storage,
    keys: list[KeyFile],
    accounting: Accounting,
) -> tuple[dict[str, dict], dict]:
    """accounting/domains.parquet (`builder.writers.domains`), checked to sum to the accounting;
    its manifest entry, and the top domains for the manifest's statistics. The rejects are read
    back from their file a batch at a time, two columns of it."""
    domains = duplicate_domains(duplicates, work, [key.rel for key in keys])
    rejects = pq.ParquetFile(stage / REJECTS_FILE).iter_batches(columns=["domain", "reason"])
    table = domain_table(stage, [s.path for s in shards], rejects, duplicates, domains)
    check_totals(table, accounting.rows, accounting.rejects, accounting.duplicates)
    path = stage / DOMAINS_FILE
    write_table(table, path)
    entry = {"sha256": file_sha256(path), "size": path.stat().st_size, "rows": len(table)}
    return {DOMAINS_FILE: entry}, {"domains": top_domains(table), "domain_count": len(table)}
