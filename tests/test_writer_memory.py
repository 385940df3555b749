"""Shard writing with bounded memory: a partition sorted externally (spilled to id-prefix
sub-buckets) gives the same shard files as one sorted in memory, and a partition holding more
than 2 GiB of text is written by a worker whose memory stays small."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from builder.layout import shard_path
from builder.storage import Storage
from builder.writers import parquet
from builder.writers.parquet import (
    PartitionTask,
    ShardInfo,
    cuts,
    row_sizes,
    write_partition,
    write_table,
)
from schema import arrow_schema

PARTITION = "data/it/2021-02"
METADATA = {b"huggingface": b'{"info": {}}'}


def rows(rng: np.random.Generator, count: int, text_bytes: int = 400) -> pa.Table:
    """`count` random articles of the published schema, with nulls, empty lists and long texts."""
    ids = [f"{a:016x}{b:016x}" for a, b in rng.integers(0, 2**64, (count, 2), dtype=np.uint64)]
    lengths = rng.integers(1, 2 * text_bytes, count)
    words = np.array(["notizia", "roma", "è", "città", "governo", "oggi"])
    texts = [" ".join(rng.choice(words, max(1, n // 6))) for n in lengths]
    titles = [None if n % 5 == 0 else f"titolo {n}" for n in lengths]
    authors = [[f"autore {i}" for i in range(n % 3)] for n in lengths]
    columns = {
        "id": ids,
        "title": titles,
        "text": texts,
        "date": ["2021-02-03"] * count,
        "date_precision": ["day"] * count,
        "date_source": ["record"] * count,
        "date_time": [None] * count,
        "language": ["it"] * count,
        "language_confidence": [0.9] * count,
        "url": [f"https://example.it/{i}" for i in ids],
        "canonical_url": [None] * count,
        "domain": ["example.it"] * count,
        "site_name": [None] * count,
        "authors": authors,
        "source_path": ["raw.jsonl"] * count,
        "source_record": list(range(1, count + 1)),
        "source_sha256": ids,
        "num_words": [len(t.split()) for t in texts],
        "num_chars": [len(t) for t in texts],
        "text_sha256": ids,
        "cluster_id": [None] * count,
    }
    nulls = {f.name: [None] * count for f in arrow_schema() if f.nullable}  # e.g. quality signals
    return pa.table(nulls | columns, schema=arrow_schema())


def write_part(work: Storage, rel: str, tables: Iterable[pa.Table]) -> int:
    """A part file as a unit spills it, a batch per table; the bytes of its rows."""
    writer, nbytes = work.part_writer(rel, arrow_schema()), 0
    for table in tables:
        writer.write_table(table)
        nbytes += table.nbytes
    writer.close()
    return nbytes


def partition_task(
    tmp_path: Path, tables: list[pa.Table], dropped: dict[int, list[int]], **limits: int
) -> PartitionTask:
    """Write `tables` as the partition's part files (small batches, as the pipeline spills them)."""
    work = Storage.of(tmp_path / "work")
    parts = []
    for number, table in enumerate(tables):
        parts.append(f"parts/{PARTITION}/{number:03d}.arrow")
        write_part(work, parts[-1], [table.slice(i, 97) for i in range(0, len(table), 97)])
    return PartitionTask(
        partition=PARTITION,
        parts=parts,
        nbytes=sum(t.nbytes for t in tables),
        dropped={parts[n]: np.array(sorted(r), dtype=np.int64) for n, r in dropped.items()},
        work=work,
        out_dir=tmp_path / "out",
        schema_metadata=METADATA,
        max_shard_bytes=limits.get("max_shard_bytes", 512 * 1024 * 1024),
        max_row_group_bytes=limits.get("max_row_group_bytes", 128 * 1024 * 1024),
    )


def written(task: PartitionTask, out: str, budget: int | None = None) -> dict[str, object]:
    """Write the partition into `out` (with the sort budget `budget`): its shard infos and bytes."""
    task = replace(task, out_dir=task.out_dir / out)
    if budget is not None:
        task = replace(task, sort_budget_bytes=budget)
    infos = write_partition(task)
    files = sorted(p for p in task.out_dir.rglob("*") if p.is_file())
    return {
        "infos": infos,
        "files": {str(p.relative_to(task.out_dir)): p.read_bytes() for p in files},
    }


