"""End-to-end builds: the seed, bad input, accounting, duplicates, determinism, layout, loading."""

import hashlib
import json
import os
import random
import shutil
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from builder.batch import reject_table
from builder.build import build
from builder.errors import InputError, StrictModeError
from builder.outcomes import REJECT_SCHEMA, SOURCE_ORDER, Reject, RejectReason
from builder.writers.parquet import write_table
from builder.writers.rejects import table_run, write_rejects
from schema import hf_features
from tests.support import (
    ENGLISH,
    ITALIAN,
    SEED,
    TODAY,
    config,
    duplicates,
    jsonl,
    rejects,
    rows,
    run_build,
    seed_text,
    shard_bytes,
    write,
)


@pytest.fixture
def seed_release(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(SEED, raw / SEED.name)
    return run_build(raw, tmp_path / "dist", min_words=25)


def test_seed_end_to_end(seed_release):
    (row,) = rows(seed_release.out)
    assert (row["date"], row["date_precision"], row["language"]) == ("2021-02", "month", "it")
    assert row["source_path"] == SEED.name and row["source_record"] == 1
    assert row["source_sha256"] == hashlib.sha256(SEED.read_bytes()).hexdigest()
    raw_paragraphs = [p.strip() for p in SEED.read_text(encoding="utf-8").split("\n\n")]
    raw_paragraphs[0] = raw_paragraphs[0].removeprefix("date 2021-02 ")
    assert row["text"].split("\n\n") == raw_paragraphs
    assert "dell’azienda" in row["text"]
    assert row["text_sha256"] == hashlib.sha256(row["text"].encode()).hexdigest()
    assert row["num_chars"] == len(row["text"]) and row["num_words"] > 300
    assert (seed_release.out / "data" / "it" / "2021-02" / "0000.parquet").exists()


def test_month_never_becomes_a_day(seed_release):
    """Nothing in the release may present the seed's month as a day (e.g. 2021-02-01)."""
    for path in seed_release.out.rglob("*"):
        if path.is_file():
            assert b"2021-02-01" not in path.read_bytes(), path


BAD_INPUTS = {
    "empty.txt": (b"", "no_text"),
    "binary.txt": (bytes(range(256)) * 40, "undecodable"),
    "zero.txt.gz": (None, "no_text"),  # a 0-byte .gz decompresses to nothing
    "truncated.txt.gz": ("truncated", "corrupt_file"),
    "header-only.txt": (b" date 2021-02\n\n", "no_text"),
    "impossible.txt": (seed_text("2021-13", ENGLISH).encode(), "bad_date"),
    "future.txt": (seed_text("2027-01", ENGLISH).encode(), "future_date"),
    "short.txt": (b"date 2021-02 Too short.", "too_short"),
}


def make_bad_inputs(raw):
    for name, (content, _) in BAD_INPUTS.items():
        if content is None:
            (raw / name).write_bytes(b"")
        elif content == "truncated":
            path = write(raw / name, seed_text("2021-02", os.urandom(4000).hex()))
            path.write_bytes(path.read_bytes()[:100])
        else:
            write(raw / name, content)
    write(
        raw / "cp1252.txt",
        seed_text(
            "2021-03", "Le café d’été à Besançon: élèves, théâtre, déjà vu, naïve façon. " * 4
        ),
        "cp1252",
    )
    write(
        raw / "latin1.txt",
        seed_text(
            "2021-03", "Über Größe und Maß: schöne Grüße aus München, Köln und Düsseldorf. " * 4
        ),
        "latin-1",
    )
    write(raw / "bom.txt", "\ufeff" + seed_text("2021-04", ITALIAN + " Con BOM."))
    write(
        raw / "nul.txt",
        seed_text("2021-04", ENGLISH.replace("council", "coun\x00cil") + " With NUL."),
    )
    good = {
        "maintext": ENGLISH,
        "date_publish": "2021-05-02 08:00:00",
        "url": "https://example.com/1",
    }
    write(
        raw / "crawl.jsonl",
        jsonl([good])
        + '{"maintext": "broken\n'
        + jsonl([{**good, "url": "https://example.com/2", "maintext": ITALIAN}]),
    )
    write(raw / "notes.tsv", "not\tan\tarticle\n")


def test_bad_input_is_rejected_with_reasons_and_nothing_is_lost(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    make_bad_inputs(raw)
    report = run_build(raw, tmp_path / "dist")
    by_path = {r["source_path"]: r for r in rejects(report.out)}
    for name, (_, reason) in BAD_INPUTS.items():
        assert by_path[name]["reason"] == reason, name
        assert by_path[name]["detail"]
    assert (
        by_path["crawl.jsonl"]["reason"] == "parse_error"
        and by_path["crawl.jsonl"]["source_record"] == 2
    )

    published = {r["source_path"]: r for r in rows(report.out)}
    assert "Le café d’été à Besançon" in published["cp1252.txt"]["text"]
    assert "schöne Grüße aus München" in published["latin1.txt"]["text"]
    assert (
        published["bom.txt"]["text"].startswith("Il consiglio")
        and published["bom.txt"]["date"] == "2021-04"
    )
    assert (
        "coun\x00cil" not in published["nul.txt"]["text"]
        and "council" in published["nul.txt"]["text"]
    )
    assert sorted(
        r["source_record"] for r in rows(report.out) if r["source_path"] == "crawl.jsonl"
    ) == [1, 3]

    acc = report.manifest.accounting.model_dump()
    assert acc["records_read"] == acc["rows"] + acc["rejected"] + acc["duplicates"] == 15
    assert acc["rows"] == 6 and acc["skipped_files"] == ["notes.tsv"]
    assert acc["rejected"] == len(rejects(report.out)) == len(BAD_INPUTS) + 1


def test_exact_duplicates_keep_the_first_copy_and_id_conflicts_are_rejected(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "b.txt", seed_text("2021-02", ENGLISH))
    write(
        raw / "a.txt", seed_text("2021-02", "  " + ENGLISH.replace(". ", ".   "))
    )  # same after normalization
    write(
        raw / "c.jsonl",
        jsonl(
            [
                {"text": ITALIAN, "url": "https://x.org/1"},
                {"text": ENGLISH + " More.", "url": "https://x.org/1"},
            ]
        ),
    )
    report = run_build(raw, tmp_path / "dist")
    kept = rows(report.out)
    assert sorted(r["source_path"] for r in kept) == ["a.txt", "c.jsonl"]
    dups = {d["source_path"]: d for d in duplicates(report.out)}
    a_id = next(r["id"] for r in kept if r["source_path"] == "a.txt")
    assert dups["b.txt"] == {
        "source_path": "b.txt",
        "source_record": 1,
        "reason": "same_text",
        "duplicate_of": a_id,
        "similarity": None,  # estimated only for near-duplicates
    }
    assert set(dups) == {"b.txt"}
    (conflict,) = rejects(report.out)
    c_id = next(r["id"] for r in kept if r["source_path"] == "c.jsonl")
    assert (conflict["source_path"], conflict["source_record"], conflict["reason"]) == (
        "c.jsonl",
        2,
        "id_conflict",
    )
    assert c_id in conflict["detail"] and "c.jsonl#1" in conflict["detail"]
    assert conflict["excerpt"].startswith("The city council")
    acc = report.manifest.accounting.model_dump()
    assert acc["duplicates_by_reason"] == {"same_text": 1} and acc["rejects_by_reason"] == {
        "id_conflict": 1
    }


def many_articles(raw, months=("2021-01", "2021-02", "2021-03"), per_month=12):
    for month in months:
        for i in range(per_month):
            lang_text = ITALIAN if i % 3 else ENGLISH
            write(
                raw / month / f"{i:03d}.txt",
                seed_text(month, f"{lang_text} Numero {i} del {month}."),
            )
        records = [
            {
                "maintext": f"{ENGLISH} Record {j} of {month}.",
                "date_publish": f"{month}-0{1 + j % 9}",
                "url": f"https://n.example/{month}/{j}",
            }
            for j in range(15)
        ]
        write(raw / f"crawl-{month}.jsonl.zst", jsonl(records))


def test_same_input_same_bytes_for_any_worker_count(tmp_path):
    raw = tmp_path / "raw"
    many_articles(raw)
    one = run_build(raw, tmp_path / "one", workers=1)
    two = run_build(raw, tmp_path / "two", workers=2, unit_bytes=1024)
    assert shard_bytes(one.out) == shard_bytes(two.out)
    assert (one.out / "manifest.json").read_bytes() == (two.out / "manifest.json").read_bytes()
    for name in ("README.md", "articles_per_month.png"):
        assert (one.out / name).read_bytes() == (two.out / name).read_bytes()
    assert len(shard_bytes(one.out)) > 4


def test_a_new_month_leaves_existing_shards_byte_identical(tmp_path):
    raw = tmp_path / "raw"
    many_articles(raw, months=("2021-01", "2021-02"))
    before = shard_bytes(run_build(raw, tmp_path / "v1").out)
    many_articles(raw, months=("2021-03",))
    after = shard_bytes(run_build(raw, tmp_path / "v2").out)
    data_before = {p: b for p, b in before.items() if p.startswith("data/")}
    assert all(after[p] == b for p, b in data_before.items())
    assert set(after) - set(before) == {
        "data/en/2021-03/0000.parquet",
        "data/it/2021-03/0000.parquet",
    }


def test_shards_and_row_groups_are_bounded_and_named_stably(tmp_path):
    raw = tmp_path / "raw"
    many_articles(raw, months=("2021-01",), per_month=30)
    cfg = config().model_copy(
        update={
            "build": config().build.model_copy(
                update={"max_shard_bytes": 8_000, "max_row_group_bytes": 3_000}
            )
        }
    )
    # one long article among short ones: limits must hold row by row, not on average
    write(raw / "2021-01" / "long.txt", seed_text("2021-01", " ".join([ENGLISH] * 8)))
    report = build(cfg, raw, tmp_path / "dist", today=TODAY)
    shards = sorted(p for p in report.manifest.files if p.startswith("data/en/2021-01/"))
    assert shards[:2] == ["data/en/2021-01/0000.parquet", "data/en/2021-01/0001.parquet"]
    assert sum(report.manifest.files[p].rows for p in shards) == 11 + 15
    for rel in shards:
        parquet = pq.ParquetFile(report.out / rel)
        shard = parquet.read()
        assert shard.nbytes <= 8_000 or len(shard) == 1
        for i in range(parquet.num_row_groups):
            group = parquet.read_row_group(i)
            assert group.nbytes <= 3_000 or len(group) == 1, (rel, i, group.nbytes, len(group))
        column = parquet.metadata.row_group(0).column(0)
        assert column.compression == "ZSTD" and column.has_offset_index  # page index written


def _random_rejects(rng: random.Random, n: int) -> pa.Table:
    """Rejects in REJECT_SCHEMA: few paths and records, so that many share a key."""
    rows = [
        Reject(
            f"{rng.choice('abc')}/{rng.choice(['x', 'é', 'y'])}.jsonl",
            rng.randint(1, 30),
            rng.choice(list(RejectReason)),
            f"detail {i} " + "d" * rng.randint(0, 300),
            "e" * rng.randint(0, 200),
        )
        for i in range(n)
    ]
    return reject_table(rows)


@pytest.mark.parametrize(
    ("seed", "sizes", "row_group_bytes", "merge_rows"),
    [
        *((seed, [0, 1, 7, 40, 300], 20_000, 5) for seed in range(4)),
        (4, [5_000], 2 << 20, 997),  # row groups of several pages: chunking must not show
    ],
)
def test_rejects_are_merged_into_the_bytes_one_sort_gives(
    tmp_path, monkeypatch, seed, sizes, row_group_bytes, merge_rows
):
    """The streamed merge writes the file that sorting every reject at once wrote: the same
    order (ties in run order), the same row groups, through rounds of spills."""
    rng = random.Random(seed)
    runs = [_random_rejects(rng, rng.choice(sizes)) for _ in range(rng.randint(2, 12))]
    settings = [("MAX_ROW_GROUP_BYTES", row_group_bytes), ("MERGE_ROWS", merge_rows)]
    for name, value in [*settings, ("MAX_RUNS", 3)]:
        monkeypatch.setattr(f"builder.writers.rejects.{name}", value)
    monkeypatch.setattr("builder.writers.parquet.MAX_ROW_GROUP_BYTES", row_group_bytes)
    one_sort = pa.concat_tables([REJECT_SCHEMA.empty_table(), *runs]).sort_by(SOURCE_ORDER)
    write_table(one_sort, tmp_path / "sorted.parquet")
    written = write_rejects([table_run(run) for run in runs], tmp_path / "merged.parquet")
    merged, expected = tmp_path / "merged.parquet", tmp_path / "sorted.parquet"
    assert merged.read_bytes() == expected.read_bytes()
    assert written.rows == len(one_sort)
    assert written.reasons == Counter(one_sort["reason"].to_pylist())
    assert pq.ParquetFile(merged).metadata.num_row_groups > 1 or len(one_sort) < 100


def test_manifest_lists_every_file_with_hashes(seed_release):
    manifest = json.loads((seed_release.out / "manifest.json").read_text())
    for rel, info in manifest["files"].items():
        data = (seed_release.out / rel).read_bytes()
        assert info["sha256"] == hashlib.sha256(data).hexdigest() and info["size"] == len(data)
        if rel.endswith(".parquet"):
            assert info["rows"] == pq.ParquetFile(seed_release.out / rel).metadata.num_rows
    listed = set(manifest["files"]) | {"manifest.json", "README.md"}
    assert listed == {
        p.relative_to(seed_release.out).as_posix()
        for p in seed_release.out.rglob("*")
        if p.is_file()
    }
    assert set(manifest["versions"]) == {"builder", "pyarrow", "schema"}
    assert len(manifest["input"]["fingerprint"]) == 64


def test_strict_fails_and_keeps_the_previous_release(tmp_path, seed_release):
    before = shard_bytes(seed_release.out)
    raw = tmp_path / "raw"
    write(raw / "empty.txt", "")
    with pytest.raises(StrictModeError, match="1 record"):
        run_build(raw, seed_release.out, strict=True)
    assert shard_bytes(seed_release.out) == before
    assert not list(seed_release.out.parent.glob(".dist.building-*"))


def test_missing_input_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        run_build(tmp_path / "nope", tmp_path / "dist")


def test_loads_with_datasets(seed_release, tmp_path):
    from datasets import load_dataset

    cache = str(tmp_path / "hf-cache")
    files = sorted(str(p) for p in (seed_release.out / "data").rglob("*.parquet"))
    by_files = load_dataset("parquet", data_files=files, split="train", cache_dir=cache)
    by_folder = load_dataset(str(seed_release.out), split="train", cache_dir=cache)
    expected = rows(seed_release.out)
    for ds in (by_files, by_folder):
        assert ds.features == hf_features()
        assert sorted(ds.to_list(), key=lambda r: r["id"]) == expected


def test_adversarial_inputs_are_accounted_for_without_a_crash(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    write(raw / "deep.json", "[" * 100_000)
    write(
        raw / "lines.jsonl",
        jsonl([{"text": ENGLISH, "title": {"x": 1}}, {"text": ITALIAN, "date_publish": 1612137600}])
        + '{"text": "n", "n": '
        + "9" * 5000
        + "}\n",
    )
    write(
        raw / "people.json",
        json.dumps(
            {
                "maintext": "First paragraph of the story here.\nSecond paragraph, still short.\nThird one ends it.",
                "authors": [{"name": "Ada"}, "Bob"],
            }
        ),
    )
    write(raw / "empty.jsonl", "")
    write(raw / "nothing.json", "[]")
    (raw / "caf\xe9 name.txt".encode("latin-1").decode("utf-8", "surrogateescape")).write_bytes(
        seed_text("2021-02", ENGLISH + " Latin-1 name.").encode()
    )
    report = run_build(raw, tmp_path / "dist")
    got = {(r["source_path"], r["source_record"]): r["reason"] for r in rejects(report.out)}
    assert got == {
        ("dangling.txt", 1): "unreadable",
        ("deep.json", 1): "parse_error",
        ("lines.jsonl", 1): "invalid_record",
        ("lines.jsonl", 2): "invalid_record",
        ("lines.jsonl", 3): "parse_error",
        ("empty.jsonl", 1): "no_text",
        ("nothing.json", 1): "no_text",
    }
    details = {r["source_path"] + str(r["source_record"]): r["detail"] for r in rejects(report.out)}
    assert (
        "`title` is a JSON object" in details["lines.jsonl1"]
        and "`date_publish` is a JSON number" in details["lines.jsonl2"]
    )
    published = {r["source_path"]: r for r in rows(report.out)}
    assert published["people.json"]["authors"] == ["Ada", "Bob"]
    assert published["people.json"]["text"].count("\n\n") == 2  # crawler line breaks end paragraphs
    assert "caf\\xe9 name.txt" in published
    assert report.accounting.balanced


def test_a_second_build_into_the_same_folder_waits_its_turn(tmp_path, seed_release):
    import fcntl

    with open(tmp_path / ".dist.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a running build holds it
        with pytest.raises(InputError, match="another build is writing"):
            run_build(tmp_path / "raw", seed_release.out)
    assert rows(seed_release.out)  # the release in place is untouched
    run_build(tmp_path / "raw", seed_release.out)  # free again


def test_user_folders_next_to_the_release_are_never_removed(tmp_path, seed_release):
    keep = tmp_path / ".dist.backup-99999"
    keep.mkdir()
    run_build(tmp_path / "raw", seed_release.out)
    assert keep.is_dir()
