"""The card's chart and statistics: same stats give the same PNG, fast for any number of months."""

import random
import struct
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from builder.layout import UNDATED
from builder.writers.stats import CHART_FILE, compute_stats, palette, write_chart
from schema.languages import ISO_639_1
from tests.support import SEED, run_build, write


def chart_stats(months: int, languages: int, undated: bool = False, seed: int = 0) -> dict:
    """Stats as compute_stats gives them: `months` consecutive months from 1990, some cells empty."""
    rnd = random.Random(seed)
    codes = sorted(ISO_639_1)[:languages]
    names = [f"{1990 + i // 12}-{i % 12 + 1:02d}" for i in range(months)] + [UNDATED] * undated
    by_month = {
        m: {lang: rnd.randint(1, 900) for lang in codes if rnd.random() < 0.9} for m in names
    }
    by_language = {lang: sum(c.get(lang, 0) for c in by_month.values()) for lang in codes}
    return {"by_month": by_month, "by_language": by_language}


def png_chunks(data: bytes) -> list[bytes]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.append(data[at + 4 : at + 8])
        at += 12 + length
    return chunks


def test_same_stats_give_the_same_png_bytes(tmp_path):
    stats = chart_stats(24, 5, undated=True)
    write_chart(stats, tmp_path / "a.png")
    write_chart(chart_stats(24, 5, undated=True), tmp_path / "b.png")
    first = (tmp_path / "a.png").read_bytes()
    assert first == (tmp_path / "b.png").read_bytes()
    assert set(png_chunks(first)) == {b"IHDR", b"IDAT", b"IEND"}  # no time, no software text
    write_chart(chart_stats(24, 5, undated=True, seed=1), tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes() != first


def test_every_language_is_drawn_in_its_own_colour(tmp_path):
    stats = chart_stats(24, 30)
    write_chart(stats, tmp_path / CHART_FILE)
    colours = palette(30)
    assert len(set(colours)) == 30
    with Image.open(tmp_path / CHART_FILE) as image:
        drawn = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1 << 16)}
    assert set(colours) <= drawn  # each language has bars and a legend swatch


@pytest.mark.parametrize(("months", "languages"), [(0, 0), (1, 1), (24, 3), (600, 30)])
def test_chart_costs_well_under_a_second(tmp_path, months, languages):
    stats = chart_stats(months, languages, undated=months > 0)
    start = time.perf_counter()
    write_chart(stats, tmp_path / CHART_FILE)
    seconds = time.perf_counter() - start
    print(f"chart of {months} months x {languages} languages: {seconds * 1000:.0f} ms")
    assert seconds < 5  # about 0.15 s for 600 x 30; loose, the machine is shared
    with Image.open(tmp_path / CHART_FILE) as image:
        assert image.format == "PNG" and 400 <= image.width <= 3 * max(months, 400)
        assert 250 <= image.height <= 600


def test_stats_count_by_month_and_language(tmp_path):
    dates = ["2021-02-03", "2021-02", "2021", None, "2021-02-28", None]
    table = pa.table(
        {
            "language": ["en", "en", "it", "it", "it", "it"],
            "date": dates,
            "date_precision": ["day", "month", "year", None, "day", None],
            "date_source": ["meta", "url", "record", None, "meta", None],
            "num_words": [10, 20, 30, 40, 50, 60],
            "num_chars": [100, 200, 300, 400, 500, 600],
            "text": ["not read"] * 6,
        }
    )
    (tmp_path / "data").mkdir()
    pq.write_table(table.slice(0, 3), tmp_path / "data" / "0.parquet")
    pq.write_table(table.slice(3), tmp_path / "data" / "1.parquet")
    stats = compute_stats(tmp_path, ["data/0.parquet", "data/1.parquet"])
    assert stats["articles"] == 6 and stats["by_language"] == {"en": 2, "it": 4}
    assert stats["by_month"] == {
        "2021": {"it": 1},
        "2021-02": {"en": 2, "it": 1},
        UNDATED: {"it": 2},
    }
    assert stats["dates"] == {
        "meta": {"day": 2},
        "record": {"year": 1},
        UNDATED: {UNDATED: 2},
        "url": {"month": 1},
    }
    assert stats["num_words"]["min"] == 10 and stats["num_chars"]["max"] == 600
    empty = compute_stats(tmp_path, [])
    assert empty["articles"] == 0 and empty["by_month"] == {} and empty["num_words"] == {}
    write_chart(empty, tmp_path / CHART_FILE)  # an empty release still gets a chart


def test_one_article_build(tmp_path):
    write(tmp_path / "raw" / SEED.name, SEED.read_bytes())
    start = time.perf_counter()
    report = run_build(tmp_path / "raw", tmp_path / "dist")
    seconds = time.perf_counter() - start
    print(f"one-article build: {seconds:.2f} s")
    assert report.accounting.rows == 1 and seconds < 60
    with Image.open(report.out / CHART_FILE) as image:
        assert image.format == "PNG"
