"""Issue 16's part of `make bench`: Broadsheet beside datatrove 0.10.1 on the same inputs, the
incremental build, kill and resume, and the shard compression level. bench/build.py calls it.

- versus: on the generated corpus's JSONL shards, one after the other, 2 workers or tasks each:
  Broadsheet with its default steps, Broadsheet with the lean steps (normalize, dates, language,
  validate), both with `min_words = 50`, and datatrove's chain (JSONL -> FTFY -> drop short ->
  exact dedup -> Parquet, bench/datatrove_jobs.py in .venv-bench).
- warc: the pages of a corpus folder (CORPUS) as two .warc.gz files, Broadsheet against
  datatrove's WarcReader -> Trafilatura -> ParquetWriter, per page.
- incremental: 12 monthly JSONL files built, a 13th added and built again with the build cache;
  the rebuild's share of the full build, and its release against a clean `--no-cache` build.
- resume: one build SIGKILLed at random moments, each kill followed by a rerun; the last
  release against an uninterrupted build, and the CPU of all the runs against that build's.
- compression: the release's shards rewritten at several zstd levels: bytes and write time.

Every run is measured by bench.build's `measure_all` (wall time, CPU of every process of the
tree, peak RSS summed over the tree); `targets` gives one verdict per target of issue 16.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import random
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.build import (
    MB,
    REAP,
    ROOT,
    Bench,
    PeakRss,
    Run,
    process_tree,
)
from bench.corpus import Corpus, monthly

WORKERS = 2  # Broadsheet's workers and datatrove's tasks and workers, in every run here
MIN_WORDS = 50
LEAN_STEPS = ("normalize", "dates", "language", "validate")
LEVELS = (1, 3, 6, 9, 15)  # zstd levels of the compression table
DATATROVE = f"{ROOT / '.venv-bench' / 'bin' / 'python'} {ROOT / 'bench' / 'datatrove_jobs.py'}"
NOT_AVAILABLE = "not available in this builder"  # no --no-cache: no build cache yet
# Issue 16's targets, on this 2-core machine and measured in the same run.
TARGET_DEFAULT = 1.0  # datatrove wall / Broadsheet wall, default steps
TARGET_STRETCH = 1.5
TARGET_LEAN = 2.0  # the same, lean steps
TARGET_RSS_MB = 1000.0  # Broadsheet's peak RSS, summed over the process tree
TARGET_WARC = 1.0  # datatrove ms a page / Broadsheet ms a page
TARGET_REBUILD = 0.15  # a 13th month's rebuild / the 12 months' full build, wall time


def corpus_config(steps: Sequence[str] | None = None) -> str:
    """The generated corpus's config: its four languages, min_words = 50, the default steps
    (or `steps`)."""
    lines = [
        "[dataset]",
        'name = "bench"',
        'repo_id = "bench/bench"',
        'version = "1.0.0"',
        'license = "cc-by-4.0"',
        'languages = ["en", "it", "de", "fr"]',
        'description = "The generated corpus of make bench."',
        "",
        "[build]",
        f"min_words = {MIN_WORDS}",
    ]
    if steps is not None:
        lines.append(f"steps = {json.dumps(list(steps))}")
    return "\n".join(lines) + "\n"


# --- datatrove's side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Datatrove:
    """The jobs script's command, and what `COMMAND check` said about it."""

    command: tuple[str, ...]
    version: str | None = None
    missing: str | None = None  # why it cannot run at all
    warc_missing: str | None = None  # why its warc job cannot run (no libmagic)


