"""The near-duplicate stage against a known truth: precision, recall, its share of build time.

The corpus is W1-style background records (bench/corpus.py) with wire stories mixed in: each
story is printed by several outlets, with another headline, a byline, a footer and a few
sentences rewritten, at known similarity levels (the exact Jaccard similarity of the simplified
texts' word 5-grams to the original). Every article of a story is in one truth cluster; every
background record is its own. For each stage setting the CLI builds the corpus (as a user runs
it, peak RSS over the process tree) and the release is checked against the truth:

- recall (per level, and over copies at similarity >= 0.8): a copy is found when it ends in the
  same cluster as its original (both marked with the same cluster_id, as the default `mark`
  does; or, with `action = "remove"`, one is a near_duplicate of the other, or both of the same
  kept article);
- precision: of the near-copies found (marked with another article's cluster_id, or removed as
  near_duplicate), the share whose kept article is of the same truth cluster;
- the stage's share of the build time: (build time - build time without the stage) / build time.

    .venv/bin/python -m bench.near [--articles 20000] [--workers 2] [--out /tmp/bench-near]

At a million articles the two in-process builds of the share take hours: `--no-share` leaves
them out, and the stage's cost is then the difference between the CLI builds with and without it.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import shutil
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import builder.build as build_module
from bench.build import measure
from bench.corpus import records
from builder.config import Config, NearDuplicateSection
from builder.progress import Progress
from builder.stages.near import NearDuplicates, signatures

SEED = 20261128
STORY_RATE = 0.04  # of the articles, originals of wire stories
COPIES = (2, 6)  # outlets reprinting a story: between these
LEVELS = (0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5)  # target similarity of a copy to its original
TARGET_LEVEL = 0.8
TARGET_RECALL, TARGET_PRECISION = 0.95, 0.99
TARGET_SHARE, TARGET_RSS_ADDED_MB = 0.10, 100  # the stage's cost (issue 16: at a million articles)
SETTINGS = {  # name -> [build.near_duplicates]; the first is the default's
    "5-gram 16x7": {"enabled": True, "shingle_words": 5, "bands": 16, "rows_per_band": 7},
    "5-gram 14x8": {"enabled": True, "shingle_words": 5, "bands": 14, "rows_per_band": 8},
    "5-gram 20x6": {"enabled": True, "shingle_words": 5, "bands": 20, "rows_per_band": 6},
    "3-gram 16x7": {"enabled": True, "shingle_words": 3, "bands": 16, "rows_per_band": 7},
}
OUTLETS = ["Daily Courier", "Evening Post", "The Ledger", "Morning Star", "Gazette", "Herald"]
CONFIG = """\
[dataset]
name = "bench-near"
repo_id = "bench/near"
version = "1.0.0"
license = "cc-by-4.0"
languages = ["en", "it", "de", "fr"]
description = "Near-duplicate bench."

[build]
min_words = 5

[build.near_duplicates]
{near}
"""


# --- the corpus and its truth ------------------------------------------------------------------


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    syllables = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]
    return sorted({"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(size)})


def _sentence(rng: random.Random, words: list[str]) -> str:
    text = " ".join(rng.choices(words, k=rng.randint(10, 24)))
    return text[0].upper() + text[1:] + "."


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """The simplified text's word n-grams, as the stage makes them (an independent version)."""
    simple = re.sub(r"\d", "0", re.sub(r"[^\w\s]|_", "", text.lower()))
    words = simple.split()
    if len(words) < n:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y) if x | y else 1.0


def _copy(rng: random.Random, sentences: list[str], words: list[str], level: float, original: str):
    """A reprint: byline, footer, and sentences rewritten until the similarity drops to about
    `level`; the text and its exact similarity to the original."""
    outlet = rng.choice(OUTLETS)
    body = list(sentences)
    order = rng.sample(range(len(body)), len(body))
    while True:
        text = f"By {rng.choice(words).title()} {rng.choice(words).title()}, {outlet}\n\n"
        text += " ".join(body) + f"\n\n© {outlet} {rng.randint(2019, 2024)}. All rights reserved."
        similarity = jaccard(original, text)
        if similarity <= level + 0.02 or not order:
            return text, similarity
        body[order.pop()] = _sentence(rng, words)


