"""`make bench` cannot rot: its corpus generator, its process-tree measurements, its verdicts on
issue 7's targets, and one whole run at a tiny size through the real CLI."""

from __future__ import annotations

import itertools
import json
import os
import sys
import textwrap
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from bench import build as bench
from bench.corpus import DUPLICATE_RATE, SHORT_RATE, TXT_ARTICLES, generate, records
from tests.reference import normalize_text

MB = 1_000_000


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for its reaper."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2 :].split()[0] != b"Z"


def test_the_corpus_is_the_same_bytes_for_the_same_seed_and_size(tmp_path):
    a = generate(tmp_path / "a", 0.3)
    b = generate(tmp_path / "b", 0.3)
    single = a.single_file.read_bytes()
    assert single == b.single_file.read_bytes()
    assert b"".join(p.read_bytes() for p in sorted(a.sharded.iterdir())) == single
    assert len(single) == a.bytes >= 0.3 * MB and single.count(b"\n") == a.records
    assert len(list(a.txt.iterdir())) == min(a.records, TXT_ARTICLES)
    first = json.loads(single.splitlines()[0])
    text = (a.txt / "article-00000.txt").read_text(encoding="utf-8")
    assert text == f"date {first['date_publish'][:10]}\n{first['maintext']}"
    assert generate(tmp_path / "c", 0.3, seed=7).single_file.read_bytes() != single


def test_a_finished_corpus_is_reused_and_a_different_one_is_refused(tmp_path):
    corpus = generate(tmp_path / "c", 0.1)
    written = corpus.single_file.stat().st_mtime_ns
    assert generate(tmp_path / "c", 0.1) == corpus
    assert corpus.single_file.stat().st_mtime_ns == written
    with pytest.raises(FileExistsError, match="0.1 MB"):
        generate(tmp_path / "c", 0.2)
    (tmp_path / "mine").mkdir()
    with pytest.raises(FileExistsError, match="not a finished corpus"):
        generate(tmp_path / "mine", 0.1)


def test_an_interrupted_corpus_is_redone_but_a_foreign_folder_is_kept(tmp_path):
    partial = tmp_path / "c.partial"
    partial.mkdir()
    (partial / ".benchgen-partial").touch()
    (partial / "sharded").mkdir()
    (partial / "sharded" / "part-0099.jsonl").write_text("stale\n")
    corpus = generate(tmp_path / "c", 0.1)
    assert [p.name for p in corpus.sharded.iterdir()] == ["part-0000.jsonl"]
    assert not partial.exists()
    foreign = tmp_path / "d.partial"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("not the generator's")
    with pytest.raises(FileExistsError, match="not made by benchgen"):
        generate(tmp_path / "d", 0.1)
    assert (foreign / "keep.txt").exists()


def test_the_corpus_has_duplicates_half_equal_only_after_normalization_and_short_records():
    sample = [r["maintext"] for r in itertools.islice(records(), 6000)]
    short = [t for t in sample if len(t.split()) < 25]
    long = [t for t in sample if len(t.split()) >= 25]
    exact = len(long) - len(set(long))
    tidy = Counter(unicodedata.normalize("NFC", " ".join(t.split())) for t in long)
    after = len(long) - len(tidy)
    assert SHORT_RATE * 0.7 < len(short) / len(sample) < SHORT_RATE * 1.3
    assert DUPLICATE_RATE * 0.8 < after / len(sample) < DUPLICATE_RATE * 1.2
    assert 0.35 < exact / after < 0.65
    messy = [t for t in long if tidy[unicodedata.normalize("NFC", " ".join(t.split()))] > 1]
    groups: dict[str, set[str]] = {}
    for text in messy:
        groups.setdefault(unicodedata.normalize("NFC", " ".join(text.split())), set()).add(text)
    variants = [group for group in groups.values() if len(group) > 1][:20]
    assert variants
    for group in variants:  # the builder's normalizer makes every variant one text
        assert len({normalize_text(t) for t in group}) == 1
    assert any(unicodedata.normalize("NFC", t) != t for t in long)  # NFD text
    assert any("Ã" in t for t in long)  # mojibake
    assert any("\t" in t or "  " in t for t in long)


def test_peak_rss_sums_the_whole_process_tree(tmp_path):
    child = "import time; x = 'x' * 150_000_000; time.sleep(1.0)"
    code = f"""
        import subprocess, sys
        subprocess.run([sys.executable, "-c", {child!r}], check=True)
    """
    outcome = bench.measure(_python(code), limit=60, logs=tmp_path)
    assert outcome.status == "ok"
    assert outcome.peak_rss >= 150 * MB