def datatrove_setup(command: str) -> Datatrove:
    """Ask the datatrove side (`COMMAND check`) for its version and whether libmagic is there."""
    words = tuple(shlex.split(command))
    try:
        done = subprocess.run(
            [*words, "check"], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
    except OSError as exc:
        why = f"{words[0]} cannot be run ({exc.strerror}); `make bench` sets up .venv-bench"
        return Datatrove(words, missing=why)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Datatrove(words, missing=f"its check failed (exit {done.returncode}): {last}")
    info = json.loads(lines[-1])
    return Datatrove(words, info.get("datatrove"), None, info.get("warc_unavailable"))


def datatrove_run(
    bench: Bench,
    datatrove: Datatrove,
    size: float,
    job: str,
    layout: str,
    raw: Path,
    records: int,
    *options: str,
    name: str = "datatrove",
) -> Run:
    """Time one datatrove job on `raw` with WORKERS tasks and workers, as a row of the table
    named `name`."""

    def command(scratch: Path) -> list[str]:
        return [
            *datatrove.command,
            job,
            "--input",
            str(raw),
            "--output",
            str(scratch / "release" / "data"),
            "--logs",
            str(scratch / "logs"),
            "--tasks",
            str(WORKERS),
            "--workers",
            str(WORKERS),
            *options,
        ]

    measured = bench._measure(command)
    outcome = measured.outcome
    run = bench._run(size, name, layout, WORKERS, raw, records, outcome)
    run.rows = measured.rows
    if outcome.status == "ok":
        bench._speed(run, outcome.seconds)
        lines = [line for line in outcome.stdout.splitlines() if line.startswith("{")]
        if lines:
            counts = json.loads(lines[-1])
            run.counts = {k: v for k, v in counts.items() if k != "steps"}
    else:
        bench.echo(f"  datatrove {job}: {outcome.status}; its last lines:\n{outcome.stderr_tail}")
    return bench._add(run)


# --- versus: the same JSONL corpus --------------------------------------------------------------


def ratio(theirs: Run | None, ours: Run | None) -> float | None:
    """datatrove's wall time over Broadsheet's: above 1, Broadsheet is faster."""
    if theirs is None or ours is None or not theirs.seconds or not ours.seconds:
        return None
    return theirs.seconds / ours.seconds


def versus(
    bench: Bench, datatrove: Datatrove | None, size: float, corpus: Corpus, keep: Path
) -> tuple[dict, Run]:
    """Broadsheet (default steps, then lean steps) and datatrove's chain on the corpus's shards;
    with `datatrove` None, the default-steps build only. Its release is kept in `keep` (for the
    compression table, and as the uninterrupted build of kill and resume)."""
    raw, records = corpus.sharded, corpus.records
    ours = bench.build(
        size, "build", "sharded", raw, WORKERS, records, config=corpus_config(), keep=keep
    )
    lean = theirs = bare = None
    if datatrove is not None:
        lean = bench.build(
            size, "lean", "sharded", raw, WORKERS, records, config=corpus_config(LEAN_STEPS)
        )
        if datatrove.missing:
            bench.echo(f"  datatrove: not run ({datatrove.missing})")
        else:
            theirs, bare = (  # its chain with FTFYFormatter, then with no normalization at all
                datatrove_run(
                    bench, datatrove, size, "jsonl", "sharded", raw, records,
                    "--min-words", str(MIN_WORDS), "--formatter", formatter, name=name,
                )
                for formatter, name in (("ftfy", "datatrove"), ("none", "datatrove bare"))
            )  # fmt: skip
    result = {
        "size_mb": size,
        "records": records,
        "shards": sum(1 for _ in raw.iterdir()),
        "default": asdict(ours),
        "lean": asdict(lean) if lean else None,
        "datatrove": asdict(theirs) if theirs else None,
        "datatrove_bare": asdict(bare) if bare else None,
        "datatrove_missing": datatrove.missing if datatrove else "not run",
        "default_ratio": ratio(theirs, ours),
        "lean_ratio": ratio(theirs, lean),
        "default_ratio_bare": ratio(bare, ours),
        "lean_ratio_bare": ratio(bare, lean),
        "release": str(keep) if ours.status == "ok" else None,
        "compared": datatrove is not None,  # else the default build only, for another part
    }
    if datatrove is not None:
        bench.echo(versus_report(result))
    return result, ours


def _counts(run: dict | None) -> str:
    counts = (run or {}).get("counts") or {}
    if "extracted" in counts:  # datatrove's warc job: pages its reader kept, then trafilatura's
        return (
            f"read {counts['read']:,}, extracted {counts['extracted']:,}, empty "
            f"{counts['empty']:,}, timeouts {counts['timeouts']:,}"
        )
    if "too_short" in counts:  # datatrove's: empty texts are skipped by its reader, uncounted
        return f"read {counts['read']:,}, too short {counts['too_short']:,}, duplicates {counts['duplicates']:,}"
    if "rejected" in counts:
        return f"read {counts['read']:,}, rejected {counts['rejected']:,}, duplicates {counts['duplicates']:,}"
    return ""


def _fmt(value: float | None, form: str) -> str:
    return "-" if value is None else format(value, form)


def versus_report(result: dict) -> str:
    size = result["size_mb"]
    lines = [
        f"\nBroadsheet and datatrove, {size:g} MB ({result['shards']} JSONL shards, "
        f"{result['records']:,} records), {WORKERS} workers, one after the other (lean steps: "
        f"{', '.join(LEAN_STEPS)}):",
        f"  {'run':<34}{'wall s':>9}{'CPU s':>9}{'peak RSS MB':>13}{'rows':>10}  counts",
    ]
    for key, name in (
        ("default", "Broadsheet, default steps"),
        ("lean", "Broadsheet, lean steps"),
        ("datatrove", "datatrove, its chain"),
        ("datatrove_bare", "datatrove, bare (no FTFYFormatter)"),
    ):
        run = result[key]
        if run is None:
            lines.append(f"  {name:<34}not run ({result['datatrove_missing']})")
            continue
        status = "" if run["status"] == "ok" else f"  {run['status']}"
        lines.append(
            f"  {name:<34}{_fmt(run['seconds'], '9.1f')}{_fmt(run['cpu_seconds'], '9.1f')}"
            f"{_fmt(run['peak_rss_mb'], '13,.0f')}{_fmt(run['rows'], '10,')}  "
            f"{_counts(run)}{status}"
        )
    lines.append(
        f"  datatrove wall / Broadsheet wall: default steps {_fmt(result['default_ratio'], '.2f')}x "
        f"(target >= {TARGET_DEFAULT:g}, stretch {TARGET_STRETCH:g}), lean steps "
        f"{_fmt(result['lean_ratio'], '.2f')}x (target >= {TARGET_LEAN:g})"
    )
    if result.get("datatrove_bare"):
        lines.append(
            f"  against datatrove's bare chain: default steps "
            f"{_fmt(result['default_ratio_bare'], '.2f')}x, lean steps "
            f"{_fmt(result['lean_ratio_bare'], '.2f')}x (Broadsheet still normalizes: NFC, "
            "controls, spaces, and ftfy where a text shows mojibake)"
        )
    return "\n".join(lines)


# --- web pages in WARC files --------------------------------------------------------------------


def warc_versus(bench: Bench, datatrove: Datatrove, corpus: Path) -> dict:
    """The corpus's pages (html/provenance.tsv's order) alternately into two .warc.gz files,
    written as `make eval` writes its WARC, so that datatrove (a task per file) and Broadsheet
    both have two to share; each tool with 2 workers; milliseconds per page."""
    from bench.evaluate import FETCH_DATE, load_pages, warc_pages
    from bench.warc_corpus import write_warc

    pages = load_pages(corpus)
    raw = Path(tempfile.mkdtemp(prefix="warc-", dir=bench.cache))
    try:
        files = [
            write_warc(warc_pages(pages[i::2]), raw / f"pages-{i}.warc.gz", FETCH_DATE)
            for i in range(2)
        ]
        total = sum(files)
        ours = bench.build(0, "warc", "2 files", raw, WORKERS, total)
        theirs, why = None, datatrove.missing or datatrove.warc_missing
        if why:
            bench.echo(f"  datatrove: the WARC comparison is skipped: {why}")
        else:
            theirs = datatrove_run(bench, datatrove, 0, "warc", "warc 2 files", raw, total)
        input_mb = sum(p.stat().st_size for p in raw.iterdir()) / MB
    finally:
        shutil.rmtree(raw)

    def per_page(run: Run | None, value: float | None) -> float | None:
        return value / total * 1e3 if run and run.status == "ok" and value else None

    result = {
        "pages": total,
        "files": files,
        "input_mb": input_mb,
        "broadsheet": asdict(ours),
        "datatrove": asdict(theirs) if theirs else None,
        "datatrove_missing": why,
        "broadsheet_ms_per_page": per_page(ours, ours.seconds),
        "datatrove_ms_per_page": per_page(theirs, theirs.seconds if theirs else None),
        "broadsheet_cpu_ms_per_page": per_page(ours, ours.cpu_seconds),
        "datatrove_cpu_ms_per_page": per_page(theirs, theirs.cpu_seconds if theirs else None),
    }
    b, d = result["broadsheet_ms_per_page"], result["datatrove_ms_per_page"]
    result["ratio"] = d / b if b and d else None
    bench.echo(warc_report(result))
    return result


def warc_report(result: dict) -> str:
    lines = [
        f"\nweb pages: {result['pages']:,} pages in 2 .warc.gz files ({result['files'][0]} and "
        f"{result['files'][1]}: alternate pages of html/provenance.tsv; {result['input_mb']:.1f} MB), "
        f"{WORKERS} workers:"
    ]
    for key, name in (("broadsheet", "Broadsheet"), ("datatrove", "datatrove")):
        run = result[key]
        if run is None:
            lines.append(f"  {name:<11}not run ({result['datatrove_missing']})")
            continue
        if run["status"] != "ok":
            lines.append(f"  {name:<11}{run['status']}")
            continue
        lines.append(
            f"  {name:<11}{run['seconds']:.1f} s, {result[key + '_ms_per_page']:.1f} ms a page "
            f"(CPU {_fmt(result[key + '_cpu_ms_per_page'], '.1f')} ms), peak RSS "
            f"{_fmt(run['peak_rss_mb'], ',.0f')} MB, {_fmt(run['rows'], ',')} rows  {_counts(run)}"
        )
    lines.append(
        f"  datatrove ms / Broadsheet ms a page: {_fmt(result['ratio'], '.2f')}x "
        f"(target >= {TARGET_WARC:g})"
    )
    return "\n".join(lines)


# --- the build cache: incremental build, kill and resume -----------------------------------------


@dataclass
class Stint:
    """One run of a build that may be SIGKILLed."""

    seconds: float
    cpu_seconds: float
    status: str  # "ok", "killed", "failed (exit N)", "over limit (N s)"
    cache: str = ""
    peak_rss_mb: float | None = None
    killed_at: float | None = None  # seconds after the start


def sigkill_below(root: int, wait: float = 30.0) -> None:
    """SIGKILL every process under `root` (not `root`): their process groups, then any left.
    If none has started yet (reap.py still starting), wait up to `wait` s for the first."""
    try:
        own = os.getpgid(root)
    except ProcessLookupError:
        return
    deadline, rounds = time.monotonic() + wait, 0
    while rounds < 5:  # more rounds for processes started while we kill
        tree = [pid for pid in process_tree(root) if pid != root]
        if not tree:
            if rounds or time.monotonic() > deadline or not process_tree(root):
                return
            time.sleep(0.01)
            continue
        groups = set()
        for pid in tree:
            with contextlib.suppress(ProcessLookupError):
                groups.add(os.getpgid(pid))
        for group in groups - {own}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        for pid in tree:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        rounds += 1
        time.sleep(0.05)


def run_until(command: list[str], after: float | None, limit: float, logs: Path) -> Stint:
    """Run `command` under bench/reap.py in a process group of its own; SIGKILL the whole group
    `after` seconds in (None: let it finish). reap.py waits for every process of the run, killed
    or not, so the CPU counts them all."""
    from bench.build import cache_figures, stop_tree

    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(logs / "stdout", "wb") as out, open(logs / "stderr", "wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(REAP), "--own-group", "--", *command],
            cwd=ROOT,
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
        )
        sampler = PeakRss(process.pid, skip_root=True)
        sampler.start()
        status, killed_at = "", None
        try:
            code = process.wait(timeout=limit if after is None else min(after, limit))
            status = "ok" if code == 0 else f"failed (exit {code})"
        except subprocess.TimeoutExpired:
            killed_at = time.perf_counter() - start
            sigkill_below(process.pid)
            killed = after is not None and after < limit
            status = "killed" if killed else f"over limit ({limit:g} s)"
            try:  # reap.py ends once it has reaped them all
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                status += " (processes left running)"
        finally:
            seconds = time.perf_counter() - start
            sampler.stop()
            stop_tree(process, sampler.seen)
    after_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after_usage.ru_utime - before.ru_utime) + (after_usage.ru_stime - before.ru_stime)
    stderr = (logs / "stderr").read_text(errors="replace")
    if status.startswith("failed"):
        tail = "\n".join(stderr.splitlines()[-5:])
        status = f"{status}: {tail}" if tail else status
    rss = sampler.peak / MB if sampler.peak else None
    return Stint(seconds, cpu, status, cache_figures(stderr), rss, killed_at)


