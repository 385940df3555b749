"""`make bench`: build throughput and worker scaling, as figures to compare within one run.

Timings on a shared machine are noisy, so compare the ratios printed in the same run rather
than absolute numbers across runs. With CORPUS=DIR the real articles under DIR/txt are built
too; without it only synthetic input is used.

    .venv/bin/python -m tests.bench [--corpus ../shared/corpus] [--records 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from builder.build import build
from builder.executors import default_workers
from builder.progress import Progress
from builder.steps.language import detect_language
from builder.steps.normalize import normalize_text
from tests.support import ENGLISH, ITALIAN, config, jsonl, write


class _Quiet:
    def write(self, _s: str) -> None: ...
    def flush(self) -> None: ...
    def isatty(self) -> bool:
        return False


def synthetic(raw: Path, records: int, files: int = 24) -> None:
    per_file = records // files
    for f in range(files):
        month = f"20{20 + f // 12}-{1 + f % 12:02d}"
        rows = [
            {
                "maintext": f"{(ITALIAN if j % 2 else ENGLISH)} {f}-{j}\n\n{ENGLISH}",
                "date_publish": f"{month}-{1 + j % 28:02d}",
                "url": f"https://bench.example/{f}/{j}",
            }
            for j in range(per_file)
        ]
        write(raw / f"crawl-{month}.jsonl.zst", jsonl(rows))


def timed_build(raw: Path, workers: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        report = build(
            config(),
            raw,
            Path(out) / "dist",
            workers=workers,
            today=dt.date.today(),
            progress=Progress(0, _Quiet()),
        )
        return time.perf_counter() - start, report.accounting.records_read


def per_call(fn, texts: list[str], rounds: int = 3) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            fn(text)
    return (time.perf_counter() - start) / (rounds * len(texts)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="shared corpus folder (its txt/ is built)")
    parser.add_argument(
        "--records", type=int, default=20_000, help="synthetic records (default %(default)s)"
    )
    args = parser.parse_args()
    workers = default_workers()
    inputs = []
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        synthetic(raw, args.records)
        inputs.append(("synthetic jsonl.zst", raw))
        if args.corpus and (args.corpus / "txt").is_dir():
            inputs.append(("corpus txt", args.corpus / "txt"))
        elif args.corpus:
            print(f"note: {args.corpus}/txt not found; corpus figures skipped")
        print(f"{'input':<22}{'records':>9}{'workers':>9}{'seconds':>9}{'rec/s':>9}{'speedup':>9}")
        for name, folder in inputs:
            base = None
            for n in sorted({1, workers}):
                seconds, records = timed_build(folder, n)
                base = base or seconds
                print(
                    f"{name:<22}{records:>9,}{n:>9}{seconds:>9.2f}{records / seconds:>9,.0f}{base / seconds:>8.2f}x"
                )
        texts = [ENGLISH * 10, ITALIAN * 10]
        print(f"normalize_text: {per_call(normalize_text, texts):.3f} ms per 2 kB article")
        print(f"detect_language: {per_call(detect_language, texts):.3f} ms per article")


if __name__ == "__main__":
    main()
