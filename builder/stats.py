"""Release statistics for the card: articles per language and month, length percentiles, a chart."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from builder.layout import UNDATED, bucket_of

PERCENTILES = (0.1, 0.5, 0.9, 0.99)
CHART_FILE = "articles_per_month.png"


def compute_stats(release: Path, shard_paths: list[str]) -> dict:
    """Counts and length percentiles over the shards, read by column (text is never loaded)."""
    columns = ["language", "date", "num_words", "num_chars"]
    if shard_paths:
        table = pads.dataset([str(release / p) for p in shard_paths], format="parquet").to_table(
            columns=columns
        )
    else:
        table = pa.table(
            {
                c: pa.array([], pa.string() if c in ("language", "date") else pa.int64())
                for c in columns
            }
        )
    by_month: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for language, date in zip(
        table["language"].to_pylist(), table["date"].to_pylist(), strict=True
    ):
        by_month[bucket_of(date)][language] += 1
    by_language = {
        row["values"]: row["counts"] for row in pc.value_counts(table["language"]).to_pylist()
    }
    return {
        "articles": len(table),
        "by_language": dict(sorted(by_language.items())),
        "by_month": {m: dict(sorted(v.items())) for m, v in sorted(by_month.items())},
        "num_words": _percentiles(table["num_words"]),
        "num_chars": _percentiles(table["num_chars"]),
    }


def _percentiles(column: pa.ChunkedArray) -> dict[str, int]:
    if len(column) == 0:
        return {}
    values = pc.quantile(column, q=list(PERCENTILES), interpolation="nearest").to_pylist()
    out = {f"p{round(q * 100)}": int(v) for q, v in zip(PERCENTILES, values, strict=True)}
    return {"min": pc.min(column).as_py(), **out, "max": pc.max(column).as_py()}


def write_chart(stats: dict, path: Path) -> None:
    """Stacked bars of articles per month and language, as a PNG with no timestamp in it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    months = [m for m in stats["by_month"] if m != UNDATED] + (
        [UNDATED] if UNDATED in stats["by_month"] else []
    )
    languages = list(stats["by_language"])
    fig, ax = plt.subplots(figsize=(max(6.0, 0.25 * len(months) + 2), 3.5), dpi=100)
    bottom = [0] * len(months)
    for language in languages:
        heights = [stats["by_month"][m].get(language, 0) for m in months]
        ax.bar(months, heights, bottom=bottom, label=language)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("articles")
    ax.set_title("Articles per month and language")
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    if languages:
        ax.legend(fontsize=7, ncols=min(len(languages), 6))
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)
