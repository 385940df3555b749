"""`make bench` cannot rot: its corpus generator, its process-tree measurements, its verdicts on
issue 7's and issue 16's targets, one whole run at a tiny size through the real CLI, and one
of the comparisons with datatrove and of the build cache's parts, with stand-ins for datatrove
and for a builder with a cache (no bench venv, no network)."""

from __future__ import annotations

import itertools
import json
import os
import sys
import textwrap
import time
import unicodedata
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from bench import build as bench
from bench import compare
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


# --- issue 16: Broadsheet beside datatrove, the build cache, compression ------------------------

# Stand-ins, so that these tests need neither the bench venv (datatrove) nor a builder with a
# build cache: the same arguments and the same last lines as the real commands.
STUB_BUILDER = '''
"""`python -m builder` with a build cache: each input file is a unit, its result cached."""
import argparse, hashlib, json, os, shutil, sys, time, tomllib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

parser = argparse.ArgumentParser()
parser.add_argument("--config")
build = parser.add_subparsers(dest="command").add_parser("build")
for option in ("--raw", "--out", "--workers"):
    build.add_argument(option)
build.add_argument("--no-cache", action="store_true")
args = parser.parse_args()
config = tomllib.loads(Path(args.config).read_text()) if args.config else {}
cache = None if args.no_cache else Path(config["run"]["cache"])
reused = computed = 0
lines = []
for path in sorted(Path(args.raw).iterdir()):
    data = path.read_bytes()
    key = hashlib.sha256(path.name.encode() + data).hexdigest()
    if cache is not None and (cache / key).is_file():
        reused += 1
        lines.append((cache / key).read_text())
        continue
    time.sleep(0.05)  # the unit's work
    result = f"{path.name} {hashlib.sha256(data).hexdigest()}"
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        (cache / f"{key}.tmp").write_text(result)
        os.replace(cache / f"{key}.tmp", cache / key)
    computed += 1
    lines.append(result)
out = Path(args.out)
staging = out.with_name(out.name + ".building")
shutil.rmtree(staging, ignore_errors=True)
(staging / "data" / "xx").mkdir(parents=True)
table = pa.table({"line": lines, "words": [line.split() for line in lines]})
pq.write_table(table, staging / "data" / "xx" / "0000.parquet", compression="zstd")
accounting = {"records_read": len(lines), "rejected": 0, "duplicates": 0}
(staging / "manifest.json").write_text(json.dumps({"accounting": accounting}))
shutil.rmtree(out, ignore_errors=True)
os.replace(staging, out)
print(f"cache: {reused} unit(s) reused, {computed} computed, 0 evicted", file=sys.stderr)
'''
STUB_DATATROVE = '''
"""bench/datatrove_jobs.py's arguments and last line, without datatrove."""
import argparse, json, sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

parser = argparse.ArgumentParser()
parser.add_argument("job")
for option in ("--input", "--output", "--logs", "--tasks", "--workers", "--min-words", "--formatter"):
    parser.add_argument(option)
args = parser.parse_args()
if args.job == "check":
    print(json.dumps({"job": "check", "datatrove": "0.10.1", "warc_unavailable": WARC}))
    sys.exit()
files = sorted(Path(args.input).iterdir())
Path(args.output).mkdir(parents=True)
pq.write_table(pa.table({"text": [p.name for p in files]}), Path(args.output) / "00000.parquet")
counts = {"read": len(files), "written": len(files)}
if args.job == "warc":
    counts |= {"extracted": len(files), "empty": 0, "timeouts": 0}
else:
    counts |= {"too_short": 0, "duplicates": 0}
print(json.dumps({"job": args.job, **counts, "steps": []}))
'''


def _stubs(tmp_path: Path, warc: str | None = None) -> tuple[str, str]:
    builder, datatrove = tmp_path / "stub_builder.py", tmp_path / "stub_datatrove.py"
    builder.write_text(textwrap.dedent(STUB_BUILDER))
    datatrove.write_text(textwrap.dedent(STUB_DATATROVE).replace("WARC", repr(warc)))
    return f"{sys.executable} {builder}", f"{sys.executable} {datatrove}"


