"""Near-duplicates: reprints of one story with another byline, footer or a changed sentence are
found and recorded, distinct stories are kept, and the choice of the kept article does not
depend on workers, work units or buckets."""

from __future__ import annotations

import io
import random
import string

import pyarrow as pa
import pytest

import builder.stages as stages
import builder.stages.driver as driver
from builder.build import build
from builder.config import NearDuplicateSection, RunSection
from builder.progress import Progress
from builder.stages.near import NearDuplicates, cluster, signatures
from builder.stages.store import REF, RowStore
from builder.storage import Storage
from tests.support import TODAY, config, duplicates, jsonl, rejects, rows, write

WORDS = random.Random(7)
VOCABULARY = ["".join(WORDS.choices(string.ascii_lowercase, k=7)) for _ in range(4000)]


def story(seed: int, sentences: int = 30) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(VOCABULARY, k=14)).capitalize() + "." for _ in range(sentences)]


def reprint(sentences: list[str], outlet: str, changed: int = 0) -> str:
    """The story as another outlet prints it: a byline, a footer, `changed` sentences rewritten."""
    body = list(sentences)
    for i in range(changed):
        body[3 + 4 * i] = " ".join(random.Random(outlet + str(i)).choices(VOCABULARY, k=14)) + "."
    return f"By Staff, {outlet}\n\n" + " ".join(body) + f"\n\n(c) {outlet}. All rights reserved."


def near_build(raw, out, workers=1, unit_bytes=0, executor=None, **near):
    """A build with the near-duplicate stage removing near-copies (easiest to check: they are
    duplicates), or with these settings (and executor)."""
    cfg = config()
    settings = NearDuplicateSection(**({"enabled": True, "action": "remove"} | near))
    update = {"build": cfg.build.model_copy(update={"near_duplicates": settings})}
    if unit_bytes:
        update["run"] = RunSection(unit_bytes=unit_bytes)
    return build(
        cfg.model_copy(update=update),
        raw,
        out,
        workers=workers,
        today=TODAY,
        progress=Progress(0, io.StringIO()),
        executor=executor,
    )


def wire_corpus(raw) -> dict[tuple[str, int], int]:
    """12 stories; stories 0-5 reprinted by 3 outlets, in two files; the story of each record."""
    files: dict[str, list[dict]] = {"a.jsonl": [], "b.jsonl": []}
    stories: dict[tuple[str, int], int] = {}

    def add(name: str, record: dict, s: int) -> None:
        files[name].append(record)
        stories[name, len(files[name])] = s

    for s in range(12):
        original = " ".join(story(s))
        add(
            "a.jsonl",
            {"text": original, "url": f"https://wire.example/{s}", "date": "2024-03-10"},
            s,
        )
        for k, outlet in enumerate(["Courier", "Post", "Ledger"] if s < 6 else []):
            record = {
                "text": reprint(story(s), outlet, changed=k),
                "url": f"https://{outlet.lower()}.example/{s}",
                "date": f"2024-03-{11 - k:02d}",
            }
            add("b.jsonl" if k else "a.jsonl", record, s)
    for name, records in files.items():
        write(raw / name, jsonl(records))
    return stories


def by_url(release) -> dict[str, dict]:
    return {r["url"]: r for r in rows(release)}


def test_reprints_are_near_duplicates_of_the_first_copy(tmp_path):
    stories = wire_corpus(tmp_path / "raw")
    report = near_build(tmp_path / "raw", tmp_path / "out")
    kept = by_url(report.out)
    assert sorted(kept) == sorted(f"https://wire.example/{s}" for s in range(12))
    found = duplicates(report.out)
    assert len(found) == 6 * 3 and {d["reason"] for d in found} == {"near_duplicate"}
    for d in found:
        story_of_copy = stories[d["source_path"], d["source_record"]]
        assert d["duplicate_of"] == kept[f"https://wire.example/{story_of_copy}"]["id"]
        assert 0.7 <= d["similarity"] <= 1.0
    assert report.accounting.balanced
    assert report.accounting.duplicates == {"near_duplicate": 18}


def test_exact_copies_stay_same_text_and_distinct_stories_stay(tmp_path):
    records = [{"text": " ".join(story(s)), "url": f"https://x.example/{s}"} for s in range(10)]
    records.append({"text": records[0]["text"], "url": "https://copy.example/0"})
    records.append({"text": reprint(story(1), "Post"), "url": "https://post.example/1"})
    write(tmp_path / "raw" / "a.jsonl", jsonl(records))
    report = near_build(tmp_path / "raw", tmp_path / "out")
    assert report.accounting.duplicates == {"same_text": 1, "near_duplicate": 1}
    assert report.accounting.rows == 10 and report.accounting.balanced
    (near,) = [d for d in duplicates(report.out) if d["reason"] == "near_duplicate"]
    assert near["duplicate_of"] == by_url(report.out)["https://x.example/1"]["id"]
    assert near["source_record"] == 12


