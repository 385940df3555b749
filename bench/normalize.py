"""Per-article cost of the batch normalizer against the per-article reference, on four kinds of text.

    .venv/bin/python -m bench.normalize [--articles 2000]
    .venv/bin/python -m bench.normalize --check ../shared/corpus/txt   # same text, per file

The check mode compares `normalize_column` with `normalize_text` on every file of a folder, whole
and paragraph by paragraph, and exits 1 on the first difference.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from bench import corpus as benchgen
from bench.timing import per_article
from builder.text.normalize_batch import batch_patterns, normalize_column
from tests.reference import normalize_text

BATCH = 1000


def _articles(language: str, count: int, damage: Callable[[str], str] = str) -> list[str]:
    rng = random.Random(benchgen.SEED)
    pool = benchgen._paragraphs(rng, language, 400)
    return [damage("\n".join(rng.sample(pool, rng.randint(4, 7)))) for _ in range(count)]


def corpora(count: int) -> dict[str, list[str]]:
    """(a) `make bench`'s generated news, (b) ASCII English, (c) Italian, (d) mojibake Italian."""
    news = [r["maintext"] for r in itertools.islice(benchgen.records(), count)]
    return {
        "benchgen news": news,
        "ASCII English": _articles("en", count),
        "accented Italian": _articles("it", count),
        "mojibake Italian": _articles("it", count, benchgen._mojibake),
    }


def bench(count: int = 2000, reference_count: int = 300) -> dict[str, dict[str, float]]:
    """CPU µs per article for `normalize_text` (on the first `reference_count`) and the batch path."""
    batch_patterns()  # built once per process, not per batch
    figures = {}
    for name, texts in corpora(count).items():
        some = texts[:reference_count]
        reference = per_article(lambda some=some: [normalize_text(t) for t in some], len(some), 1)
        batches = [pa.array(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        batch = per_article(lambda b=batches: [normalize_column(x) for x in b], len(texts), 3)
        figures[name] = {"reference_us": reference, "batch_us": batch, "speedup": reference / batch}
    return figures


def check(folder: Path) -> int:
    """Articles of a folder through both normalizers; the number of texts compared."""
    texts = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            whole = path.read_bytes().decode("utf-8", errors="replace")
            texts += [whole, *whole.split("\n\n")]
    got = normalize_column(pa.array(texts)).values.to_pylist()
    for text, batch in zip(texts, got, strict=True):
        if batch != normalize_text(text):
            sys.exit(f"error: batch and reference differ on {text[:80]!r}")
    return len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--check", type=Path, help="compare both normalizers on this folder")
    args = parser.parse_args()
    if args.check:
        print(f"{check(args.check)} texts from {args.check}: batch == reference on every one")
        return
    print(f"{'text':18} {'reference CPU µs':>17} {'batch CPU µs':>13} {'speedup':>8}")
    for name, row in bench(args.articles).items():
        print(
            f"{name:18} {row['reference_us']:17.0f} {row['batch_us']:13.0f} {row['speedup']:7.1f}x"
        )


if __name__ == "__main__":
    main()