def build_command(bench: Bench, config: Path, raw: Path, out: Path, *extra: str) -> list[str]:
    return [
        *bench.builder,
        "--config",
        str(config),
        "build",
        "--raw",
        str(raw),
        "--workers",
        str(WORKERS),
        *extra,
        "--out",
        str(out),
    ]


def file_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def differences(a: Path, b: Path) -> list[str]:
    """Files that differ between two release folders (present in one only, or other bytes)."""
    if not a.is_dir() or not b.is_dir():
        return [f"{p} is missing" for p in (a, b) if not p.is_dir()]
    left, right = file_digests(a), file_digests(b)
    return sorted(k for k in left.keys() | right.keys() if left.get(k) != right.get(k))


def units(cache: str) -> int | None:
    """Work units of a build from its cache line: reused + computed + not cacheable."""
    found = re.match(r"([\d,]+) units?(?:\(s\))? reused, ([\d,]+) computed", cache)
    if not found:
        return None
    uncached = re.search(r"([\d,]+) not cacheable", cache)
    counts = [found[1], found[2], uncached[1] if uncached else "0"]
    return sum(int(c.replace(",", "")) for c in counts)


def _stint(s: Stint | None) -> str:
    if s is None:
        return "not run"
    cache = f"; cache: {s.cache}" if s.cache else ""
    status = "" if s.status == "ok" else f" ({s.status})"
    if s.status == "killed" and s.killed_at is not None:
        status = f" (killed at {s.killed_at:.1f} s)"
    return f"{s.seconds:.1f} s, {s.cpu_seconds:.1f} CPU-s{cache}{status}"


