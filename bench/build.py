"""`make bench`: build throughput, worker scaling and peak memory against the floor, in one run.

For each size it generates (or reuses) a deterministic corpus (bench/corpus.py) and times,
each as a subprocess run the way a user runs it: the floor (pyarrow reads the JSONL and writes
it as Parquet with the release's writer settings, no processing), the build with 1 and 2 workers
on the sharded corpus and on the same records as one file, and the Ray executor when the CLI
has one. Peak RSS is the largest sum over the run's whole process tree. Timings on a shared
machine are noisy: compare the ratios of one run, not absolute figures across runs.

    .venv/bin/python -m bench.build [--sizes 250,1000] [--corpus ../shared/corpus] [--skip-ray]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
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

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak, self.peak_pss = root, 0, 0
        self.seen: dict[int, int] = {}  # every process of the tree met, with its start time
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            tree = process_tree(self.root)
            self.seen.update(tree)
            self.peak = max(self.peak, sum(rss_bytes(pid) for pid in tree))
            self.peak_pss = max(self.peak_pss, sum(pss_bytes(pid) for pid in tree))
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


def measure(command: list[str], limit: float, logs: Path) -> Outcome:
    """Run `command` from the project root, sampling its tree's memory; stop it past `limit` s."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1"}
    with open(logs / "stdout", "w+b") as out, open(logs / "stderr", "w+b") as err:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=err, env=env, start_new_session=True
        )
        sampler = PeakRss(process.pid)
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


def release_rows(release: Path) -> int | None:
    """Rows in a release's data shards, from their Parquet footers."""
    import pyarrow.parquet as pq

    shards = sorted((release / "data").rglob("*.parquet"))
    return sum(pq.read_metadata(s).num_rows for s in shards) if shards else None


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class Bench:
    """Runs the measurements and collects them; each run's outputs live in a scratch folder."""

    def __init__(self, cache: Path, limit: float, echo: Callable[[str], None] = print) -> None:
        self.cache, self.limit, self.echo = cache, limit, echo
        self.runs: list[Run] = []
        self.over: dict[str, float] = {}  # run label -> size at which it went over the limit

    def floor(self, size: float, corpus: Corpus) -> Run:
        code = "import sys; from bench.build import floor; floor(*sys.argv[1:])"
        outcome, _ = self._measure(
            lambda scratch: [
                sys.executable,
                "-c",
                code,
                str(corpus.single_file),
                str(scratch / "f"),
            ]
        )
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
    ) -> Run:
        """Time `python -m builder build` on `raw`; skipped if it went over the limit when smaller."""
        label = f"{name} {layout} w{workers}"
        if label in self.over:
            outcome = Outcome(0.0, 0, f"skipped (over limit at {self.over[label]:g} MB)")
            return self._add(self._run(size, name, layout, workers, raw, records, outcome))
        command = [sys.executable, "-m", "builder", "build", "--raw", str(raw)]
        command += ["--workers", str(workers), *extra]
        outcome, rows = self._measure(lambda scratch: [*command, "--out", str(scratch / "release")])
        if outcome.status.startswith("over limit"):
            self.over[label] = size
        elif outcome.status != "ok":
            self.echo(f"  {label}: {outcome.status}; its last lines:\n{outcome.stderr_tail}")
        run = self._run(size, name, layout, workers, raw, records, outcome)
        run.rows = rows
        if outcome.status == "ok":
            self._speed(run, outcome.seconds)
        return self._add(run)

    def _measure(self, command: Callable[[Path], list[str]]) -> tuple[Outcome, int | None]:
        """Run `command(scratch)`; the scratch folder (release, logs) is removed afterwards."""
        scratch = Path(tempfile.mkdtemp(prefix="run-", dir=self.cache))
        try:
            outcome = measure(command(scratch), self.limit, scratch)
            rows = release_rows(scratch / "release") if outcome.status == "ok" else None
            return outcome, rows
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
            (r for r in same_input if r.name != "floor" and r.layout != "txt" and r.rows),
            None,
        )
        if run.layout != "txt" and first and run.rows != first.rows:
            run.note = ", ".join(filter(None, [run.note, f"rows differ from {first.label}"]))


# --- the report ---------------------------------------------------------------------------------

HEADER = (
    f"{'size':>8}  {'run':<20}{'input MB':>9}{'records':>10}{'seconds':>9}{'MB/s':>8}"
    f"{'articles/s':>11}{'vs floor':>9}{'scaling':>8}{'peak RSS MB':>12}{'PSS MB':>8}"
    f"{'rows':>10}  status"
)


def _num(value: float | None, form: str, width: int, unit: str = "") -> str:
    return f"{value:{width - len(unit)}{form}}{unit}" if value is not None else f"{'-':>{width}}"


def row(run: Run) -> str:
    size = f"{run.size_mb:g} MB" if run.size_mb else "-"
    status = f"{run.status} ({run.note})" if run.note else run.status
    return (
        f"{size:>8}  {run.label:<20}{run.input_mb:>9.1f}{run.records:>10,}"
        f"{_num(run.seconds, '.2f', 9)}{_num(run.mb_per_s, '.2f', 8)}"
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


def has_executor_option() -> bool:
    """Whether `python -m builder build --help` offers --executor (Ray) yet."""
    shown = subprocess.run(
        [sys.executable, "-m", "builder", "build", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return "--executor" in shown.stdout


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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    bench = Bench(args.out, args.max_build_seconds)
    ray = not args.skip_ray and has_executor_option()
    load = os.getloadavg()[0]
    print(
        f"load average {load:.2f} on {os.cpu_count()} cores; at most {args.max_build_seconds:g} s a run"
    )
    print(HEADER)
    texts: list[str] = []
    for number, size in enumerate(args.sizes):
        corpus = generate(args.out / f"corpus-{args.seed}-{size:g}mb", size, args.seed)
        bench.floor(size, corpus)
        # Scaling is timed on the first (smallest) size; larger ones run the most workers only,
        # for the floor ratio and memory, so that the whole bench stays well within 15 minutes.
        counts = args.workers if number == 0 else [max(args.workers)]
        for layout, raw in (("sharded", corpus.sharded), ("single", corpus.single)):
            for workers in counts:
                bench.build(size, "build", layout, raw, workers, corpus.records)
        if ray and number == 0:
            most = max(args.workers)
            bench.build(
                size, "ray", "sharded", corpus.sharded, most, corpus.records, "--executor", "ray"
            )
        if number == 0:  # the seed-format text files are the corpus's first records at any size
            texts = article_bodies(corpus.txt, 500)
            files = sum(1 for _ in corpus.txt.iterdir())
            bench.build(size, "seed", "txt", corpus.txt, max(args.workers), files)
    if not args.skip_ray and not ray:
        print("ray: not available yet (`python -m builder build --help` lists no --executor)")
    costs = {"generated": per_article_costs(texts)}
    if args.corpus:
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
    met = targets(bench.runs)
    print("\nissue 7 targets:")
    for target in met:
        print(f"  {target['target']:<56} {target['verdict']}")
    seconds = time.perf_counter() - started
    path = args.json or args.out / "results.json"
    results = {
        "cpus": os.cpu_count(),
        "load_average_at_start": load,
        "seconds": seconds,
        "runs": [asdict(r) for r in bench.runs],
        "per_article_ms": costs,
        "targets": met,
    }
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{len(bench.runs)} runs in {seconds:.0f} s; results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