def _pages(folder: Path, count: int = 4) -> Path:
    """A corpus folder as `make eval` reads it: html/provenance.tsv and its pages."""
    (folder / "html" / "mine").mkdir(parents=True)
    rows = ["set\tfile\turl\tlang\tgt_date"]
    for n in range(count):
        body = " ".join(["Il consiglio comunale ha approvato il piano."] * 20)
        page = f"<html><head><title>Page {n}</title></head><body><p>{body}</p></body></html>"
        (folder / "html" / "mine" / f"{n}.html").write_text(page)
        rows.append(f"mine\thtml/mine/{n}.html\thttps://example.com/{n}\tit\t2024-01-0{n + 1}")
    (folder / "html" / "provenance.tsv").write_text("\n".join(rows) + "\n")
    return folder


def test_reap_counts_the_cpu_of_processes_no_one_waits_for(tmp_path):
    # A grandchild orphaned at once (as datatrove's forkserver tasks are) burns CPU after its
    # parent has gone: only a subreaper sees its usage.
    code = """
        import os, time
        if os.fork() == 0:
            if os.fork() == 0:
                end = time.process_time() + 0.6
                while time.process_time() < end:
                    pass
            os._exit(0)
    """
    outcome = bench.measure_all(_python(code), limit=60, logs=tmp_path)
    assert outcome.status == "ok" and outcome.outlived == 0
    assert outcome.cpu_seconds >= 0.5


def test_a_killed_run_is_killed_with_its_whole_tree_and_its_cpu_counted(tmp_path):
    code = """
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        print(child.pid, flush=True)
        time.sleep(120)
    """
    stint = compare.run_until(_python(code), after=1.5, limit=60, logs=tmp_path)
    assert stint.status == "killed" and 1.5 <= stint.killed_at < 10
    assert stint.cpu_seconds > 0.2  # the busy child's, reaped after the kill
    assert not _running(int((tmp_path / "stdout").read_text().split()[0]))


def test_a_kill_before_the_command_has_started_still_stops_it(tmp_path):
    done = tmp_path / "done"
    code = f"import time, pathlib; time.sleep(1); pathlib.Path({str(done)!r}).touch()"
    stint = compare.run_until(_python(code), after=0.0, limit=60, logs=tmp_path / "logs")
    assert stint.status == "killed"
    time.sleep(1.5)
    assert not done.exists()


def test_cache_figures_and_units_are_read_from_the_builders_line():
    stderr = "note: x\ncache: 1,203 unit(s) reused, 4 computed, 2 evicted\nrelease: dist\n"
    assert bench.cache_figures(stderr) == "1,203 unit(s) reused, 4 computed, 2 evicted"
    assert compare.units(bench.cache_figures(stderr)) == 1207
    line = (
        "cache: 3 unit(s) reused, 2 computed (1 damaged entry recomputed), 1 not cacheable; "
        "40 partition(s) reused, 6 written; 0 evicted (12.5 MB cached)"
    )
    assert compare.units(bench.cache_figures(line)) == 6
    assert bench.cache_figures("release: dist\n") == "" and compare.units("") is None