def incremental(bench: Bench, months: list[Path]) -> dict:
    """12 monthly files built with a fresh cache, a 13th added, built again: the rebuild's wall
    time as a share of the full build's, and its release against a clean `--no-cache` build."""
    if not bench.build_cache:
        bench.echo(f"\nincremental build: {NOT_AVAILABLE}")
        return {"status": NOT_AVAILABLE}
    scratch = Path(tempfile.mkdtemp(prefix="incremental-", dir=bench.cache))
    try:
        raw = scratch / "raw"
        raw.mkdir()
        for month in months[:-1]:
            _link(month, raw / month.name)
        config = bench.write_config(scratch, corpus_config())
        release = scratch / "release"
        command = build_command(bench, config, raw, release)
        full = run_until(command, None, bench.limit, scratch / "logs-full")
        again = clean = None
        diff: list[str] = []
        if full.status == "ok":
            _link(months[-1], raw / months[-1].name)  # the new month, beside the others
            again = run_until(command, None, bench.limit, scratch / "logs-again")
            clean_release = scratch / "clean"
            clean_command = build_command(bench, config, raw, clean_release, "--no-cache")
            clean = run_until(clean_command, None, bench.limit, scratch / "logs-clean")
            if again.status == clean.status == "ok":
                diff = differences(release, clean_release)
    finally:
        shutil.rmtree(scratch)
    ok = again is not None and clean is not None and again.status == clean.status == "ok"
    result = {
        "status": "ok" if ok else "failed",
        "months": len(months) - 1,
        "month_mb": [round(p.stat().st_size / MB, 1) for p in months],
        "full": asdict(full),
        "rebuild": asdict(again) if again else None,
        "clean": asdict(clean) if clean else None,
        "share": again.seconds / full.seconds if ok and again else None,
        "cpu_share": again.cpu_seconds / full.cpu_seconds
        if ok and again and full.cpu_seconds
        else None,
        "identical": not diff if ok else None,
        "differences": diff[:20],
    }
    share = "-" if result["share"] is None else f"{result['share']:.1%}"
    if result["cpu_share"] is not None:
        share += f" (CPU {result['cpu_share']:.1%})"
    same = {True: "yes", False: f"NO ({len(diff)} file(s) differ)", None: "-"}[result["identical"]]
    bench.echo(
        f"\nincremental build ({result['months']} monthly JSONL files of about "
        f"{result['month_mb'][0]:.1f} MB, then a 13th; {WORKERS} workers, a fresh cache):\n"
        f"  full build, {result['months']} months: {_stint(full)}\n"
        f"  13th month added, rebuilt: {_stint(again)}: {share} of the full build "
        f"(target <= {TARGET_REBUILD:.0%})\n"
        f"  clean build with --no-cache: {_stint(clean)}; release byte-identical: {same}"
    )
    return result


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another filesystem
        shutil.copyfile(source, target)


