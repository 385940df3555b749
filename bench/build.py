"""`make bench`: build throughput, worker scaling and peak memory against the floor, and (issue
16) Broadsheet beside datatrove 0.10.1, the build cache and the shard compression, in one run.

For each size it generates (or reuses) a deterministic corpus (bench/corpus.py) and times,
each as a subprocess run the way a user runs it: the floor (pyarrow reads the JSONL and writes
it as Parquet with the release's writer settings, no processing), the build with 1 and 2 workers
on the sharded corpus and on the same records as one file, and the Ray executor when the CLI
has one (`--parts builds`, the default). `--parts versus,compression,incremental,resume` (or
`all`) adds the parts of bench/compare.py: Broadsheet's default and lean steps beside
datatrove's chain on the same shards (and on a corpus's pages as WARC files), the shards'
bytes at several zstd levels, a 13th month added to a 12-month input, and a build killed and
rerun. Every run is started under bench/reap.py, so its CPU counts every process of its tree;
peak RSS is the largest sum over that tree. Timings on a shared machine are noisy: compare the
ratios of one run, not absolute figures across runs.

    .venv/bin/python -m bench.build [--sizes 250,1000] [--corpus ../shared/corpus] [--skip-ray]
    make bench   # = --parts all --workers 2 --layouts sharded --skip-ray --near 20000, SIZES=250
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.corpus import SEED, Corpus, generate

ROOT = Path(__file__).resolve().parent.parent
REAP = Path(__file__).resolve().with_name("reap.py")
BUILDER = [sys.executable, "-m", "builder"]  # how a build is started, as a user starts it
MB = 1_000_000
SAMPLE_SECONDS = 0.05
EXIT_GRACE_SECONDS = 3.0  # helpers (multiprocessing's resource tracker) exit soon after the build
# Issue 7's targets, on this 2-core machine and measured in the same run.
TARGET_SIZES = (250.0, 1000.0)
TARGET_FLOOR_RATIO = 0.36
TARGET_SCALING = 1.7
TARGET_RSS_MB = 1000.0
TARGET_RSS_SPREAD = 0.20


# --- the process tree and its memory -------------------------------------------------------


def processes() -> tuple[dict[int, list[int]], dict[int, int]]:
    """All processes, from /proc/*/stat: children by parent id, and start time by pid.

    The start time (clock ticks after boot) tells a process from a later one given the same pid.
    """
    children: dict[int, list[int]] = {}
    started: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # the process ended while we looked
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        started[pid] = int(fields[19])
    return children, started


def process_tree(root: int) -> dict[int, int]:
    """`root` and its living descendants, with their start times."""
    children, started = processes()
    tree, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in started:
            tree[pid] = started[pid]
            todo.extend(children.get(pid, ()))
    return tree


def _proc_bytes(path: str, field: bytes) -> int:
    """A /proc file's field counted in kB, in bytes; 0 once the process has ended."""
    try:
        with open(path, "rb") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (VmRSS)."""
    return _proc_bytes(f"/proc/{pid}/status", b"VmRSS:")


def pss_bytes(pid: int) -> int:
    """Proportional memory of one process (Pss: a page shared by n processes counts 1/n).
    Summed over a tree it counts shared libraries once, where RSS counts them in every process."""
    return _proc_bytes(f"/proc/{pid}/smaps_rollup", b"Pss:")


class PeakRss(threading.Thread):
    """Samples the summed RSS (and PSS) of a process tree every SAMPLE_SECONDS; `peak` (and
    `peak_pss`) is the largest."""

    def __init__(self, root: int, skip_root: bool = False) -> None:
        super().__init__(daemon=True)
        self.root, self.peak, self.peak_pss = root, 0, 0
        self.skip_root = skip_root  # the root is a wrapper (bench/reap.py), not the run's
        self.seen: dict[int, int] = {}  # every process of the tree met, with its start time
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            tree = process_tree(self.root)
            self.seen.update(tree)
            pids = [pid for pid in tree if not (self.skip_root and pid == self.root)]
            self.peak = max(self.peak, sum(rss_bytes(pid) for pid in pids))
            self.peak_pss = max(self.peak_pss, sum(pss_bytes(pid) for pid in pids))
            self._done.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._done.set()
        self.join()


# --- running one measured command -------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    seconds: float  # wall time of the whole process
    peak_rss: int  # bytes, summed over the process tree
    status: str  # "ok", "over limit (N s)", "failed (exit N)", "skipped (...)"
    stdout: str = ""
    stderr_tail: str = ""
    outlived: int = 0  # processes of the tree still running well after it ended (then killed)
    peak_pss: int = 0  # bytes, summed over the process tree, shared pages split between them
    cpu_seconds: float | None = None  # user + system of every process of the tree (measure_all)


def measure(command: list[str], limit: float, logs: Path, skip_root: bool = False) -> Outcome:
    """Run `command` from the project root, sampling its tree's memory; stop it past `limit` s.
    `skip_root`: the command is a wrapper whose own memory is not the run's (bench/reap.py)."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1"}
    with open(logs / "stdout", "w+b") as out, open(logs / "stderr", "w+b") as err:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=err, env=env, start_new_session=True
        )
        sampler = PeakRss(process.pid, skip_root)
        sampler.start()
        try:
            code = process.wait(timeout=limit)
            status = "ok" if code == 0 else f"failed (exit {code})"
        except subprocess.TimeoutExpired:
            status = f"over limit ({limit:g} s)"
        finally:
            seconds = time.perf_counter() - start
            sampler.stop()
            outlived = stop_tree(process, sampler.seen)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr_tail = "\n".join(err.read().decode(errors="replace").splitlines()[-5:])
        return Outcome(
            seconds, sampler.peak, status, stdout, stderr_tail, outlived, sampler.peak_pss
        )


def measure_all(command: list[str], limit: float, logs: Path) -> Outcome:
    """`measure` under bench/reap.py, with the CPU seconds of every process of the run: reap.py
    waits for every descendant, also those whose parent never does (datatrove's forkserver
    tasks), so their usage reaches getrusage(RUSAGE_CHILDREN) here. reap.py's own memory is
    left out of the peaks."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    outcome = measure([sys.executable, str(REAP), "--", *command], limit, logs, skip_root=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return dataclasses.replace(outcome, cpu_seconds=cpu)


def stop_tree(process: subprocess.Popen, seen: dict[int, int]) -> int:
    """Stop what is left of a measured run; returns how many processes had to be killed after it.

    The process group gets SIGTERM first (the build then removes its staging folder), then
    SIGKILL. Descendants still running EXIT_GRACE_SECONDS after the end get SIGKILL, only if they
    are the same processes (same pid and start time) that were seen in the tree.
    """
    seen = {**seen, **process_tree(process.pid)}
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    deadline = time.monotonic() + EXIT_GRACE_SECONDS
    while True:
        left = [pid for pid, start in seen.items() if pid != process.pid and _running(pid, start)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(SAMPLE_SECONDS)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    while any(_running(pid, seen[pid]) for pid in left) and time.monotonic() < deadline + 5:
        time.sleep(SAMPLE_SECONDS)  # SIGKILL lands asynchronously
    return len(left)


def _running(pid: int, start: int) -> bool:
    """Whether `pid` is still the process that started at `start` and has not yet ended."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != b"Z" and int(fields[19]) == start


# --- what is measured ---------------------------------------------------------------------------


@dataclass
class Run:
    size_mb: float  # corpus size asked for; 0 for the shared corpus
    name: str  # "floor", "build", "ray", "seed" (generated text files), "corpus" (--corpus)
    layout: str  # "single", "sharded" or "txt"
    workers: int | None
    input_mb: float
    records: int
    seconds: float | None
    peak_rss_mb: float | None
    status: str
    note: str = ""
    peak_pss_mb: float | None = None  # the same tree's peak PSS: shared pages counted once
    rows: int | None = None  # rows in the release's data shards
    mb_per_s: float | None = None
    articles_per_s: float | None = None
    vs_floor: float | None = None  # floor seconds / build seconds: the build's speed in floors
    scaling: float | None = None  # 1-worker seconds / these seconds, same input
    cpu_seconds: float | None = None  # user + system, every process of the run
    cache: str = ""  # the build cache's figures: 'N reused, M computed, K evicted'
    counts: dict | None = None  # records read, rejected, duplicates (the release's accounting)

    @property
    def label(self) -> str:
        workers = f" w{self.workers}" if self.workers else ""
        return f"{self.name} {self.layout}{workers}"


def floor(jsonl: str, out: str) -> None:
    """The floor, run in a subprocess: read with pyarrow.json, write Parquet; prints the seconds."""
    import pyarrow.json as pj

    write = _release_writer()
    start = time.perf_counter()
    table = pj.read_json(jsonl)
    write(table, Path(out))
    print(json.dumps({"seconds": time.perf_counter() - start, "records": table.num_rows}))


def _release_writer() -> Callable:
    """The release's Parquet writer; its settings spelled out if the engine moved it."""
    try:
        from builder.writers.parquet import write_table

        return write_table
    except ImportError:
        import pyarrow.parquet as pq

        def write_table(table, path: Path) -> None:
            pq.write_table(
                table,
                path,
                compression="zstd",
                compression_level=9,
                write_statistics=True,
                write_page_index=True,
                use_content_defined_chunking=True,
                row_group_size=max(1, len(table) * 128 * 1024 * 1024 // max(1, table.nbytes)),
            )

        return write_table


def cache_figures(stderr: str) -> str:
    """The build cache's line as the builder prints it on stderr, without its 'cache: '
    ('N unit(s) reused, M computed[, U not cacheable]; ... K evicted ...'), the last one
    printed; '' when there is none (no cache, or --no-cache)."""
    lines = [line for line in stderr.splitlines() if re.match(r"cache:\s*[\d,]+ unit", line)]
    return lines[-1].removeprefix("cache:").strip() if lines else ""


def release_rows(release: Path) -> int | None:
    """Rows in a release's data shards, from their Parquet footers."""
    import pyarrow.parquet as pq

    shards = sorted((release / "data").rglob("*.parquet"))
    return sum(pq.read_metadata(s).num_rows for s in shards) if shards else None


def release_counts(release: Path) -> dict | None:
    """Records read, rejected and duplicates, from a release's manifest (None if it has none)."""
    try:
        counts = json.loads((release / "manifest.json").read_text(encoding="utf-8"))["accounting"]
    except (OSError, ValueError, KeyError):
        return None
    return {
        "read": counts.get("records_read"),
        "rejected": counts.get("rejected"),
        "duplicates": counts.get("duplicates"),
    }


@dataclass(frozen=True)
class Measured:
    outcome: Outcome
    rows: int | None  # rows in the release's data shards
    cache: str  # the build cache's figures ('' if it printed none)
    counts: dict | None  # release_counts


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class Bench:
    """Runs the measurements and collects them; each run's outputs live in a scratch folder.

    Every run is started under bench/reap.py (`measure_all`), so its CPU counts every process.
    Builds get `config` (TOML text; dataset.toml's by default) and, when the builder has a build
    cache (`build_cache`), a fresh cache folder of their own in that config's `run.cache`, so no
    run reuses another's work and none touches the user's cache.
    """

    def __init__(
        self,
        cache: Path,
        limit: float,
        echo: Callable[[str], None] = print,
        builder: list[str] | None = None,
        build_cache: bool = False,
    ) -> None:
        self.cache, self.limit, self.echo = cache, limit, echo
        self.builder = builder or BUILDER
        self.build_cache = build_cache
        self.config = (ROOT / "dataset.toml").read_text(encoding="utf-8")
        self.runs: list[Run] = []
        self.over: dict[str, float] = {}  # run label -> size at which it went over the limit

    def floor(self, size: float, corpus: Corpus) -> Run:
        code = "import sys; from bench.build import floor; floor(*sys.argv[1:])"
        outcome = self._measure(
            lambda scratch: [
                sys.executable,
                "-c",
                code,
                str(corpus.single_file),
                str(scratch / "f"),
            ]
        ).outcome
        run = self._run(size, "floor", "single", None, corpus.single, corpus.records, outcome)
        if outcome.status == "ok":  # the floor's own timing: no interpreter start, no imports
            result = json.loads(outcome.stdout.strip().splitlines()[-1])
            run.records = result["records"]
            self._speed(run, result["seconds"])
        return self._add(run)

    def build(
        self,
        size: float,
        name: str,
        layout: str,
        raw: Path,
        workers: int,
        records: int,
        *extra: str,
        config: str | None = None,
        keep: Path | None = None,
    ) -> Run:
        """Time `python -m builder build` on `raw`; skipped if it went over the limit when smaller.
        `config`: the config's TOML text (default dataset.toml's); `keep`: where to move the
        release when the build succeeds (else it is removed with the scratch folder)."""
        label = f"{name} {layout} w{workers}"
        if label in self.over:
            outcome = Outcome(0.0, 0, f"skipped (over limit at {self.over[label]:g} MB)")
            return self._add(self._run(size, name, layout, workers, raw, records, outcome))

        def command(scratch: Path) -> list[str]:
            return [
                *self.builder,
                "--config",
                str(self.write_config(scratch, config)),
                "build",
                "--raw",
                str(raw),
                "--workers",
                str(workers),
                *extra,
                "--out",
                str(scratch / "release"),
            ]

        measured = self._measure(command, keep)
        outcome = measured.outcome
        if outcome.status.startswith("over limit"):
            self.over[label] = size
        elif outcome.status != "ok":
            self.echo(f"  {label}: {outcome.status}; its last lines:\n{outcome.stderr_tail}")
        run = self._run(size, name, layout, workers, raw, records, outcome)
        run.rows, run.cache, run.counts = measured.rows, measured.cache, measured.counts
        if outcome.status == "ok":
            self._speed(run, outcome.seconds)
        return self._add(run)

    def write_config(self, scratch: Path, config: str | None = None) -> Path:
        """The build's config in `scratch`, with a fresh cache folder when the builder has one."""
        text = self.config if config is None else config
        if self.build_cache and "[run]" not in text:
            text += f"\n[run]\ncache = {json.dumps(str(scratch / 'cache'))}\n"
        path = scratch / "bench.toml"
        path.write_text(text, encoding="utf-8")
        return path

    def _measure(self, command: Callable[[Path], list[str]], keep: Path | None = None) -> Measured:
        """Run `command(scratch)`; the scratch folder (release, logs) is removed afterwards, but
        the release is moved to `keep` first if given and the run succeeded."""
        scratch = Path(tempfile.mkdtemp(prefix="run-", dir=self.cache))
        try:
            outcome = measure_all(command(scratch), self.limit, scratch)
            ok = outcome.status == "ok"
            measured = Measured(
                outcome,
                release_rows(scratch / "release") if ok else None,
                cache_figures((scratch / "stderr").read_text(errors="replace")),
                release_counts(scratch / "release") if ok else None,
            )
            if keep is not None and ok:
                shutil.rmtree(keep, ignore_errors=True)
                keep.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(scratch / "release", keep)
            return measured
        finally:
            shutil.rmtree(scratch)

    @staticmethod
    def _run(
        size: float,
        name: str,
        layout: str,
        workers: int | None,
        raw: Path,
        records: int,
        outcome: Outcome,
    ) -> Run:
        note = f"{outcome.outlived} process(es) outlived the run" if outcome.outlived else ""
        return Run(
            size_mb=size,
            name=name,
            layout=layout,
            workers=workers,
            input_mb=folder_bytes(raw) / MB,
            records=records,
            seconds=None,
            peak_rss_mb=outcome.peak_rss / MB if outcome.peak_rss else None,
            peak_pss_mb=outcome.peak_pss / MB if outcome.peak_pss else None,
            cpu_seconds=outcome.cpu_seconds,
            status=outcome.status,
            note=note,
        )

    @staticmethod
    def _speed(run: Run, seconds: float) -> None:
        run.seconds = seconds
        run.mb_per_s = run.input_mb / seconds
        run.articles_per_s = run.records / seconds

    def _add(self, run: Run) -> Run:
        self.runs.append(run)
        self.echo(row(run))
        return run


SAME_ROWS = ("build", "ray")  # runs whose releases of one corpus must hold the same rows


def compare(runs: list[Run]) -> None:
    """Each build's speed in floors, its scaling over 1 worker, and a note if its rows differ."""
    for run in runs:
        if run.name == "floor" or not run.seconds:
            continue
        same_input = [r for r in runs if r.size_mb == run.size_mb and r.seconds]
        base = next((r for r in same_input if r.name == "floor"), None)
        if base and run.layout != "txt":  # the floor reads the JSONL corpus, not text files
            run.vs_floor = base.seconds / run.seconds
        one = next(
            (r for r in same_input if (r.name, r.layout, r.workers) == (run.name, run.layout, 1)),
            None,
        )
        if one and run.workers != 1:
            run.scaling = one.seconds / run.seconds
        first = next(
            (r for r in same_input if r.name in SAME_ROWS and r.layout != "txt" and r.rows),
            None,
        )
        if run.name in SAME_ROWS and run.layout != "txt" and first and run.rows != first.rows:
            run.note = ", ".join(filter(None, [run.note, f"rows differ from {first.label}"]))


# --- the report ---------------------------------------------------------------------------------

HEADER = (
    f"{'size':>8}  {'run':<26}{'input MB':>9}{'records':>10}{'seconds':>9}{'CPU s':>8}{'MB/s':>8}"
    f"{'articles/s':>11}{'vs floor':>9}{'scaling':>8}{'peak RSS MB':>12}{'PSS MB':>8}"
    f"{'rows':>10}  status"
)


def _num(value: float | None, form: str, width: int, unit: str = "") -> str:
    return f"{value:{width - len(unit)}{form}}{unit}" if value is not None else f"{'-':>{width}}"


def row(run: Run) -> str:
    size = f"{run.size_mb:g} MB" if run.size_mb else "-"
    status = f"{run.status} ({run.note})" if run.note else run.status
    return (
        f"{size:>8}  {run.label:<26}{run.input_mb:>9.1f}{run.records:>10,}"
        f"{_num(run.seconds, '.2f', 9)}{_num(run.cpu_seconds, '.1f', 8)}{_num(run.mb_per_s, '.2f', 8)}"
        f"{_num(run.articles_per_s, ',.0f', 11)}{_num(run.vs_floor, '.3f', 9, 'x')}"
        f"{_num(run.scaling, '.2f', 8, 'x')}{_num(run.peak_rss_mb, ',.0f', 12)}"
        f"{_num(run.peak_pss_mb, ',.0f', 8)}{_num(run.rows, ',', 10)}  {status}"
    )


def targets(runs: list[Run]) -> list[dict]:
    """Issue 7's targets: met, missed, or not measured in this run (and why)."""
    builds = [r for r in runs if r.name == "build"]
    small, large = TARGET_SIZES

    def find(size: float, layout: str, workers: int) -> Run | None:
        key = (size, layout, workers)
        return next((r for r in builds if (r.size_mb, r.layout, r.workers) == key), None)

    out = []
    minimums = (  # (input size, figure, target, what, format)
        (large, "vs_floor", TARGET_FLOOR_RATIO, "build w2 >= {}x floor", "{:.3f}x"),
        (small, "scaling", TARGET_SCALING, "2 workers >= {}x 1 worker", "{:.2f}x"),
    )
    for size, figure, target, what, form in minimums:
        for layout in ("sharded", "single"):
            run = find(size, layout, 2)
            value = getattr(run, figure) if run else None
            name = f"{what.format(target)}, {size:g} MB {layout}"
            out.append(_verdict(name, value, value is not None and value >= target, run, form))
    peaks = [r.peak_rss_mb for r in builds if r.peak_rss_mb and r.status == "ok"]
    value = max(peaks) if peaks else None
    name = f"peak RSS <= {TARGET_RSS_MB:g} MB, every build"
    out.append(
        _verdict(name, value, value is not None and value <= TARGET_RSS_MB, None, "{:,.0f} MB")
    )
    for layout in ("sharded", "single"):  # memory of the 2-worker builds, across sizes
        a, b = find(small, layout, 2), find(large, layout, 2)
        peaks = [r.peak_rss_mb for r in (a, b) if r and r.status == "ok" and r.peak_rss_mb]
        value = max(peaks) / min(peaks) - 1 if len(peaks) == 2 else None
        name = f"peak RSS within {TARGET_RSS_SPREAD:.0%}, {small:g}/{large:g} MB {layout} w2"
        met = value is not None and value <= TARGET_RSS_SPREAD
        out.append(_verdict(name, value, met, b if a and a.status == "ok" else a, "{:.0%} apart"))
    return out


def _verdict(name: str, value: float | None, met: bool, run: Run | None, form: str) -> dict:
    if value is None:
        why = run.status if run and run.status != "ok" else "not in this run's --sizes/--workers"
        return {"target": name, "value": None, "verdict": f"not measured ({why})"}
    return {
        "target": name,
        "value": value,
        "verdict": f"{'met' if met else 'MISSED'}: {form.format(value)}",
    }


def per_article_costs(texts: list[str]) -> dict[str, float | None]:
    """Milliseconds per article of the per-article normalizer and language detector."""
    costs: dict[str, float | None] = {}
    for module, name in (
        ("tests.reference", "normalize_text"),
        ("tests.reference", "detect_language"),
    ):
        try:
            fn = getattr(__import__(module, fromlist=[name]), name)
        except (ImportError, AttributeError):  # the engine moved it
            costs[name] = None
            continue
        if texts:
            fn(texts[0])  # warm-up: lazy models and caches
            start = time.perf_counter()
            for text in texts:
                fn(text)
            costs[name] = (time.perf_counter() - start) / len(texts) * 1e3
    return costs


def article_bodies(folder: Path, limit: int) -> list[str]:
    """The bodies of up to `limit` seed-format text files (the `date` header line dropped)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".txt")[:limit]
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in files]
    return [t.split("\n", 1)[-1] if t.lstrip().startswith("date ") else t for t in texts]


def build_options(builder: list[str] | None = None) -> str:
    """What `python -m builder build --help` offers (--executor for Ray, --no-cache for the
    build cache), as its text."""
    shown = subprocess.run(
        [*(builder or BUILDER), "build", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return shown.stdout


def _numbers(kind: type) -> Callable[[str], list]:
    def parse(text: str) -> list:
        try:
            values = sorted({kind(s) for s in text.split(",") if s.strip()})
        except ValueError:
            values = []
        if not values or min(values) <= 0:
            raise argparse.ArgumentTypeError(f"give positive numbers, like 250,1000; got {text!r}")
        return values

    return parse


PARTS = ("builds", "versus", "compression", "incremental", "resume")


def _parts(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    parts = list(PARTS) if parts == ["all"] else parts
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        raise argparse.ArgumentTypeError(f"give some of {', '.join(PARTS)} (or all); got {text!r}")
    return parts


def _layouts(text: str) -> list[str]:
    layouts = [p.strip() for p in text.split(",") if p.strip()]
    if not layouts or set(layouts) - {"sharded", "single"}:
        raise argparse.ArgumentTypeError(f"give sharded, single or both; got {text!r}")
    return layouts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=_numbers(float),
        default=[250.0, 1000.0],
        help="corpus sizes in MB (250,1000)",
    )
    parser.add_argument(
        "--workers", type=_numbers(int), default=[1, 2], help="worker counts to time (1,2)"
    )
    parser.add_argument(
        "--layouts",
        type=_layouts,
        default=["sharded", "single"],
        help="the corpus as shards, as one file, or both (sharded,single)",
    )
    parser.add_argument(
        "--parts",
        type=_parts,
        default=["builds"],
        help="what to run, comma-separated, or all: builds (the floor and the builds by "
        "--workers and --layouts, Ray, the text files), versus (Broadsheet's default and lean "
        "steps beside datatrove on the corpus, and on CORPUS's pages as WARC), compression "
        "(zstd levels of the release's shards), incremental (a 13th month added), resume "
        "(kills and reruns); default %(default)s",
    )
    parser.add_argument(
        "--datatrove",
        default=compare_module().DATATROVE,
        help="the command that runs bench/datatrove_jobs.py in its own venv "
        "(default: .venv-bench's python and the script)",
    )
    parser.add_argument(
        "--kills",
        type=int,
        help="SIGKILLs of the resume part (default 10 when --sizes has 1000, on that corpus; "
        "else 3 on the first size's)",
    )
    parser.add_argument(
        "--month-mb",
        type=float,
        default=10.0,
        help="size of each monthly file of the incremental part (default %(default)s)",
    )
    parser.add_argument(
        "--near",
        type=int,
        default=0,
        metavar="ARTICLES",
        help="also run bench.near at this many articles, as make bench does (default: not)",
    )
    parser.add_argument(
        "--builder",
        default=shlex.join(BUILDER),
        help="how a build is started (default: this python -m builder; the tests give a stub)",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / ".bench", help="corpus cache and scratch (.bench/)"
    )
    parser.add_argument("--corpus", type=Path, help="shared corpus folder: its txt/ is built too")
    parser.add_argument("--json", type=Path, help="results file (default OUT/results.json)")
    parser.add_argument("--skip-ray", action="store_true", help="do not time the Ray executor")
    parser.add_argument(
        "--max-build-seconds",
        type=float,
        default=240,
        help="stop a run after this long and report it as over limit (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=SEED, help="corpus seed (default %(default)s)")
    return parser.parse_args(argv)


def compare_module():  # noqa: ANN201
    """bench.compare, imported late: it imports this module."""
    import bench.compare

    return bench.compare


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cmp = compare_module()
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    builder = shlex.split(args.builder)
    options = build_options(builder)
    has_cache = "--no-cache" in options
    bench = Bench(args.out, args.max_build_seconds, builder=builder, build_cache=has_cache)
    parts = args.parts
    ray = "builds" in parts and not args.skip_ray and "--executor" in options
    load = os.getloadavg()[0]
    print(
        f"load average {load:.2f} on {os.cpu_count()} cores; at most {args.max_build_seconds:g} s a run"
    )
    datatrove = None
    if "versus" in parts:
        datatrove = cmp.datatrove_setup(args.datatrove)
        print(
            f"datatrove {datatrove.version}: {shlex.join(datatrove.command)}"
            if not datatrove.missing
            else f"datatrove: not run ({datatrove.missing})"
        )
        if datatrove.warc_missing and args.corpus:
            print(f"datatrove: no WARC comparison ({datatrove.warc_missing})")
    print(HEADER)
    texts: list[str] = []
    results: dict = {"versus": []}
    kept = args.out / "kept"  # default-steps releases of the versus part, removed at the end
    kill_size = 1000.0 if 1000.0 in args.sizes else args.sizes[0]
    kills = args.kills if args.kills is not None else (10 if kill_size == 1000.0 else 3)
    reference: tuple[Run, Path, Corpus] | None = None
    try:
        for number, size in enumerate(args.sizes):
            corpus = generate(args.out / f"corpus-{args.seed}-{size:g}mb", size, args.seed)
            config = cmp.corpus_config()
            if "builds" in parts:
                bench.floor(size, corpus)
                # Scaling is timed on the first (smallest) size; larger ones run the most
                # workers only, for the floor ratio and memory.
                counts = args.workers if number == 0 else [max(args.workers)]
                for layout in args.layouts:
                    raw = corpus.sharded if layout == "sharded" else corpus.single
                    for workers in counts:
                        if "versus" in parts and (layout, workers) == ("sharded", cmp.WORKERS):
                            continue  # the versus part's default-steps build is this run
                        bench.build(
                            size, "build", layout, raw, workers, corpus.records, config=config
                        )
            needs_release = number == 0 and "compression" in parts
            needs_reference = size == kill_size and "resume" in parts
            if "versus" in parts or needs_release or needs_reference:
                result, default = cmp.versus(
                    bench,
                    datatrove if "versus" in parts else None,
                    size,
                    corpus,
                    kept / f"{size:g}mb",
                )
                results["versus"].append(result)
                if size == kill_size:
                    reference = (default, kept / f"{size:g}mb", corpus)
            if "builds" in parts:
                if ray and number == 0:
                    most = max(args.workers)
                    bench.build(
                        size,
                        "ray",
                        "sharded",
                        corpus.sharded,
                        most,
                        corpus.records,
                        "--executor",
                        "ray",
                        config=config,
                    )
                if number == 0:  # the text files are the corpus's first records at any size
                    texts = article_bodies(corpus.txt, 500)
                    files = sum(1 for _ in corpus.txt.iterdir())
                    bench.build(size, "seed", "txt", corpus.txt, max(args.workers), files)
        if "builds" in parts and not args.skip_ray and not ray:
            print("ray: not available yet (`python -m builder build --help` lists no --executor)")
        if "versus" in parts and args.corpus:
            results["warc"] = cmp.warc_versus(bench, datatrove, args.corpus)
        first = results["versus"][0] if results["versus"] else None
        if "compression" in parts:
            if first and first["release"]:
                results["compression"] = cmp.compression(Path(first["release"]), scratch=args.out)
                print(cmp.compression_report(results["compression"]))
            else:
                print("\nshard compression: not measured (no release of the first size)")
        if "incremental" in parts:
            months = cmp.monthly_corpus(args.out, args.month_mb, args.seed)
            results["incremental"] = cmp.incremental(bench, months)
        if "resume" in parts:
            run, release, corpus = reference if reference else (None, None, None)
            results["resume"] = cmp.resume(
                bench,
                kill_size,
                corpus.sharded if corpus else args.out,
                run,
                release if release and release.is_dir() else None,
                kills,
                args.seed,
            )
    finally:
        shutil.rmtree(kept, ignore_errors=True)
    costs = {"generated": per_article_costs(texts)} if "builds" in parts else {}
    if args.corpus and "builds" in parts:
        shared = args.corpus / "txt"
        if shared.is_dir():
            files = sum(1 for p in shared.iterdir() if p.is_file())
            for workers in args.workers:
                bench.build(0, "corpus", "txt", shared, workers, files)
            costs["corpus"] = per_article_costs(article_bodies(shared, 500))
        else:
            print(f"note: {shared} not found; the shared corpus's figures are skipped")
    compare(bench.runs)
    print("\nwith ratios (vs floor: floor seconds / run seconds; scaling: 1 worker / N workers):")
    print(HEADER)
    for run in bench.runs:
        print(row(run))
    for where, by_name in costs.items():
        for name, ms in by_name.items():
            shown = f"{ms:.3f} ms" if ms is not None else "not importable"
            print(f"{name}: {shown} per article ({where} articles)")
    if args.near:
        results["near"] = cmp.near(args.near)
    met = targets(bench.runs) if "builds" in parts else []
    if met:
        print("\nissue 7 targets:")
        for target in met:
            print(f"  {target['target']:<56} {target['verdict']}")
    met16 = []
    if set(parts) - {"builds"}:
        met16 = cmp.targets(results)
        print("\nissue 16 targets:")
        for target in met16:
            print(f"  {target['target']:<66} {target['verdict']}")
    seconds = time.perf_counter() - started
    path = args.json or args.out / "results.json"
    results = {
        "cpus": os.cpu_count(),
        "load_average_at_start": load,
        "load_average_at_end": os.getloadavg()[0],
        "seconds": seconds,
        "build_cache": has_cache,
        "datatrove": asdict(datatrove) if datatrove else None,
        "runs": [asdict(r) for r in bench.runs],
        "per_article_ms": costs,
        "targets": met,
        "issue16": {**results, "targets": met16},
    }
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\n{len(bench.runs)} runs; total time {_minutes(seconds)}; results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
