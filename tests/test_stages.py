"""Global stages: exact dedup decided bucket by bucket, whatever the number of buckets, and a new
stage is one more entry in STAGES, with no change to the build driver."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

import builder.stages as stages
import builder.stages.driver as driver
from builder.outcomes import DUPLICATE_SCHEMA, REJECT_SCHEMA
from builder.stages.base import Decision, Stage
from tests.support import ENGLISH, duplicates, jsonl, rejects, rows, run_build, write


def corpus(raw):
    """Copies across files and within one, same-URL conflicts, and copies of a conflicting
    record (a duplicate of a row that is itself rejected stays a duplicate of the kept text)."""
    for f in range(6):
        records = []
        for r in range(40):
            n = (f * 40 + r) % 70  # every text about three times over the corpus
            records.append({"text": f"Story {n}. {ENGLISH}", "url": f"https://x.org/{f}/{r}"})
        records += [{"text": f"Other {f}. {ENGLISH}", "url": "https://x.org/same"}]
        write(raw / f"{f}.jsonl", jsonl(records))


def release_files(release):
    return {
        p.relative_to(release).as_posix(): p.read_bytes()
        for p in sorted(release.rglob("*"))
        if p.is_file()
    }


def test_the_release_does_not_depend_on_the_number_of_buckets(tmp_path, monkeypatch):
    corpus(tmp_path / "raw")
    one = run_build(tmp_path / "raw", tmp_path / "one")
    monkeypatch.setattr(driver, "BUCKET_INPUT_BYTES", 1024)  # about 30 buckets for this input
    assert driver.bucket_count(30_000) >= 16
    many = run_build(tmp_path / "raw", tmp_path / "many")
    assert release_files(tmp_path / "one") == release_files(tmp_path / "many")
    assert one.accounting.duplicates == {"same_text": 6 * 40 - 70}
    assert one.accounting.rejects == {"id_conflict": 5}
    assert many.accounting.balanced


def test_the_first_copy_in_source_order_is_kept(tmp_path, monkeypatch):
    corpus(tmp_path / "raw")
    monkeypatch.setattr(driver, "BUCKET_INPUT_BYTES", 1024)
    report = run_build(tmp_path / "raw", tmp_path / "out")
    kept = {
        r["text"].split(".")[0]: (r["source_path"], r["source_record"]) for r in rows(report.out)
    }
    assert kept["Story 0"] == ("0.jsonl", 1) and kept["Story 45"] == ("1.jsonl", 6)
    ids = {r["id"]: r for r in rows(report.out)}
    for duplicate in duplicates(report.out):
        assert (duplicate["source_path"], duplicate["source_record"]) > (
            ids[duplicate["duplicate_of"]]["source_path"],
            ids[duplicate["duplicate_of"]]["source_record"],
        )
    (conflict_kept,) = [r for r in rows(report.out) if r["url"] == "https://x.org/same"]
    assert conflict_kept["source_path"] == "0.jsonl"
    assert {r["source_path"] for r in rejects(report.out)} == {f"{f}.jsonl" for f in range(1, 6)}


class EvenTexts(Stage):
    """A stage as a later issue would add one: here, texts whose digest starts with an even
    digit are kept, the others reported as duplicates."""

    name = "even_texts"
    key = "text_sha256"

    def decide(self, keys: pa.Table, work) -> Decision:
        even = pc.is_in(pc.utf8_slice_codeunits(keys[self.key], 0, 1), pa.array(list("02468ace")))
        odd = keys.filter(pc.invert(even))
        duplicates = pa.table(
            {
                "source_path": odd["source_path"],
                "source_record": odd["source_record"],
                "reason": pa.array(["same_text"] * len(odd), pa.string()),
                "duplicate_of": pa.array(["-"] * len(odd), pa.string()),
                "similarity": pa.nulls(len(odd), pa.float64()),
            },
            schema=DUPLICATE_SCHEMA,
        )
        return Decision(
            keys.filter(even),
            duplicates,
            REJECT_SCHEMA.empty_table(),
            odd.select(["_part", "_row"]),
        )


def test_a_new_stage_is_one_more_entry(tmp_path, monkeypatch):
    corpus(tmp_path / "raw")
    plain = run_build(tmp_path / "raw", tmp_path / "plain")
    monkeypatch.setattr(stages, "STAGES", (*stages.STAGES, EvenTexts()))
    monkeypatch.setattr(driver, "BUCKET_INPUT_BYTES", 4096)
    report = run_build(tmp_path / "raw", tmp_path / "out")
    survivors = [r for r in rows(plain.out) if r["text_sha256"][0] in "02468ace"]
    assert sorted(r["id"] for r in rows(report.out)) == sorted(r["id"] for r in survivors)
    assert report.accounting.balanced and report.accounting.rows == len(survivors)


def _article(url: str, text: str) -> dict:
    return {"text": text, "url": url}


def test_no_duplicate_names_an_article_rejected_for_its_id(tmp_path):
    """Y and X share a URL with different texts, Y first: X loses the id (id_conflict). D is an
    exact copy of X under another URL: with X gone it copies no row, so it is kept itself."""
    other = ENGLISH.replace("council", "committee")
    write(
        tmp_path / "raw" / "a.jsonl",
        jsonl(
            [
                _article("https://x.org/same", other),  # Y
                _article("https://x.org/same", ENGLISH),  # X
                _article("https://x.org/copy", ENGLISH),  # D
            ]
        ),
    )
    report = run_build(tmp_path / "raw", tmp_path / "out")
    assert sorted(r["source_record"] for r in rows(report.out)) == [1, 3]
    assert [(r["source_record"], r["reason"]) for r in rejects(report.out)] == [(2, "id_conflict")]
    assert duplicates(report.out) == [] and report.accounting.balanced


def test_copies_of_a_text_that_lost_its_id_lose_it_too(tmp_path):
    """X keeps the URL; Y and its exact copy Z (same URL) are both id conflicts: no duplicate
    names Y, which is not in the release."""
    other = ENGLISH.replace("council", "committee")
    write(
        tmp_path / "raw" / "a.jsonl",
        jsonl(
            [
                _article("https://x.org/same", ENGLISH),  # X
                _article("https://x.org/same", other),  # Y
                _article("https://x.org/same", other),  # Z
                _article("https://x.org/again", ENGLISH),  # a copy of X: a duplicate naming X
            ]
        ),
    )
    report = run_build(tmp_path / "raw", tmp_path / "out")
    published = {r["id"] for r in rows(report.out)}
    assert [(r["source_record"], r["reason"]) for r in rejects(report.out)] == [
        (2, "id_conflict"),
        (3, "id_conflict"),
    ]
    (duplicate,) = duplicates(report.out)
    assert duplicate["source_record"] == 4 and duplicate["duplicate_of"] in published