def resume(
    bench: Bench,
    size: float,
    raw: Path,
    reference: Run | None,
    release: Path | None,
    kills: int,
    seed: int,
) -> dict:
    """One build of `raw` SIGKILLed at `kills` random moments, each kill followed by a rerun
    (itself killed at the next moment); the last rerun's release against the uninterrupted
    build's (`reference`, its release in `release`), and the CPU of all the runs against that
    build's plus one unit per worker per kill.

    The moments are drawn uniformly over the uninterrupted build's wall time and sorted; run k
    is killed (moment k - moment k-1) seconds after it starts. A run that ends before its moment
    ends the series: the kills left are not delivered, and are counted as such.
    """
    if not bench.build_cache:
        bench.echo(f"\nkill and resume: {NOT_AVAILABLE}")
        return {"status": NOT_AVAILABLE}
    if reference is None or release is None or reference.status != "ok" or not reference.seconds:
        why = reference.status if reference else "no uninterrupted build in this run"
        bench.echo(f"\nkill and resume: not measured (the uninterrupted build: {why})")
        return {"status": f"not measured ({why})"}
    rng = random.Random(seed)
    moments = sorted(rng.uniform(0, reference.seconds) for _ in range(kills))
    scratch = Path(tempfile.mkdtemp(prefix="resume-", dir=bench.cache))
    stints: list[Stint] = []
    try:
        config = bench.write_config(scratch, corpus_config())
        out = scratch / "release"
        command = build_command(bench, config, raw, out)
        previous = 0.0
        for number, moment in enumerate(moments, 1):
            stint = run_until(command, moment - previous, bench.limit, scratch / f"logs-{number}")
            stints.append(stint)
            previous = moment
            if stint.status != "killed":
                break
        if not stints or stints[-1].status == "killed":
            stints.append(run_until(command, None, bench.limit, scratch / "logs-last"))
        final = stints[-1]
        diff = differences(out, release) if final.status == "ok" else []
    finally:
        shutil.rmtree(scratch)
    delivered = sum(s.status == "killed" for s in stints)
    cpu = sum(s.cpu_seconds for s in stints)
    count = units(reference.cache)
    unit = reference.cpu_seconds / count if count and reference.cpu_seconds else None
    bound = reference.cpu_seconds + delivered * WORKERS * unit if unit is not None else None
    result = {
        "status": final.status,
        "size_mb": size,
        "kills": kills,
        "delivered": delivered,
        "moments": moments,
        "stints": [asdict(s) for s in stints],
        "uninterrupted_seconds": reference.seconds,
        "uninterrupted_cpu_seconds": reference.cpu_seconds,
        "units": count,
        "unit_cpu_seconds": unit,
        "cpu_seconds": cpu,
        "cpu_bound": bound,
        "identical": not diff if final.status == "ok" else None,
        "differences": diff[:20],
    }
    bench.echo(resume_report(result))
    return result