def test_differences_between_releases(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        (folder / "data").mkdir(parents=True)
        (folder / "data" / "x.parquet").write_bytes(b"same")
        (folder / "manifest.json").write_text("{}")
    assert compare.differences(a, b) == []
    (b / "manifest.json").write_text('{"x": 1}')
    (a / "README.md").write_text("card")
    assert compare.differences(a, b) == ["README.md", "manifest.json"]
    assert compare.differences(a, tmp_path / "none") == [f"{tmp_path / 'none'} is missing"]


def test_the_compression_table_rewrites_the_release_byte_for_byte_at_its_own_level(tmp_path):
    from builder.writers.parquet import COMPRESSION_LEVEL, write_table

    table = pa.table(
        {
            "id": [f"{n:04x}" for n in range(500)],
            "text": [f"article {n} " * 40 for n in range(500)],
            "authors": [[f"Reporter {n % 7}"] for n in range(500)],  # a list column
        }
    )
    (tmp_path / "release" / "data" / "it" / "2024-01").mkdir(parents=True)
    write_table(table, tmp_path / "release" / "data" / "it" / "2024-01" / "0000.parquet")
    result = compare.compression(tmp_path / "release", (1, COMPRESSION_LEVEL), tmp_path)
    own = next(r for r in result["levels"] if r["level"] == COMPRESSION_LEVEL)
    assert own["same"] is True and own["vs_current_bytes"] == 1.0
    assert [r["level"] for r in result["levels"]] == [1, COMPRESSION_LEVEL]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release"]  # rewrites removed
    shown = compare.compression_report(result)
    assert "(the release's bytes)" in shown and "zstd level" in shown


def test_the_datatrove_side_missing_or_without_libmagic_is_said_not_failed(tmp_path):
    missing = compare.datatrove_setup(f"{tmp_path / 'no-venv' / 'python'} jobs.py")
    assert missing.missing and "make bench" in missing.missing
    _, datatrove = _stubs(tmp_path, warc="libmagic is missing (python-magic: failed)")
    side = compare.datatrove_setup(datatrove)
    assert side.missing is None and side.version == "0.10.1"
    assert side.warc_missing == "libmagic is missing (python-magic: failed)"


def test_without_a_build_cache_the_cache_parts_say_so_and_go_on(tmp_path):
    said: list[str] = []
    runner = bench.Bench(tmp_path, 60, echo=said.append, build_cache=False)
    assert compare.incremental(runner, [])["status"] == compare.NOT_AVAILABLE
    assert compare.resume(runner, 250, tmp_path, None, None, 3, 1)["status"] == (
        compare.NOT_AVAILABLE
    )
    assert said == [
        "\nincremental build: not available in this builder",
        "\nkill and resume: not available in this builder",
    ]


def _versus(size: float, ours: float | None, lean: float, theirs: float, rss: float) -> dict:
    def run(seconds: float | None, peak: float = 300) -> dict:
        status = "ok" if seconds else "failed (exit 1)"
        return {"seconds": seconds, "status": status, "peak_rss_mb": peak}

    return {
        "size_mb": size,
        "default": run(ours, rss),
        "lean": run(lean),
        "datatrove": run(theirs),
        "datatrove_missing": None,
        "default_ratio": theirs / ours if ours else None,
        "lean_ratio": theirs / lean,
        "compared": True,
    }


def test_issue_16_target_verdicts():
    results = {
        "versus": [_versus(250, 10.0, 5.0, 12.0, 1100), _versus(1000, None, 20, 40, 900)],
        "warc": {"ratio": 0.8, "broadsheet": {"status": "ok"}, "datatrove": {"status": "ok"}},
        "incremental": {"status": "ok", "share": 0.12, "identical": False, "differences": ["a"]},
        "resume": {
            "status": "ok",
            "kills": 3,
            "identical": True,
            "cpu_seconds": 130.0,
            "cpu_bound": 120.0,
        },
    }
    verdicts = {t["target"]: t["verdict"] for t in compare.targets(results)}
    assert verdicts["default steps: datatrove / Broadsheet wall >= 1, 250 MB"] == "met: 1.20x"
    assert verdicts["  stretch: >= 1.5, 250 MB"] == "MISSED: 1.20x"
    assert verdicts["lean steps: datatrove / Broadsheet wall >= 2, 250 MB"] == "met: 2.40x"
    assert verdicts["Broadsheet peak RSS <= 1,000 MB, 250 MB"] == "MISSED: 1,100 MB"
    assert verdicts["default steps: datatrove / Broadsheet wall >= 1, 1000 MB"] == (
        "not measured (failed (exit 1))"
    )
    assert verdicts["lean steps: datatrove / Broadsheet wall >= 2, 1000 MB"] == "met: 2.00x"
    assert verdicts["web pages: datatrove / Broadsheet ms a page >= 1"] == "MISSED: 0.80x"
    assert verdicts["13th month's rebuild <= 15% of the full build"] == "met: 12.0%"
    assert verdicts["rebuild byte-identical to a clean --no-cache build"] == (
        "MISSED: 1+ file(s) differ"
    )
    assert verdicts["after 3 kills, the release byte-identical to an uninterrupted build"] == (
        "met: yes"
    )
    assert verdicts["CPU of all runs <= uninterrupted + 1 unit per worker per kill"] == (
        "MISSED: 130.0 CPU-s against 120.0"
    )
    bare = {t["target"]: t["verdict"] for t in compare.targets({"versus": []})}
    assert bare["web pages: per page"] == "not measured (no CORPUS given)"
    assert bare["13th month's rebuild <= 15% of the full build"] == "not measured (not in this run)"
    unavailable = {"status": compare.NOT_AVAILABLE}
    verdicts = {
        t["target"]: t["verdict"]
        for t in compare.targets({"incremental": unavailable, "resume": unavailable})
    }
    assert verdicts["rebuild byte-identical to a clean --no-cache build"] == (
        "not measured (not available in this builder)"
    )


def test_a_tiny_comparison_run_with_stub_builder_and_datatrove(tmp_path, capsys):
    builder, datatrove = _stubs(tmp_path)
    out, results = tmp_path / "bench", tmp_path / "results.json"
    argv = ["--sizes", "0.05", "--parts", "versus,compression,incremental,resume"]
    argv += ["--builder", builder, "--datatrove", datatrove, "--out", str(out)]
    argv += ["--corpus", str(_pages(tmp_path / "corpus")), "--month-mb", "0.01", "--kills", "2"]
    assert bench.main([*argv, "--json", str(results)]) == 0
    shown = capsys.readouterr().out
    assert "datatrove wall / Broadsheet wall: default steps" in shown
    assert "read 2, extracted 2, empty 0, timeouts 0" in shown  # datatrove's WARC counts
    assert "issue 16 targets:" in shown and "total time" in shown
    figures = json.loads(results.read_text())
    assert figures["build_cache"] is True and figures["datatrove"]["version"] == "0.10.1"
    labels = {run["name"] + " " + run["layout"]: run for run in figures["runs"]}
    labels_run = ("build sharded", "lean sharded", "datatrove sharded", "datatrove bare sharded")
    for label in (*labels_run, "warc 2 files"):
        assert labels[label]["status"] == "ok" and labels[label]["cpu_seconds"] > 0
    assert labels["datatrove warc 2 files"]["counts"]["read"] == 2  # two WARC files
    issue = figures["issue16"]
    (versus,) = issue["versus"]
    assert versus["default_ratio"] > 0 and versus["lean_ratio"] > 0
    assert versus["default_ratio_bare"] > 0 and versus["lean_ratio_bare"] > 0
    assert issue["warc"]["pages"] == 4 and issue["warc"]["files"] == [2, 2]
    assert issue["warc"]["ratio"] > 0
    assert [r["level"] for r in issue["compression"]["levels"]] == list(compare.LEVELS)
    incremental = issue["incremental"]
    assert incremental["identical"] is True and incremental["months"] == 12
    assert incremental["rebuild"]["cache"] == "12 unit(s) reused, 1 computed, 0 evicted"
    resume = issue["resume"]
    assert resume["status"] == "ok" and resume["identical"] is True
    assert resume["units"] == 1 and resume["cpu_bound"] is not None
    assert len(resume["stints"]) == resume["delivered"] + 1
    targets = {t["target"]: t["verdict"] for t in issue["targets"]}
    assert targets["rebuild byte-identical to a clean --no-cache build"] == "met: yes"
    assert not any(v.startswith("not measured") for v in targets.values())
    left = sorted(p.name for p in out.iterdir())  # scratch and kept releases removed
    assert left == ["corpus-20261127-0.05mb", "monthly-20261127-0.01mb"]