@dataclass
class Truth:
    cluster: dict[str, str]  # url -> truth cluster (the story, or the url itself)
    level: dict[str, float]  # url of a copy -> its exact similarity to the original
    original: dict[str, str]  # url of a copy -> url of its original


def corpus(folder: Path, articles: int, seed: int = SEED) -> Truth:
    """Write `articles` records as JSON Lines shards into `folder`; the truth about them."""
    rng = random.Random(seed)
    words = _vocabulary(rng)
    background = records()
    truth = Truth({}, {}, {})
    lines: list[dict] = []
    while len(lines) < articles:
        if rng.random() >= STORY_RATE:
            lines.append(next(background))
            continue
        story = f"story-{len(truth.original)}-{len(lines)}"
        sentences = [_sentence(rng, words) for _ in range(rng.randint(12, 30))]
        original = " ".join(sentences)
        url = f"https://wire.example/{story}"
        lines.append(_record(rng, words, original, url))
        truth.cluster[url] = story
        for number in range(rng.randint(*COPIES)):
            text, similarity = _copy(rng, sentences, words, rng.choice(LEVELS), original)
            copy = f"https://outlet{number}.example/{story}"
            lines.append(_record(rng, words, text, copy))
            truth.cluster[copy], truth.level[copy], truth.original[copy] = story, similarity, url
    rng.shuffle(lines)  # copies before and after their original, in any file
    folder.mkdir(parents=True)
    for shard in range(0, len(lines), 10_000):
        with open(folder / f"part-{shard // 10_000:04d}.jsonl", "w", encoding="utf-8") as f:
            for line in lines[shard : shard + 10_000]:
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
    return truth


def _record(rng: random.Random, words: list[str], text: str, url: str) -> dict:
    return {
        "title": " ".join(rng.choices(words, k=8)).capitalize(),
        "maintext": text,
        "date_publish": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 10:00:00",
        "language": "en",
        "url": url,
    }


# --- scoring a release -------------------------------------------------------------------------


def score(release: Path, truth: Truth) -> dict:
    """Precision and recall of the release's near-duplicates against the truth."""
    published = pq.read_table(release / "data", columns=["id", "url", "cluster_id"])
    duplicates = pq.read_table(release / "accounting" / "duplicates.parquet")
    rejects = pq.read_table(release / "accounting" / "rejects.parquet")
    url_of = dict(zip(published["id"].to_pylist(), published["url"].to_pylist(), strict=True))
    where = _urls(release, duplicates, rejects)
    representative, found = {}, []  # url -> url of the article kept for it; near-copies found
    for row in published.to_pylist():
        kept = url_of[row["cluster_id"] or row["id"]]
        representative[row["url"]] = kept
        if kept != row["url"]:
            found.append((row["url"], kept))
    for row, url in zip(duplicates.to_pylist(), where, strict=True):
        representative[url] = representative[url_of[row["duplicate_of"]]]
        if row["reason"] == "near_duplicate":
            found.append((url, url_of[row["duplicate_of"]]))

    def cluster(url: str) -> str:
        return truth.cluster.get(url, url)

    right = sum(cluster(url) == cluster(kept) for url, kept in found)
    joined: dict[float, list[bool]] = defaultdict(list)  # by similarity, in steps of 0.05
    for copy, original in truth.original.items():
        if copy in representative and original in representative:  # neither rejected
            level = int(truth.level[copy] * 20) / 20
            joined[level].append(representative[copy] == representative[original])
    at_target = [
        representative[c] == representative[o]
        for c, o in truth.original.items()
        if truth.level[c] >= TARGET_LEVEL and c in representative and o in representative
    ]
    return {
        "found": len(found),
        "precision": right / len(found) if found else 1.0,
        "recall": sum(at_target) / len(at_target) if at_target else 1.0,
        "copies": len(at_target),
        "by_level": {level: sum(h) / len(h) for level, h in sorted(joined.items(), reverse=True)},
    }