@pytest.mark.parametrize("action", ["remove", "mark"])
def test_an_exact_copy_of_a_near_copy_names_an_article_of_the_release(tmp_path, action):
    """The reprint is a near-copy of the original, and an exact copy of the reprint comes after
    it: with the reprint removed, that copy is a near-duplicate of the original too."""
    original, copy = " ".join(story(1)), reprint(story(1), "Post")
    records = [
        {"text": original, "url": "https://x.example/1"},
        {"text": copy, "url": "https://post.example/1"},
        {"text": copy, "url": "https://again.example/1"},
    ]
    write(tmp_path / "raw" / "a.jsonl", jsonl(records))
    report = near_build(tmp_path / "raw", tmp_path / "out", action=action)
    published = {r["id"]: r for r in rows(report.out)}
    found = {d["source_record"]: d for d in duplicates(report.out)}
    assert all(d["duplicate_of"] in published for d in found.values())
    if action == "mark":  # the reprint stays, so its exact copy is its duplicate
        assert (found[3]["reason"], found[3]["similarity"]) == ("same_text", None)
        assert published[found[3]["duplicate_of"]]["url"] == "https://post.example/1"
        return
    assert {n: d["reason"] for n, d in found.items()} == {2: "near_duplicate", 3: "near_duplicate"}
    assert published[found[3]["duplicate_of"]]["url"] == "https://x.example/1"
    assert found[3]["similarity"] == found[2]["similarity"] >= 0.7
    assert report.accounting.balanced


@pytest.mark.parametrize(
    ("keep", "winner"),
    [
        ("first", "https://wire.example/{s}"),
        ("longest", "https://courier.example/{s}"),  # the longest outlet name, twice
        ("earliest", "https://ledger.example/{s}"),  # dated 2024-03-09
    ],
)
def test_the_kept_article_follows_the_config(tmp_path, keep, winner):
    wire_corpus(tmp_path / "raw")
    report = near_build(tmp_path / "raw", tmp_path / "out", keep=keep)
    kept = by_url(report.out)
    for s in range(6):
        assert winner.format(s=s) in kept
        others = [u for u in kept if u.endswith(f"/{s}") and u != winner.format(s=s)]
        assert others == []
    assert report.accounting.rows == 12


def test_the_release_is_the_same_for_any_workers_units_and_buckets(tmp_path, monkeypatch):
    wire_corpus(tmp_path / "raw")
    for f in range(4):  # more files, so that small units make many
        write(
            tmp_path / "raw" / f"more{f}.jsonl",
            jsonl(
                [
                    {"text": reprint(story(s), f"Outlet{f}", 1), "url": f"https://o{f}/{s}"}
                    for s in range(3, 9)
                ]
            ),
        )
    one = near_build(tmp_path / "raw", tmp_path / "one")
    near_build(tmp_path / "raw", tmp_path / "two", workers=2, unit_bytes=4096)
    monkeypatch.setattr(driver, "BUCKET_INPUT_BYTES", 2048)
    near_build(tmp_path / "raw", tmp_path / "many", workers=2, unit_bytes=4096)
    assert one.accounting.duplicates["near_duplicate"] == 18 + 4 * 6
    for other in ("two", "many"):
        assert release_files(tmp_path / "one") == release_files(tmp_path / other)


def release_files(release):
    """The accounting tables' bytes and the published rows. language_confidence is left out:
    the language step's float differs in its last digits with the batch (also without this
    stage), which makes the shards' bytes differ."""
    files = {
        p.relative_to(release).as_posix(): p.read_bytes()
        for p in sorted((release / "accounting").rglob("*.parquet"))
    }
    published = [{k: v for k, v in r.items() if k != "language_confidence"} for r in rows(release)]
    return files | {"rows": published}


def test_a_disabled_stage_keeps_near_copies(tmp_path):
    wire_corpus(tmp_path / "raw")
    report = near_build(tmp_path / "raw", tmp_path / "out", enabled=False)
    assert report.accounting.rows == 12 + 18 and not report.accounting.duplicates


def test_texts_without_words_are_no_ones_near_copy(tmp_path):
    records = [{"text": "!!! ??? ...", "url": f"https://x.example/{n}"} for n in range(3)]
    records += [{"text": " ".join(story(1)), "url": "https://x.example/story"}]
    write(tmp_path / "raw" / "a.jsonl", jsonl(records))
    report = near_build(tmp_path / "raw", tmp_path / "out")
    assert not report.accounting.duplicates.get("near_duplicate")
    assert report.accounting.balanced, rejects(report.out)


def test_signatures_estimate_similarity_per_text_whatever_the_batch():
    near = NearDuplicateSection()
    base = " ".join(story(3, 40))
    texts = pa.array(
        [base, "Two words!", reprint(story(3, 40), "Post", 2), " ".join(story(4, 40)), "--- !"]
    )
    signature, bands, found = signatures(texts, near)
    assert signature.shape == (5, near.bands * near.rows_per_band)
    assert bands.shape == (5, near.bands)
    assert found.tolist() == [True, True, True, True, False]  # punctuation only: no words
    assert 0.75 < (signature[0] == signature[2]).mean() < 1.0
    assert (signature[0] == signature[3]).mean() < 0.1
    assert (bands[0] == bands[2]).any() and not (bands[0] == bands[3]).any()
    for start, stop in ((1, 2), (1, 4), (0, 3)):  # a short text's n-gram is its own words only
        again, _, _ = signatures(texts.slice(start, stop - start), near)
        assert (again == signature[start:stop]).all()
    same, _, _ = signatures(pa.array(["TWO  words", "two words."]), near)
    assert (same[0] == same[1]).all() and (same[0] == signature[1]).all()  # simplified alike


