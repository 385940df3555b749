"""Per-article cost of the word count (`validate`) and the quality signals (`quality`), on
`make bench`'s generated news and, if given, on the texts of a release's Parquet shards.

    .venv/bin/python -m bench.signals [--articles 6000] [--release dist]

Batches are of 2,000 articles, as the build's; each figure is the best of three runs, in CPU
time (the machine may be shared).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench import corpus as benchgen
from bench.timing import per_article
from builder.text.signals import signals
from builder.text.word_batch import word_counts

BATCH = 2000


def generated(count: int) -> pa.Table:
    records = itertools.islice(benchgen.records(), count)
    rows = [(r["maintext"], r["language"]) for r in records]
    return pa.table({"text": [t for t, _ in rows], "language": [lang for _, lang in rows]})


def released(folder: Path) -> pa.Table:
    """The text and language columns of every shard of a release, in path order."""
    shards = sorted((folder / "data").rglob("*.parquet"))
    return pa.concat_tables(pq.read_table(p, columns=["text", "language"]) for p in shards)


def bench(table: pa.Table) -> dict[str, float]:
    """µs per article of `word_counts` and of `signals`, batch by batch."""
    batches = [table.slice(i, BATCH) for i in range(0, table.num_rows, BATCH)]
    signals(batches[0]["text"][:10], batches[0]["language"][:10])  # tables built once a process
    return {
        "word_counts": per_article(
            lambda: [word_counts(b["text"]) for b in batches], table.num_rows
        ),
        "signals": per_article(
            lambda: [signals(b["text"], b["language"]) for b in batches], table.num_rows
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=6000)
    parser.add_argument("--release", type=Path, help="also measure the texts of this release")
    args = parser.parse_args()
    tables = {f"generated ({args.articles:,})": generated(args.articles)}
    if args.release:
        table = released(args.release)
        tables[f"{args.release} ({table.num_rows:,})"] = table
    print(f"{'texts':40} {'word_counts µs':>15} {'signals µs':>11}")
    for name, table in tables.items():
        row = bench(table)
        print(f"{name:40} {row['word_counts']:15.1f} {row['signals']:11.1f}")


if __name__ == "__main__":
    main()