def resume_report(r: dict) -> str:
    lines = [
        f"\nkill and resume ({r['size_mb']:g} MB, {WORKERS} workers, {r['kills']} SIGKILLs at "
        f"random moments, {r['delivered']} delivered; a fresh cache):",
        f"  uninterrupted: {r['uninterrupted_seconds']:.1f} s, "
        f"{_fmt(r['uninterrupted_cpu_seconds'], '.1f')} CPU-s, {_fmt(r['units'], 'd')} unit(s) "
        f"({_fmt(r['unit_cpu_seconds'], '.1f')} CPU-s a unit)",
    ]
    for number, s in enumerate(r["stints"], 1):
        lines.append(f"  run {number}: {_stint(Stint(**s))}")
    same = {True: "yes", False: f"NO ({len(r['differences'])}+ file(s) differ)", None: "-"}
    lines.append(
        f"  all runs: {r['cpu_seconds']:.1f} CPU-s; bound (uninterrupted + one unit per worker "
        f"per kill): {_fmt(r['cpu_bound'], '.1f')} CPU-s; last release byte-identical to the "
        f"uninterrupted one: {same[r['identical']]}"
    )
    return "\n".join(lines)


# --- shard compression ---------------------------------------------------------------------------


def _writer(level: int) -> Callable:
    """The release's Parquet writer (builder/writers/parquet.py: `open_writer`) at zstd `level`."""
    import pyarrow.parquet as pq

    try:
        from builder.writers import parquet as release_writer
    except ImportError:  # the engine moved it: its settings spelled out
        release_writer = None

    def open_writer(path: Path, schema):  # noqa: ANN202
        if release_writer is not None and hasattr(release_writer, "COMPRESSION_LEVEL"):
            saved = release_writer.COMPRESSION_LEVEL
            release_writer.COMPRESSION_LEVEL = level
            try:
                return release_writer.open_writer(path, schema)
            finally:
                release_writer.COMPRESSION_LEVEL = saved
        return pq.ParquetWriter(
            path,
            schema,
            compression="zstd",
            compression_level=level,
            write_statistics=True,
            write_page_index=True,
            use_content_defined_chunking=True,
        )

    return open_writer


def written_schema(f) -> object:  # noqa: ANN001
    """The Arrow schema a Parquet file was written with, exactly (its ARROW:schema: a list's
    item field keeps its name, which reading back from Parquet renames 'element')."""
    import pyarrow as pa

    stored = (f.metadata.metadata or {}).get(b"ARROW:schema")
    if stored is None:
        return f.schema_arrow
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(stored)))