def reference(task: PartitionTask) -> dict[str, bytes]:
    """The shards as the writer made them before the external sort: all in memory, one sort."""
    tables = []
    for part in task.parts:
        table = pa.Table.from_batches(list(task.work.part_batches(part)), arrow_schema())
        keep = np.ones(len(table), dtype=bool)
        keep[task.dropped.get(part, [])] = False
        tables.append(table.filter(pa.array(keep)))
    table = pa.concat_tables(tables).sort_by("id").replace_schema_metadata(task.schema_metadata)
    sizes = row_sizes(table)
    out = task.out_dir / "reference"
    files = {}
    for number, (start, stop) in enumerate(cuts(sizes, task.max_shard_bytes)):
        path = out / shard_path(task.partition, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        groups = cuts(sizes[start:stop], task.max_row_group_bytes)
        write_table(table.slice(start, stop - start), path, groups=groups)
        files[str(path.relative_to(out))] = path.read_bytes()
    return files


def spill_leftovers(task: PartitionTask) -> list[Path]:
    """Sort runs spilled next to the shards and not removed."""
    return list(task.out_dir.rglob("sort-*")) if task.out_dir.exists() else []


@pytest.mark.parametrize("seed", range(3))
def test_external_sort_writes_the_same_shards_as_the_in_memory_sort(tmp_path, monkeypatch, seed):
    rng = np.random.default_rng(seed)
    tables = [rows(rng, int(n)) for n in rng.integers(0, 700, 4)]
    dropped = {n: rng.choice(len(t), len(t) // 7, replace=False) for n, t in enumerate(tables)}
    task = partition_task(
        tmp_path, tables, dropped, max_shard_bytes=60_000, max_row_group_bytes=9_000
    )
    spills = []  # the files of each spill
    spill = parquet._spill

    def counted(batches, schema, bounds, paths):
        spills.append(paths)
        return spill(batches, schema, bounds, paths)

    monkeypatch.setattr(parquet, "_spill", counted)

    in_memory = written(task, "memory")
    assert spills == []
    # 5 KB of rows per sort: spills to many sub-buckets, and spills the fullest ones again
    external = written(task, "external", budget=5_000)
    assert len(spills) > 1 and len(spills[0]) == parquet.MAX_SPILL_FILES

    assert len(in_memory["files"]) > 5  # many shards, each of many row groups
    assert in_memory == external
    assert in_memory["files"] == reference(task)
    assert spill_leftovers(task) == []


def test_dropped_rows_are_left_out_and_the_rest_sorted_by_id(tmp_path):
    rng = np.random.default_rng(7)
    tables = [rows(rng, 300), rows(rng, 250), rows(rng, 10)]
    dropped = {0: [0, 5, 299], 1: list(range(100, 250)), 2: list(range(10))}
    task = partition_task(tmp_path, tables, dropped, max_shard_bytes=30_000)

    infos = written(task, "external", budget=2_000)["infos"]

    shards = [pq.read_table(task.out_dir / "external" / i.path) for i in infos]
    ids = pa.concat_tables(shards)["id"].to_pylist()
    kept = [
        i
        for n, table in enumerate(tables)
        for r, i in enumerate(table["id"].to_pylist())
        if r not in dropped[n]
    ]
    assert ids == sorted(kept)
    assert [i.rows for i in infos] == [len(s) for s in shards]
    assert all(isinstance(i, ShardInfo) and i.language == "it" for i in infos)


def test_row_groups_and_shards_keep_their_limits(tmp_path):
    rng = np.random.default_rng(3)
    task = partition_task(
        tmp_path,
        [rows(rng, 900, text_bytes=900)],
        {},
        max_shard_bytes=50_000,
        max_row_group_bytes=7_000,
    )

    infos = written(task, "external", budget=10_000)["infos"]

    assert len(infos) > 10
    for info in infos:
        file = pq.ParquetFile(task.out_dir / "external" / info.path)
        groups = [file.read_row_group(g) for g in range(file.num_row_groups)]
        assert info.nbytes <= 50_000 or info.rows == 1
        assert file.num_row_groups > 2 or info is infos[-1]  # the last shard: what is left
        for group in groups:
            assert row_sizes(group).sum() <= 7_000 or len(group) == 1


def test_an_empty_partition_writes_no_shard(tmp_path):
    rng = np.random.default_rng(1)
    task = partition_task(tmp_path, [rows(rng, 5)], {0: range(5)})

    assert written(task, "external", budget=1)["files"] == {}
    assert spill_leftovers(task) == []


HUGE_SCRIPT = """
import json, resource, sys
from pathlib import Path
from builder.storage import Storage
from builder.writers.parquet import PartitionTask, write_partition
work = Path(sys.argv[1])
task = PartitionTask(
    partition="data/it/2021-02", parts=sorted(json.loads(sys.argv[2])), dropped={},
    nbytes=int(sys.argv[3]),
    work=Storage.of(work), out_dir=work.parent / "out", schema_metadata={},
    max_shard_bytes=3 * 2**30, max_row_group_bytes=32 * 2**20,
)
infos = write_partition(task)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"peak": peak, "rows": sum(i.rows for i in infos),
                  "nbytes": sum(i.nbytes for i in infos), "shards": len(infos)}))
"""

HUGE_TEXT_BYTES = 2**31 + 2**28  # 2.25 GiB: over what one Arrow string array can hold
ROW_TEXT_BYTES = 1_000_000


def huge_rows(rng: np.random.Generator, template: pa.Table, start: int, count: int) -> pa.Table:
    """`count` copies of `template` with random ids and texts of ROW_TEXT_BYTES."""
    table = template.take([0] * count)
    ids = [f"{a:016x}{b:016x}" for a, b in rng.integers(0, 2**64, (count, 2), dtype=np.uint64)]
    texts = [f"{start + i:08d}".ljust(ROW_TEXT_BYTES, "a") for i in range(count)]
    for name, values in (("id", ids), ("text", texts)):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, table.schema.field(index), pa.array(values))
    return table


@pytest.mark.slow
def test_a_partition_over_2_gib_of_text_is_written_in_bounded_memory(tmp_path):
    if shutil.disk_usage(tmp_path).free < 8 * 2**30:
        pytest.skip("needs 8 GiB free for the spill and shards")
    count = -(-HUGE_TEXT_BYTES // ROW_TEXT_BYTES)
    work = tmp_path / "work"
    rng = np.random.default_rng(0)
    template = rows(rng, 1)
    per_part, parts, nbytes = -(-count // 4), [], 0
    for part in range(4):  # compressible text: a few MB on disk
        parts.append(f"parts/{part}.arrow")
        stop = min(count, (part + 1) * per_part)
        batches = (  # batches of 10 MB
            huge_rows(rng, template, start, min(10, stop - start))
            for start in range(part * per_part, stop, 10)
        )
        nbytes += write_part(Storage.of(work), parts[-1], batches)

    done = subprocess.run(
        [sys.executable, "-c", HUGE_SCRIPT, str(work), json.dumps(parts), str(nbytes)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).parents[1],
    )

    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["rows"] == count
    assert result["nbytes"] > HUGE_TEXT_BYTES
    assert result["shards"] == 1  # one shard of over 2 GiB, written a row group at a time
    shard = pq.ParquetFile(tmp_path / "out" / shard_path(PARTITION, 0)).metadata
    assert shard.num_rows == count and shard.num_row_groups > 64
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["data"]  # the spill is gone
    # what it holds: two row groups (32 MiB), a few sub-buckets (32 MiB budget), a part's batch
    # group (10 MB) and pyarrow itself; 320 to 700 MiB measured (how much freed memory the
    # allocator keeps varies from run to run), where the old writer crashed at 2.7 GB
    assert result["peak"] < 2**30, f"peak RSS {result['peak'] / 2**20:.0f} MiB"