def _urls(release: Path, duplicates: pa.Table, rejects: pa.Table) -> list[str]:
    """The url of every duplicate row, from the input records (source_path, source_record)."""
    raw = Path(json.loads((release / ".bench-input").read_text())["raw"])
    wanted = defaultdict(set)
    for path, record in zip(
        duplicates["source_path"].to_pylist(), duplicates["source_record"].to_pylist(), strict=True
    ):
        wanted[path].add(record)
    urls = {}
    for path, numbers in wanted.items():
        with open(raw / path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if number in numbers:
                    urls[path, number] = json.loads(line)["url"]
    return [
        urls[p, r]
        for p, r in zip(
            duplicates["source_path"].to_pylist(),
            duplicates["source_record"].to_pylist(),
            strict=True,
        )
    ]


# --- signature speed ---------------------------------------------------------------------------


def signature_speed(texts: list[str]) -> dict[str, float]:
    """Microseconds per article: this stage's batch signatures, and datasketch's MinHash."""
    near = NearDuplicateSection()
    array = pa.array(texts)
    start = time.perf_counter()
    for batch in range(0, len(texts), 2000):
        signatures(array.slice(batch, 2000), near)
    ours = (time.perf_counter() - start) / len(texts) * 1e6
    try:
        from datasketch import MinHash
    except ImportError:
        return {"stage": ours}
    sample = texts[:500]
    start = time.perf_counter()
    for text in sample:
        m = MinHash(num_perm=near.bands * near.rows_per_band, seed=1)
        m.update_batch([" ".join(s).encode() for s in shingles(text)])
    return {"stage": ours, "datasketch": (time.perf_counter() - start) / len(sample) * 1e6}


# --- the runs ----------------------------------------------------------------------------------


def run(raw: Path, out: Path, near: dict, workers: int, logs: Path) -> dict:
    """One build through the CLI, timed and measured; the release is left in `out`."""
    folder = Path(tempfile.mkdtemp(prefix="bench-near-", dir=logs))
    (folder / "dataset.toml").write_text(CONFIG.format(near=_toml(near)), encoding="utf-8")
    command = [sys.executable, "-m", "builder", "--config", str(folder / "dataset.toml"), "build"]
    command += ["--raw", str(raw), "--out", str(out), "--workers", str(workers)]
    outcome = measure(command, 3600, folder)
    if outcome.status != "ok":
        raise SystemExit(f"build failed: {outcome.status}\n{outcome.stderr_tail}")
    (out / ".bench-input").write_text(json.dumps({"raw": str(raw)}))
    return {
        "seconds": outcome.seconds,
        "peak_rss_mb": outcome.peak_rss / 1e6,
        "peak_pss_mb": outcome.peak_pss / 1e6,
    }


def stage_share(raw: Path, near: dict, scratch: Path) -> dict[str, float]:
    """The stage's share of a build's time, measured inside one build in this process (one
    worker): its signatures in the workers, and the stages' time beyond exact dedup's (from a
    build without it). Shares of one build are less noisy than two builds' difference."""
    spent: dict[str, float] = defaultdict(float)

    def timed(name: str, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start

        return wrapper

    annotate, run_stages = NearDuplicates.annotate, build_module.run_stages
    NearDuplicates.annotate = timed("signatures", annotate)  # type: ignore[method-assign]
    build_module.run_stages = timed("stages", run_stages)
    try:
        seconds = {}
        for label, settings in (("off", {"enabled": False}), ("on", near)):
            spent["stages"] = 0.0
            config = Config.model_validate(tomllib.loads(CONFIG.format(near=_toml(settings))))
            start = time.perf_counter()
            build_module.build(
                config, raw, scratch / "release-share", progress=Progress(0, io.StringIO())
            )
            seconds[label] = time.perf_counter() - start
            seconds[f"stages_{label}"] = spent["stages"]
            shutil.rmtree(scratch / "release-share")
    finally:
        NearDuplicates.annotate = annotate  # type: ignore[method-assign]
        build_module.run_stages = run_stages
    cost = spent["signatures"] + max(0.0, seconds["stages_on"] - seconds["stages_off"])
    return {
        "share": cost / seconds["on"],
        "signatures": spent["signatures"],
        "stages": seconds["stages_on"] - seconds["stages_off"],
        "build": seconds["on"],
    }


def _toml(settings: dict) -> str:
    return "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--settings", default=",".join(SETTINGS), help="names, comma-separated")
    parser.add_argument("--out", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument(
        "--no-share",
        dest="share",
        action="store_false",
        help="skip the in-process builds that measure the stage's share (for large corpora)",
    )
    args = parser.parse_args(argv)
    base = args.out or Path(tempfile.mkdtemp(prefix="bench-near-"))
    base.mkdir(parents=True, exist_ok=True)
    raw = base / f"corpus-{args.articles}"
    if raw.exists():
        shutil.rmtree(raw)
    truth = corpus(raw, args.articles)
    print(f"corpus: {args.articles:,} articles, {len(truth.original):,} copies of wire stories")
    with open(next(raw.glob("*.jsonl")), encoding="utf-8") as f:
        texts = [json.loads(line)["maintext"] for line in f][:4000]
    speed = signature_speed(texts)
    print("signature, µs per article: " + ", ".join(f"{k} {v:.0f}" for k, v in speed.items()))
    names = args.settings.split(",")
    off = run(raw, base / "release-off", {"enabled": False}, args.workers, base)
    shutil.rmtree(base / "release-off")
    print(
        f"without the stage: {off['seconds']:.1f} s, peak RSS {off['peak_rss_mb']:.0f} MB "
        f"(PSS {off['peak_pss_mb']:.0f} MB)"
    )
    results: dict[str, dict] = {}
    for name in names:
        on = run(raw, base / "release", SETTINGS[name], args.workers, base)
        figures = score(base / "release", truth)
        shutil.rmtree(base / "release")
        if args.share:
            share = stage_share(raw, SETTINGS[name], base)
            cost = (
                f"stage share {share['share']:.0%} of the build (one worker, in process: "
                f"signatures {share['signatures']:.1f} s + stages {share['stages']:.1f} s of "
                f"{share['build']:.1f} s)"
            )
        else:
            share = {"share": (on["seconds"] - off["seconds"]) / on["seconds"]}
            cost = (
                f"stage share {share['share']:.0%} of the build (the CLI builds' difference: "
                f"{on['seconds'] - off['seconds']:.1f} s)"
            )
        added = on["peak_rss_mb"] - off["peak_rss_mb"]
        results[name] = {**on, **figures, **share, "rss_added_mb": added}
        levels = "  ".join(f"{k:.2f}: {v:.3f}" for k, v in figures["by_level"].items())
        print(
            f"{name}: precision {figures['precision']:.4f} ({figures['found']:,} near-copies), "
            f"recall {figures['recall']:.4f} at >= {TARGET_LEVEL} ({figures['copies']:,} copies), "
            f"{on['seconds']:.1f} s, peak RSS {on['peak_rss_mb']:.0f} MB ({added:+.0f} MB; "
            f"PSS {on['peak_pss_mb']:.0f} MB)\n"
            f"    {cost}\n"
            f"    recall by similarity: {levels}"
        )
    default = results.get(names[0])
    if default:
        checks = {
            f"recall >= {TARGET_RECALL}": default["recall"] >= TARGET_RECALL,
            f"precision >= {TARGET_PRECISION}": default["precision"] >= TARGET_PRECISION,
            f"share <= {TARGET_SHARE:.2f}": default["share"] <= TARGET_SHARE,
            f"peak RSS added <= {TARGET_RSS_ADDED_MB} MB": default["rss_added_mb"]
            <= TARGET_RSS_ADDED_MB,
        }
        print(
            f"targets ({names[0]}): "
            + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in checks.items())
        )
    if not args.out:
        shutil.rmtree(base)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