def compression(release: Path, levels: Sequence[int] = LEVELS, scratch: Path | None = None) -> dict:
    """The release's shards rewritten with the release's writer at each zstd level, row group
    by row group as they are: total bytes and write seconds (wall and CPU, this one process).
    At the writer's own level the rewrite must give the release's bytes, which checks the
    method."""
    import pyarrow.parquet as pq

    try:
        from builder.writers.parquet import COMPRESSION_LEVEL as current
    except ImportError:
        current = None
    shards = sorted((release / "data").rglob("*.parquet"))
    tables = []
    for path in shards:
        with pq.ParquetFile(path) as f:
            schema = written_schema(f)
            groups = [f.read_row_group(i).cast(schema) for i in range(f.num_row_groups)]
            tables.append((schema, groups))
    release_bytes = sum(p.stat().st_size for p in shards)
    rows = []
    for level in levels:
        open_writer = _writer(level)
        folder = Path(tempfile.mkdtemp(prefix="levels-", dir=scratch))
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            for number, (schema, groups) in enumerate(tables):
                with open_writer(folder / f"{number}.parquet", schema) as writer:
                    for table in groups:
                        writer.write_table(table, row_group_size=max(1, len(table)))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            written = sorted(folder.iterdir(), key=lambda p: int(p.stem))
            size = sum(p.stat().st_size for p in written)
            same = None
            if level == current:
                same = all(
                    a.read_bytes() == b.read_bytes() for a, b in zip(written, shards, strict=True)
                )
        finally:
            shutil.rmtree(folder)
        rows.append(
            {"level": level, "bytes": size, "seconds": wall, "cpu_seconds": cpu, "same": same}
        )
    base = next((r for r in rows if r["level"] == current), None)
    for r in rows:  # time in CPU seconds: steadier than wall time on a loaded machine
        r["vs_current_bytes"] = r["bytes"] / base["bytes"] if base else None
        r["vs_current_cpu"] = (
            r["cpu_seconds"] / base["cpu_seconds"] if base and base["cpu_seconds"] else None
        )
    return {
        "release": str(release),
        "shards": len(shards),
        "release_bytes": release_bytes,
        "current_level": current,
        "levels": rows,
    }


def compression_report(result: dict) -> str:
    current = result["current_level"]
    lines = [
        f"\nshard compression: the release's {result['shards']} shards "
        f"({result['release_bytes'] / MB:.1f} MB at zstd level {current}) rewritten at each level "
        f"(write time, one process):",
        f"  {'zstd level':>10}{'MB':>9}{'vs ' + str(current):>8}{'write s':>9}{'CPU s':>8}"
        f"{'CPU vs ' + str(current):>11}",
    ]
    for r in result["levels"]:
        mark = ""
        if r["same"] is not None:
            mark = "  (the release's bytes)" if r["same"] else "  (NOT the release's bytes)"
        lines.append(
            f"  {r['level']:>10}{r['bytes'] / MB:>9.2f}{_fmt(r['vs_current_bytes'], '8.3f')}"
            f"{r['seconds']:>9.2f}{r['cpu_seconds']:>8.2f}{_fmt(r['vs_current_cpu'], '11.2f')}"
            f"{mark}"
        )
    return "\n".join(lines)


# --- the near-duplicate bench, as make bench ran it before ---------------------------------------


def near(articles: int, echo: Callable[[str], None] = print) -> dict:
    """`python -m bench.near --articles N --settings "5-gram 16x7"`, its lines passed through."""
    command = [sys.executable, "-m", "bench.near", "--articles", str(articles)]
    command += ["--settings", "5-gram 16x7"]
    echo(f"\nnear-duplicates: {shlex.join(command[1:])}")
    start, lines = time.perf_counter(), []
    with subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            echo("  " + line.rstrip())
            lines.append(line.rstrip())
        code = process.wait()
    return {
        "articles": articles,
        "seconds": time.perf_counter() - start,
        "exit": code,
        "lines": lines,
    }


# --- verdicts ------------------------------------------------------------------------------------


def verdict(name: str, value: float | None, met: bool, form: str, why: str = "") -> dict:
    if value is None:
        return {
            "target": name,
            "value": None,
            "verdict": f"not measured ({why or 'not in this run'})",
        }
    shown = form.format(value)
    return {"target": name, "value": value, "verdict": f"{'met' if met else 'MISSED'}: {shown}"}


def _why(*runs: dict | None, missing: str | None = None) -> str:
    for run in runs:
        if run is not None and run.get("status") != "ok":
            return run["status"]
    return missing or ""


