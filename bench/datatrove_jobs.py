"""datatrove 0.10.1's jobs for `make bench`, on the same inputs as Broadsheet's build.

datatrove's own stages on its LocalPipelineExecutor. Runs in the bench-only venv
(.venv-bench, from bench/requirements-datatrove.lock, which `make bench` sets up); stdlib and
datatrove only, never Broadsheet. Wall time, CPU and memory are measured from outside
(bench/compare.py): run it under bench/reap.py, or the forkserver's tasks' CPU is not counted.

    .venv-bench/bin/python bench/datatrove_jobs.py check
    .venv-bench/bin/python bench/datatrove_jobs.py jsonl --input DIR --output DIR --logs DIR \
        [--tasks 2] [--workers 2] [--min-words 50] [--formatter ftfy|none]
    .venv-bench/bin/python bench/datatrove_jobs.py warc --input DIR --output DIR --logs DIR \
        [--tasks 2] [--workers 2]

check: prints datatrove's version as a JSON line, and whether the warc job can run (WarcReader's
python-magic needs the system library libmagic, and without it fails only when it reads).

jsonl (news-please-style records, text in `maintext`), three executor runs, each depending on
the one before:
  1. JsonlReader (id = `url`, else `<file>/<line>`) -> FTFYFormatter (unless --formatter
     none: the bare chain, with no normalization at all) -> LambdaFilter (drop
     texts of fewer than --min-words whitespace-separated words) -> JsonlWriter (uncompressed
     work copy) -> ExactDedupSignature (xxhash64 of the text)
  2. ExactFindDedups (one finder task per hash range, --tasks of them)
  3. JsonlReader (the work copy) -> ExactDedupFilter -> ParquetWriter
warc (.warc / .warc.gz files), one run: WarcReader -> Trafilatura -> ParquetWriter.

Each executor's tasks get whole files (file i goes to task i mod --tasks): one input file keeps
one task busy whatever --tasks is. The work copy and signatures go to --work (default
OUTPUT.work, removed at the end unless --keep-work). Prints one JSON line at the end.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

WORK_MARK = ".datatrove-jobs-work"  # marks a work folder this script made, so a rerun may clear it
# Imported once in the forkserver (datatrove's LocalPipelineExecutor starts its workers from
# one), so each task does not import them again. For `warc` this also matters for correctness:
# Trafilatura's per-document sandbox is forked from the task and must answer its warm-up call
# within the extractor's timeout (1 s); importing trafilatura there takes about that long.
PRELOAD = {
    "jsonl": [
        "datatrove.pipeline.readers.jsonl",
        "datatrove.pipeline.formatters.ftfy",
        "datatrove.pipeline.filters.lambda_filter",
        "datatrove.pipeline.dedup.exact_dedup",
        "datatrove.pipeline.writers.parquet",
        "ftfy",
        "orjson",
        "xxhash",
        "pyarrow.parquet",
    ],
    "warc": [
        "datatrove.pipeline.readers.warc",
        "datatrove.pipeline.extractors.trafilatura",
        "datatrove.pipeline.writers.parquet",
        "trafilatura",
        "warcio.archiveiterator",
        "magic",
        "cchardet",
        "pyarrow.parquet",
    ],
}
SKIPPED_STATS = ("doc_len", "doc_len_tokens", "media_size")


def text_of(doc) -> str:  # ExactDedupConfig reads the hash input type from the annotation
    return doc.text


def stage_counts(stats) -> list[dict]:
    """One entry per pipeline step: its name and its counters (totals summed over tasks)."""
    steps = []
    for step in stats.stats if stats else ():
        counters = {}
        for key, metric in step.stats.items():
            if key in SKIPPED_STATS or key.endswith((".parquet", ".jsonl")):
                continue  # length distributions and per-output-file counts
            counters[key] = int(metric.total)
        name = " ".join(step.name.encode("ascii", "ignore").decode().split()).lstrip("- ")
        steps.append({"step": name, **counters})
    return steps


def total(steps: list[dict], step: str, key: str) -> int:
    """`key` summed over the steps named `step` ('READER: Jsonl', 'WRITER: Parquet', ...)."""
    return sum(s.get(key, 0) for s in steps if s["step"] == step)


def prepare(args: argparse.Namespace) -> Path:
    if args.output.exists() and any(args.output.iterdir()):
        sys.exit(f"{args.output} is not empty: give a new or empty folder")
    work = args.work or args.output.with_name(args.output.name + ".work")
    if work.exists():
        if not (work / WORK_MARK).is_file():
            sys.exit(f"{work} exists and was not made by this script: remove it or give --work")
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work / WORK_MARK).touch()
    if not args.no_preload:
        import multiprocess

        multiprocess.get_context("forkserver").set_forkserver_preload(PRELOAD[args.job])
    return work


def executor(pipeline, args: argparse.Namespace, logs: str):
    from datatrove.executor.local import LocalPipelineExecutor

    return LocalPipelineExecutor(
        pipeline=pipeline,
        tasks=args.tasks,
        workers=args.workers,
        logging_dir=str(args.logs / logs),
        skip_completed=False,  # a benchmark always does the work, whatever the logs hold
    )


def jsonl_job(args: argparse.Namespace, work: Path) -> dict:
    from datatrove.pipeline.dedup import (
        ExactDedupConfig,
        ExactDedupFilter,
        ExactDedupSignature,
        ExactFindDedups,
    )
    from datatrove.pipeline.filters import LambdaFilter
    from datatrove.pipeline.formatters import FTFYFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

    min_words = args.min_words
    dedup = ExactDedupConfig(content_getter=text_of)
    kept, sigs, dups = work / "kept", work / "signatures", work / "duplicates"
    kept.mkdir()
    prepared = executor(
        [
            JsonlReader(str(args.input), text_key="maintext", id_key="url", glob_pattern=args.glob),
            *([FTFYFormatter()] if args.formatter == "ftfy" else []),
            LambdaFilter(lambda doc: len(doc.text.split()) >= min_words),
            JsonlWriter(str(kept), compression=None),
            ExactDedupSignature(str(sigs), config=dedup, finder_workers=args.tasks),
        ],
        args,
        "1-signatures",
    )
    found = executor([ExactFindDedups(str(sigs), str(dups), config=dedup)], args, "2-find-dedups")
    filtered = executor(
        [
            JsonlReader(str(kept)),
            ExactDedupFilter(str(dups), config=dedup),
            ParquetWriter(str(args.output), compression=args.compression),
        ],
        args,
        "3-filter-write",
    )
    # Run one after the other (what `depends=` would do, minus its polling): run 3 needs the
    # files below, made between runs 1 and 2.
    first = prepared.run()
    # Task r of run 3 must read exactly what task r of run 1 kept (the duplicates are doc
    # indices per task): a task that kept nothing wrote no file, so give it an empty one.
    for rank in range(args.tasks):
        (kept / f"{rank:05d}.jsonl").touch()
    second = found.run()
    third = filtered.run()
    steps = stage_counts(first) + stage_counts(second) + stage_counts(third)
    return {
        "job": "jsonl",
        "read": total(stage_counts(first), "READER: Jsonl", "documents"),
        "written": total(stage_counts(third), "WRITER: Parquet", "total"),
        "too_short": total(steps, "FILTER: Lambda", "dropped"),
        "duplicates": total(steps, "DEDUPS: exact-deduplication stage 3", "dropped"),
        "steps": steps,
    }


def warc_job(args: argparse.Namespace, work: Path) -> dict:
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import ParquetWriter

    stats = executor(
        [
            WarcReader(str(args.input), glob_pattern=args.glob),
            Trafilatura(timeout=args.extract_timeout),
            ParquetWriter(str(args.output), compression=args.compression),
        ],
        args,
        "warc",
    ).run()
    steps = stage_counts(stats)
    return {
        "job": "warc",
        "read": total(steps, "READER: Warc", "documents"),
        "written": total(steps, "WRITER: Parquet", "total"),
        "extracted": total(steps, "EXTRAC: Trafilatura", "extracted"),
        "empty": total(steps, "EXTRAC: Trafilatura", "dropped"),
        "timeouts": total(steps, "EXTRAC: Trafilatura", "timeout"),
        "steps": steps,
    }


def check() -> dict:
    """datatrove's version, and why the warc job cannot run here (None if it can)."""
    from importlib.metadata import version

    try:
        import magic  # python-magic: loads libmagic when imported

        magic.from_buffer(b"<html><body>x</body></html>", mime=True)
        warc = None
    except Exception as exc:  # ImportError('failed to find libmagic ...'), or its own errors
        warc = f"libmagic is missing or broken (python-magic: {exc})"
    return {"job": "check", "datatrove": version("datatrove"), "warc_unavailable": warc}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    jobs = parser.add_subparsers(dest="job", required=True)
    jobs.add_parser("check", help="datatrove's version; whether libmagic is there for warc")
    for name, helptext in (
        ("jsonl", "JSONL records: normalize, drop short, exact dedup, Parquet"),
        ("warc", "WARC files: extract pages with trafilatura, Parquet"),
    ):
        job = jobs.add_parser(name, help=helptext)
        job.add_argument("--input", type=Path, required=True, help="folder of input files")
        job.add_argument("--output", type=Path, required=True, help="folder for the Parquet files")
        job.add_argument("--logs", type=Path, required=True, help="datatrove's logging folder")
        job.add_argument("--tasks", type=int, default=2)
        job.add_argument("--workers", type=int, default=2)
        job.add_argument("--work", type=Path, help="work folder (default OUTPUT.work)")
        job.add_argument("--keep-work", action="store_true", help="keep the work folder")
        job.add_argument(
            "--no-preload",
            action="store_true",
            help="leave the forkserver's preload as datatrove has it (each task imports its modules)",
        )
        job.add_argument("--glob", help="only input files matching this (default: every file)")
        job.add_argument(
            "--compression",
            default="snappy",
            help="Parquet codec (datatrove's default %(default)s)",
        )
        if name == "jsonl":
            job.add_argument("--min-words", type=int, default=50)
            job.add_argument(
                "--formatter",
                choices=("ftfy", "none"),
                default="ftfy",
                help="the texts' normalization: datatrove's FTFYFormatter (default), or none",
            )
        else:
            job.add_argument(
                "--extract-timeout",
                type=float,
                default=1.0,
                help="seconds per page (datatrove's default %(default)s); a page over it is dropped",
            )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.job == "check":
        print(json.dumps(check()), flush=True)
        return 0
    work = prepare(args)
    try:
        result = (jsonl_job if args.job == "jsonl" else warc_job)(args, work)
    finally:
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