def test_clusters_do_not_depend_on_the_order_of_the_edges():
    stage = NearDuplicates(NearDuplicateSection(enabled=True, action="remove"))
    nodes = [(f"{p}.jsonl", r) for p in "ab" for r in range(1, 4)]

    def edges(pairs):
        columns = {}
        for side, picks in (("a", [x for x, _ in pairs]), ("b", [y for _, y in pairs])):
            columns |= {
                f"{side}_source_path": [nodes[i][0] for i in picks],
                f"{side}_source_record": [nodes[i][1] for i in picks],
                f"{side}__part": ["p"] * len(picks),
                f"{side}__row": picks,
                f"{side}_id": [f"id{i}" for i in picks],
                f"{side}_date": [None] * len(picks),
                f"{side}_near_length": [10 * i for i in picks],
            }
        columns["similarity"] = [0.9] * len(pairs)
        return pa.table(columns)

    pairs = [(5, 4), (1, 2), (4, 2)]  # one chain 1-2-4-5, node 0 and 3 alone
    forward = cluster([edges(pairs)], stage.settings)
    backward = cluster([edges(pairs[2:]), edges(pairs[:2][::-1])], stage.settings)
    assert forward.duplicates.equals(backward.duplicates)
    assert forward.duplicates["duplicate_of"].to_pylist() == ["id1"] * 3
    assert forward.left_out["_row"].to_pylist() == [2, 4, 5]


def test_marked_near_copies_stay_as_rows_with_their_cluster(tmp_path):
    stories = wire_corpus(tmp_path / "raw")
    report = near_build(tmp_path / "raw", tmp_path / "out", action="mark")
    assert report.accounting.rows == 12 + 18 and not report.accounting.duplicates
    published = rows(report.out)
    kept = {r["url"]: r["id"] for r in published if "wire.example" in r["url"]}
    for r in published:
        s = stories[r["source_path"], r["source_record"]]
        expected = kept[f"https://wire.example/{s}"] if s < 6 else None
        assert r["cluster_id"] == expected, r["url"]


def test_a_stage_after_near_duplicates_sees_only_what_they_kept(tmp_path, monkeypatch):
    from tests.test_stages import EvenTexts

    wire_corpus(tmp_path / "raw")
    plain = near_build(tmp_path / "raw", tmp_path / "plain")
    monkeypatch.setattr(stages, "STAGES", (*stages.STAGES, EvenTexts()))
    report = near_build(tmp_path / "raw", tmp_path / "out")
    survivors = [r for r in rows(plain.out) if r["text_sha256"][0] in "02468ace"]
    assert sorted(r["id"] for r in rows(report.out)) == sorted(r["id"] for r in survivors)
    assert report.accounting.balanced
    assert report.accounting.duplicates["near_duplicate"] == 18


def stored_key_rows(stage: NearDuplicates, keys: pa.Table, work: Storage) -> pa.Table:
    """The stage's key rows for these rows, the rows stored as the driver stores them."""
    store = RowStore(work, stage.name, 0)
    rows = stage.annotate(keys).drop_columns(["text"])
    rows = rows.append_column(REF, pa.array(store.add(rows)))
    store.close()
    return stage.expand(rows)


def test_a_pair_sharing_many_bands_makes_one_edge(tmp_path):
    stage = NearDuplicates(NearDuplicateSection(enabled=True))
    texts = [" ".join(story(5)), reprint(story(5), "Post"), " ".join(story(6))]
    keys = pa.table(
        {
            "text": texts,
            "id": ["a", "b", "c"],
            "date": [None] * 3,
            "source_path": ["x.jsonl"] * 3,
            "source_record": [1, 2, 3],
            "_part": ["p"] * 3,
            "_row": [0, 1, 2],
        }
    )
    work = Storage.of(tmp_path)
    rows = stored_key_rows(stage, keys, work)
    assert len(rows) == 3 * stage.settings.bands
    assert rows.column_names == ["near_band", "near_part", REF]  # no signature: it is stored
    decision = stage.decide(rows, work)
    assert decision.partial.select(["a_id", "b_id"]).to_pylist() == [{"a_id": "a", "b_id": "b"}]
    assert len(decision.kept) == 3


def test_rows_without_words_get_no_band_rows(tmp_path):
    stage = NearDuplicates(NearDuplicateSection(enabled=True))
    keys = pa.table(
        {"text": ["!!!", "- ... -"], "source_path": ["a", "a"], "source_record": [1, 2]}
    )
    assert len(stored_key_rows(stage, keys, Storage.of(tmp_path))) == 0