def targets(results: dict) -> list[dict]:
    """Issue 16's targets from the figures of one run: met, MISSED (with the figure), or not
    measured (and why)."""
    out = []
    for v in results.get("versus", []):
        if not v.get("compared", True):
            continue
        size = f"{v['size_mb']:g} MB"
        ours, lean, theirs = v["default"], v["lean"], v["datatrove"]
        why = _why(ours, theirs, missing=v.get("datatrove_missing"))
        value = v["default_ratio"]
        out.append(
            verdict(
                f"default steps: datatrove / Broadsheet wall >= {TARGET_DEFAULT:g}, {size}",
                value,
                value is not None and value >= TARGET_DEFAULT,
                "{:.2f}x",
                why,
            )
        )
        out.append(
            verdict(
                f"  stretch: >= {TARGET_STRETCH:g}, {size}",
                value,
                value is not None and value >= TARGET_STRETCH,
                "{:.2f}x",
                why,
            )
        )
        value = v["lean_ratio"]
        out.append(
            verdict(
                f"lean steps: datatrove / Broadsheet wall >= {TARGET_LEAN:g}, {size}",
                value,
                value is not None and value >= TARGET_LEAN,
                "{:.2f}x",
                _why(lean, theirs, missing=v.get("datatrove_missing")),
            )
        )
        for key, steps, target in (
            ("default_ratio_bare", "default", TARGET_DEFAULT),
            ("lean_ratio_bare", "lean", TARGET_LEAN),
        ):
            if v.get("datatrove_bare"):
                value = v[key]
                out.append(
                    verdict(
                        f"  {steps} steps against the bare chain (no FTFYFormatter) "
                        f">= {target:g}, {size}",
                        value,
                        value is not None and value >= target,
                        "{:.2f}x",
                        _why(ours if steps == "default" else lean, v["datatrove_bare"]),
                    )
                )
        peaks = [
            r["peak_rss_mb"] for r in (ours, lean) if r and r["status"] == "ok" and r["peak_rss_mb"]
        ]
        value = max(peaks) if peaks else None
        out.append(
            verdict(
                f"Broadsheet peak RSS <= {TARGET_RSS_MB:,.0f} MB, {size}",
                value,
                value is not None and value <= TARGET_RSS_MB,
                "{:,.0f} MB",
                _why(ours, lean),
            )
        )
    warc = results.get("warc")
    if warc:
        value = warc["ratio"]
        out.append(
            verdict(
                f"web pages: datatrove / Broadsheet ms a page >= {TARGET_WARC:g}",
                value,
                value is not None and value >= TARGET_WARC,
                "{:.2f}x",
                _why(warc["broadsheet"], warc["datatrove"], missing=warc.get("datatrove_missing")),
            )
        )
    else:
        out.append(verdict("web pages: per page", None, False, "", "no CORPUS given"))
    inc = results.get("incremental") or {"status": "not in this run"}
    why = inc["status"] if inc["status"] != "ok" else ""
    share = inc.get("share")
    out.append(
        verdict(
            f"13th month's rebuild <= {TARGET_REBUILD:.0%} of the full build",
            share,
            share is not None and share <= TARGET_REBUILD,
            "{:.1%}",
            why,
        )
    )
    same = inc.get("identical")
    out.append(
        verdict(
            "rebuild byte-identical to a clean --no-cache build",
            None if same is None else float(same),
            bool(same),
            "yes" if same else f"{len(inc.get('differences') or [])}+ file(s) differ",
            why,
        )
    )
    res = results.get("resume") or {"status": "not in this run"}
    why = res["status"] if res["status"] != "ok" else ""
    same = res.get("identical")
    kills = res.get("kills")
    out.append(
        verdict(
            f"after {kills} kills, the release byte-identical to an uninterrupted build"
            if kills
            else "after kills, the release byte-identical to an uninterrupted build",
            None if same is None else float(same),
            bool(same),
            "yes" if same else f"{len(res.get('differences') or [])}+ file(s) differ",
            why,
        )
    )
    cpu, bound = res.get("cpu_seconds"), res.get("cpu_bound")
    out.append(
        verdict(
            "CPU of all runs <= uninterrupted + 1 unit per worker per kill",
            cpu if bound is not None and res["status"] == "ok" else None,
            cpu is not None and bound is not None and cpu <= bound,
            f"{{:.1f}} CPU-s against {bound:.1f}" if bound is not None else "{:.1f} CPU-s",
            why or ("the build reports no units" if bound is None else ""),
        )
    )
    return out


def monthly_corpus(out: Path, size: float, seed: int) -> list[Path]:
    """bench.corpus.monthly: 12 months + 1 of about `size` MB each, cached in `out`."""
    return monthly(out / f"monthly-{seed}-{size:g}mb", 12, size, seed)