def test_a_run_over_the_limit_is_stopped_with_all_its_processes(tmp_path):
    code = """
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        print(child.pid, flush=True)
        time.sleep(120)
    """
    outcome = bench.measure(_python(code), limit=2, logs=tmp_path)
    assert outcome.status == "over limit (2 s)"
    assert outcome.seconds < 30
    assert not _running(int(outcome.stdout.split()[0]))


def test_processes_that_outlive_a_run_are_stopped_and_counted(tmp_path):
    code = """
        import subprocess, sys, time
        child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
        )
        print(child.pid, flush=True)
        time.sleep(0.5)
    """
    outcome = bench.measure(_python(code), limit=60, logs=tmp_path)
    assert outcome.status == "ok"
    assert outcome.outlived == 1
    assert not _running(int(outcome.stdout.split()[0]))


def test_a_failing_run_is_reported_with_its_exit_code_and_last_words(tmp_path):
    code = "import sys; print('error: no input', file=sys.stderr); sys.exit(3)"
    outcome = bench.measure(_python(code), limit=60, logs=tmp_path)
    assert outcome.status == "failed (exit 3)"
    assert outcome.stderr_tail == "error: no input"


def _run(size: float, name: str, layout: str, workers: int | None, seconds: float, rss: float):
    return bench.Run(size, name, layout, workers, size, 1000, seconds, rss, "ok", rows=900)


def test_ratios_and_target_verdicts():
    runs = [
        _run(size, "floor", "single", None, floor, 900)
        for size, floor in ((250.0, 2.0), (1000.0, 8.0))
    ]
    for size in (250.0, 1000.0):
        for layout in ("sharded", "single"):
            runs += [
                _run(size, "build", layout, 1, size / 20, 400),
                _run(size, "build", layout, 2, size / 50, 450 if size < 1000 else 500),
            ]
    runs[-1].rows = 899
    runs.append(_run(250.0, "seed", "txt", 2, 1.0, 300))
    bench.compare(runs)
    assert runs[-1].vs_floor is None and runs[-1].note == ""  # not the floor's input
    sharded_w2 = runs[-4]
    assert sharded_w2.label == "build sharded w2"
    assert sharded_w2.vs_floor == pytest.approx(8 / 20) and sharded_w2.scaling == pytest.approx(2.5)
    assert "rows differ from build sharded w1" in runs[-2].note
    verdicts = {t["target"]: t["verdict"] for t in bench.targets(runs)}
    assert verdicts["build w2 >= 0.36x floor, 1000 MB sharded"] == "met: 0.400x"
    assert verdicts["2 workers >= 1.7x 1 worker, 250 MB single"] == "met: 2.50x"
    assert verdicts["peak RSS <= 1000 MB, every build"] == "met: 500 MB"
    assert verdicts["peak RSS within 20%, 250/1000 MB sharded w2"] == "met: 11% apart"
    sharded_w2.peak_rss_mb = 1200
    verdicts = {t["target"]: t["verdict"] for t in bench.targets(runs)}
    assert verdicts["peak RSS <= 1000 MB, every build"] == "MISSED: 1,200 MB"
    assert verdicts["peak RSS within 20%, 250/1000 MB sharded w2"] == "MISSED: 167% apart"
    small_only = [r for r in runs if r.size_mb == 250]
    verdicts = {t["target"]: t["verdict"] for t in bench.targets(small_only)}
    assert verdicts["build w2 >= 0.36x floor, 1000 MB single"].startswith("not measured")


@pytest.mark.slow
def test_a_tiny_bench_runs_the_real_cli_and_cleans_up(tmp_path, capsys):
    out = tmp_path / "bench"
    results = tmp_path / "results.json"
    argv = ["--sizes", "0.05", "--workers", "1", "--skip-ray", "--out", str(out)]
    assert bench.main([*argv, "--json", str(results), "--max-build-seconds", "120"]) == 0
    shown = capsys.readouterr().out
    assert "issue 7 targets:" in shown and "vs floor" in shown
    runs = {bench.Run(**run).label: run for run in json.loads(results.read_text())["runs"]}
    assert set(runs) == {"floor single", "build sharded w1", "build single w1", "seed txt w1"}
    assert {run["status"] for run in runs.values()} == {"ok"}
    assert runs["build sharded w1"]["rows"] == runs["build single w1"]["rows"] > 0
    assert runs["build single w1"]["vs_floor"] > 0 and runs["build single w1"]["peak_rss_mb"] > 0
    assert sorted(p.name for p in out.iterdir()) == ["corpus-20261127-0.05mb"]  # scratch removed
    corpus = out / "corpus-20261127-0.05mb"
    assert sorted(os.listdir(corpus)) == ["corpus.json", "sharded", "single", "txt"]
