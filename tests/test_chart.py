"""The card's chart and statistics: same stats give the same PNG, fast for any number of months."""

import random
import struct
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from builder.layout import UNDATED
from builder.writers.stats import (
    CHART_FILE,
    TimeAxis,
    compute_stats,
    month_number,
    palette,
    time_axis,
    write_chart,
    x_ticks,
)
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


def _bar_columns(path, colours) -> list[int]:
    """The x of every pixel column with a bar on the axis (the lowest row holding a bar colour:
    the legend's swatches are at the top)."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        width, height = rgb.size
        pixels = rgb.load()
        y = max(y for y in range(height) for x in range(width) if pixels[x, y] in colours)
        return [x for x in range(width) if pixels[x, y] in colours]


@pytest.mark.parametrize("months", [1, 2, 13, 59, 120, 599, 600, 601, 1200, 5000, 12312])
def test_the_image_stays_a_readable_size_whatever_the_span(tmp_path, months):
    write_chart(chart_stats(months, 3, undated=True), tmp_path / CHART_FILE)
    with Image.open(tmp_path / CHART_FILE) as image:
        assert 400 <= image.width <= 1400 and 250 <= image.height <= 450


def test_the_x_axis_is_time_an_empty_month_is_a_gap(tmp_path):
    """2013-09 and 2013-11 with nothing between them: three slots, the middle one empty."""
    stats = {
        "by_month": {"2013-09": {"it": 5}, "2013-11": {"it": 5}},
        "by_language": {"it": 10},
    }
    write_chart(stats, tmp_path / CHART_FILE)
    columns = _bar_columns(tmp_path / CHART_FILE, set(palette(1)))
    runs = [[columns[0]]]
    for x in columns[1:]:
        if x == runs[-1][-1] + 1:
            runs[-1].append(x)
        else:
            runs.append([x])
    assert len(runs) == 2  # two bars
    first, second = runs
    width = len(first)
    assert len(second) == width
    gap = second[0] - first[-1] - 1
    assert gap > width  # a whole slot (the empty month) between them, not just the bars' spacing


def test_ticks_are_months_up_to_600_months_then_years():
    def labels(months: int) -> list[str]:
        axis = time_axis([2000 * 12, 2000 * 12 + months - 1])
        assert axis is not None
        slot = min(40.0, 1200 / axis.bars)
        return [label for _, label in x_ticks(axis, slot, 60)]

    assert labels(1) == ["2000-01"]
    assert labels(12) == [f"2000-{m:02d}" for m in range(1, 13, 2)]
    assert labels(24)[:3] == ["2000-01", "2000-03", "2000-05"]  # 40 px a month: 80 apart
    assert labels(60)[:3] == ["2000-01", "2000-04", "2000-07"]  # 20 px a month: 60 apart
    assert labels(120)[:3] == ["2000-01", "2000-07", "2001-01"]  # 10 px a month
    assert labels(240) == [str(y) for y in range(2000, 2020)]  # 5 px a month: a year is 60
    assert labels(600) == [str(y) for y in range(2000, 2050, 5)]
    for months in (1, 7, 12, 36, 100, 240, 599, 600, 601, 2000, 12312):
        axis = time_axis([2000 * 12, 2000 * 12 + months - 1])
        assert axis is not None
        assert (axis.width == 1) == (months <= 600) and axis.bars <= 600
        slot = min(40.0, 1200 / axis.bars)
        ticks = x_ticks(axis, slot, 60)
        assert 1 <= len(ticks) <= 20, months
        xs = [x for x, _ in ticks]
        assert all(b - a >= 60 for a, b in zip(xs, xs[1:], strict=False))  # never overlap
        assert all(0 <= x <= axis.bars * slot for x in xs)  # inside the span
        if months > 600:
            assert all(len(label) == 4 for _, label in ticks)  # years


def test_a_span_of_12312_months_draws_a_bar_per_2_years(tmp_path):
    axis = time_axis([1000 * 12 + 3, 2026 * 12 + 2])
    assert axis == TimeAxis(first=1000 * 12, width=24, bars=514) and axis.unit == "2 years"
    assert axis.bar_of(2026 * 12 + 2) == 513
    assert month_number("2021-02") == 2021 * 12 + 1
    assert month_number("2021") is None and month_number(UNDATED) is None
