"""Release statistics for the card: articles per language and month, length percentiles, a chart."""

from __future__ import annotations

import colorsys
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from PIL import Image, ImageDraw, ImageFont

from builder.layout import UNDATED, language_of, month_folder
from schema import arrow_schema
from schema.article import QUALITY_SIGNALS

PERCENTILES = (0.1, 0.5, 0.9, 0.99)
# Both tails: a min_ threshold is chosen from the low ones, a max_ one from the high ones.
QUALITY_PERCENTILES = (0.01, 0.1, 0.5, 0.9, 0.99)
QUALITY_DIGITS = 4
CHART_FILE = "articles_per_month.png"


def compute_stats(release: Path, shard_paths: list[str]) -> dict:
    """Counts and length percentiles over the shards, read by column (text is never loaded)."""
    columns = ["language", "date", "date_precision", "date_source", "num_words", "num_chars"]
    empty = arrow_schema().empty_table().select(columns)
    table = pa.concat_tables(
        [empty, *(pq.read_table(release / p, columns=columns) for p in shard_paths)],
        promote_options="permissive",
    )
    # Counted per distinct (date, language) in Arrow, so the Python loop is as long as the dates
    # are many, not the rows; month_folder stays the one rule for a month.
    groups = table.group_by(["date", "language"]).aggregate([([], "count_all")])
    by_month: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_language: dict[str, int] = defaultdict(int)
    for date, language, count in zip(
        *(groups[c].to_pylist() for c in ("date", "language", "count_all")), strict=True
    ):
        by_month[month_folder(date)][language] += count
        by_language[language] += count
    sources = table.group_by(["date_source", "date_precision"]).aggregate([([], "count_all")])
    dates: dict[str, dict[str, int]] = defaultdict(dict)
    for source, precision, count in zip(
        *(sources[c].to_pylist() for c in ("date_source", "date_precision", "count_all")),
        strict=True,
    ):
        dates[source or UNDATED][precision or UNDATED] = count
    return {
        "articles": len(table),
        "dates": {s: dict(sorted(v.items())) for s, v in sorted(dates.items())},
        "by_language": dict(sorted(by_language.items())),
        "by_month": {m: dict(sorted(v.items())) for m, v in sorted(by_month.items())},
        "num_words": _percentiles(table["num_words"]),
        "num_chars": _percentiles(table["num_chars"]),
        "quality": quality_stats(release, shard_paths),
    }


def quality_stats(release: Path, shard_paths: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Per language, percentiles of each quality signal over the articles where it is defined
    (a signal null in all of them, or in no shard, is left out), read one language's shards at
    a time."""
    by_language: dict[str, list[str]] = defaultdict(list)
    for path in shard_paths:
        by_language[language_of(path)].append(path)
    empty = arrow_schema().empty_table().select(list(QUALITY_SIGNALS))
    out = {}
    for language, paths in sorted(by_language.items()):
        table = pa.concat_tables(
            [empty, *(_signal_columns(release / p) for p in paths)], promote_options="permissive"
        )
        signals = {}
        for signal in QUALITY_SIGNALS:
            column = table[signal]
            if column.null_count == len(column):
                continue
            values = pc.quantile(column, q=list(QUALITY_PERCENTILES), interpolation="nearest")
            signals[signal] = {
                _label(q): round(v, QUALITY_DIGITS)
                for q, v in zip(QUALITY_PERCENTILES, values.to_pylist(), strict=True)
            }
        if signals:
            out[language] = signals
    return out


def _signal_columns(path: Path) -> pa.Table:
    """The quality signal columns a shard has."""
    with pq.ParquetFile(path) as shard:
        present = [name for name in QUALITY_SIGNALS if name in shard.schema_arrow.names]
        return shard.read(columns=present)


def _label(q: float) -> str:
    return f"p{round(q * 100)}"


def _percentiles(column: pa.ChunkedArray) -> dict[str, int]:
    if len(column) == 0:
        return {}
    values = pc.quantile(column, q=list(PERCENTILES), interpolation="nearest").to_pylist()
    out = {_label(q): int(v) for q, v in zip(PERCENTILES, values, strict=True)}
    return {"min": pc.min(column).as_py(), **out, "max": pc.max(column).as_py()}


MONTH_BARS = 600  # a bar per month up to this span; beyond it, a bar per year (or years)
_FONT_SIZE, _TITLE_SIZE = 12, 15
_PAD, _TICK, _SWATCH = 10, 4, 10
_PLOT_HEIGHT, _MIN_PLOT_WIDTH, _PLOT_WIDTH, _MAX_SLOT = 280, 480, 1200, 40
_LABEL_SPACE = 12  # pixels at least between two tick labels
_INK, _GRID, _BACKGROUND = (40, 40, 40), (225, 225, 225), (255, 255, 255)
_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
_YEAR_STEPS = (1, 2, 5)  # years between bars or labels: 1, 2, 5, 10, 20, 50, ...


@dataclass(frozen=True, slots=True)
class TimeAxis:
    """The chart's x axis: `bars` bars of `width` months each from month number `first` (year *
    12 + month - 1), so that every month of the span has its place and an empty one is a gap."""

    first: int
    width: int
    bars: int

    @property
    def unit(self) -> str:
        if self.width == 1:
            return "month"
        years = self.width // 12
        return "year" if years == 1 else f"{years} years"

    def bar_of(self, month: int) -> int:
        return (month - self.first) // self.width


def month_number(folder: str) -> int | None:
    """'2021-02' -> 2021 * 12 + 1; None for a year alone ('2021') or 'undated'."""
    if len(folder) != 7 or folder[4] != "-":
        return None
    return int(folder[:4]) * 12 + int(folder[5:]) - 1


def time_axis(months: list[int]) -> TimeAxis | None:
    """A bar per month when the span has at most MONTH_BARS months, else a bar per 1, 2, 5, 10,
    20, ... years (calendar years, aligned on multiples of the step), at most MONTH_BARS bars."""
    if not months:
        return None
    low, high = min(months), max(months)
    if high - low + 1 <= MONTH_BARS:
        return TimeAxis(low, 1, high - low + 1)
    for years in _steps(_YEAR_STEPS):
        first_year = low // 12 // years * years
        bars = (high // 12 - first_year) // years + 1
        if bars <= MONTH_BARS:
            return TimeAxis(first_year * 12, years * 12, bars)
    raise AssertionError("unreachable: the steps grow without bound")


def _steps(base: tuple[int, ...]):
    """1, 2, 5, 10, 20, 50, ... for base (1, 2, 5)."""
    scale = 1
    while True:
        for step in base:
            yield step * scale
        scale *= 10


def x_ticks(axis: TimeAxis, slot: float, room: int) -> list[tuple[float, str]]:
    """Labelled ticks as (x from the plot's left, label): each month, or every 2, 3 or 6 months
    ('YYYY-MM', at the month's middle), or every 1, 2, 5, 10, 20, ... years ('YYYY', at January's
    start), the finest whose labels stand `room` pixels apart; only those inside the span."""
    per_month = slot / axis.width
    last = axis.first + axis.bars * axis.width  # the month after the span
    if axis.width == 1:
        for step in (1, 2, 3, 6):
            if step * per_month >= room:
                return [
                    ((m - axis.first + 0.5) * per_month, f"{m // 12:04d}-{m % 12 + 1:02d}")
                    for m in range(axis.first, last)
                    if m % 12 % step == 0
                ]
    for years in _steps(_YEAR_STEPS):
        if years * 12 < axis.width or years * 12 * per_month < room:
            continue
        start = -(-axis.first // (12 * years)) * 12 * years
        return [
            ((m - axis.first) * per_month, f"{m // 12:04d}") for m in range(start, last, 12 * years)
        ]
    raise AssertionError("unreachable: the steps grow without bound")


def write_chart(stats: dict, path: Path) -> None:
    """Stacked bars of articles per month (or year) and language as a PNG, drawn with Pillow.

    The x axis is time: every month of the span has its place (an empty month is a gap), a bar
    per month up to MONTH_BARS months and per year beyond, in a plot at most _PLOT_WIDTH pixels
    wide whatever the span. Articles dated only to a year, and undated ones, have no month: a
    line under the axis counts them. The same stats always give the same bytes: the PNG has no
    time or text chunk.
    """
    chart = _draw_chart(list(stats["by_language"]), stats["by_month"])
    chart.save(path, format="PNG")


def palette(n: int) -> list[tuple[int, int, int]]:
    """`n` colours that stay apart for any `n`: hues a golden angle apart, lightness in three steps."""
    colours = []
    for i in range(n):
        hue = (0.6 + i * 0.381966) % 1.0
        r, g, b = colorsys.hls_to_rgb(hue, (0.45, 0.68, 0.3)[i % 3], 0.65)
        colours.append((round(r * 255), round(g * 255), round(b * 255)))
    return colours


def _binned(
    counts: dict[str, dict[str, int]], languages: list[str]
) -> tuple[TimeAxis | None, np.ndarray, dict[str, int]]:
    """Per bar and language, the articles (bars x languages), and the articles off the time
    axis: dated only to a year, and undated."""
    numbers = {folder: month_number(folder) for folder in counts}
    axis = time_axis([n for n in numbers.values() if n is not None])
    column = {language: i for i, language in enumerate(languages)}
    bars = np.zeros((axis.bars if axis else 0, len(languages)), dtype=np.int64)
    off = {"year": 0, UNDATED: 0}
    for folder, per_language in counts.items():
        number = numbers[folder]
        if number is None or axis is None:
            off[UNDATED if folder == UNDATED else "year"] += sum(per_language.values())
            continue
        for language, n in per_language.items():
            bars[axis.bar_of(number), column[language]] += n
    return axis, bars, off


def _draw_chart(languages: list[str], counts: dict[str, dict[str, int]]) -> Image.Image:
    font, title_font = _font(_FONT_SIZE), _font(_TITLE_SIZE)
    line = _size("Ag0", font)[1]
    axis, bars, off = _binned(counts, languages)
    count = axis.bars if axis else 0
    plot_width = min(_PLOT_WIDTH, max(_MIN_PLOT_WIDTH, count * _MAX_SLOT))
    slot = min(float(_MAX_SLOT), plot_width / max(count, 1))
    offset = (plot_width - count * slot) / 2
    gap = round(slot / 5) if slot >= 5 else 0
    ticks = _y_ticks(int(bars.sum(axis=1).max(initial=0)))
    room = _size("0000-00", font)[0] + _LABEL_SPACE
    labels = x_ticks(axis, slot, room) if axis else []
    title = f"Articles per {axis.unit if axis else 'month'} and language"
    notes = [
        f"{n:,} {what}"
        for n, what in ((off["year"], "dated only to a year"), (off[UNDATED], "undated"))
        if n
    ]

    left = 2 * _PAD + line + max(_size(f"{t:,}", font)[0] for t in ticks) + _TICK + 2
    top = 2 * _PAD + _size(title, title_font)[1]
    bottom = top + _PLOT_HEIGHT
    caption_top = bottom + _TICK + 4 + line + _PAD
    note_top = caption_top + line + 6
    row = max(line, _SWATCH) + 6
    rows = max(1, _PLOT_HEIGHT // row)
    column = _SWATCH + 6 + max((_size(lang, font)[0] for lang in languages), default=0) + _PAD
    legend_left = left + plot_width + 2 * _PAD
    columns = -(-len(languages) // rows)
    height = (note_top + line if notes else caption_top + line) + _PAD
    image = Image.new("RGB", (legend_left + columns * column + _PAD, height), _BACKGROUND)
    draw = ImageDraw.Draw(image)

    scale = _PLOT_HEIGHT / ticks[-1]
    for tick in ticks:
        y = bottom - round(tick * scale)
        draw.line((left, y, left + plot_width - 1, y), fill=_GRID)
        draw.line((left - _TICK - 1, y, left - 1, y), fill=_INK)
        _text(draw, (left - _TICK - 3, y), f"{tick:,}", font, (1, 0.5))
    colours = palette(len(languages))
    tops = np.cumsum(bars, axis=1)
    for bar in np.flatnonzero(tops[:, -1]).tolist() if len(languages) else []:
        x0 = left + round(offset + bar * slot)
        x1 = max(x0, left + round(offset + (bar + 1) * slot) - gap - 1)
        below = bottom
        for j, colour in enumerate(colours):
            height_at = bottom - round(int(tops[bar, j]) * scale)
            if height_at < below:
                draw.rectangle((x0, height_at, x1, below - 1), fill=colour)
                below = height_at
    draw.line((left - 1, top, left - 1, bottom), fill=_INK)
    draw.line((left - 1, bottom, left + plot_width - 1, bottom), fill=_INK)
    if axis is None:
        empty = "no articles" if not notes else "no article dated to a month"
        _text(draw, (left + plot_width / 2, top + _PLOT_HEIGHT / 2), empty, font, (0.5, 0.5))

    for x, label in labels:
        at = left + round(offset + x)
        draw.line((at, bottom, at, bottom + _TICK), fill=_INK)
        _text(draw, (at, bottom + _TICK + 3), label, font, (0.5, 0))
    _text(draw, (left + plot_width / 2, _PAD), title, title_font, (0.5, 0))
    caption = "month" if axis is None or axis.width == 1 else f"year (a bar per {axis.unit})"
    _text(draw, (left + plot_width / 2, caption_top), caption, font, (0.5, 0))
    if notes:
        note = "not shown: " + ", ".join(notes)
        _text(draw, (left + plot_width / 2, note_top), note, font, (0.5, 0))
    mask = _turned("articles", font)
    draw.bitmap((_PAD, top + (_PLOT_HEIGHT - mask.height) // 2), mask, fill=_INK)

    for i, (language, colour) in enumerate(zip(languages, colours, strict=True)):
        x, y = legend_left + (i // rows) * column, top + (i % rows) * row
        draw.rectangle((x, y, x + _SWATCH - 1, y + _SWATCH - 1), fill=colour)
        _text(draw, (x + _SWATCH + 6, y + _SWATCH / 2), language, font, (0, 0.5))
    return image


def _y_ticks(highest: int) -> list[int]:
    """Ticks from 0 up to at least `highest`, a round step apart (1, 2, 5, 10, 20, ...)."""
    step = 1
    while highest > 6 * step:
        step = step * 5 // 2 if str(step).startswith("2") else step * 2
    return list(range(0, max(-(-highest // step), 1) * step + 1, step))


@cache
def _font(size: int) -> _Font:
    """Pillow's own font (no system font is looked up), so every machine draws the same."""
    return ImageFont.load_default(size)


def _size(text: str, font: _Font) -> tuple[int, int]:
    left, top, right, bottom = font.getbbox(text)
    return int(right - left), int(bottom - top)


def _text(
    draw: ImageDraw.ImageDraw,
    at: tuple[float, float],
    text: str,
    font: _Font,
    anchor: tuple[float, float],
    fill: tuple[int, int, int] | int = _INK,
) -> None:
    """Draws `text` with the point `anchor` of its box (0 to 1 across, 0 to 1 down) at `at`."""
    left, top, right, bottom = font.getbbox(text)
    x = at[0] - left - anchor[0] * (right - left)
    y = at[1] - top - anchor[1] * (bottom - top)
    draw.text((round(x), round(y)), text, font=font, fill=fill)


def _turned(text: str, font: _Font) -> Image.Image:
    """A mask of `text` turned a quarter to read bottom to top, for month labels and the y axis."""
    mask = Image.new("L", _size(text, font))
    _text(ImageDraw.Draw(mask), (0, 0), text, font, (0, 0), fill=255)
    return mask.transpose(Image.Transpose.ROTATE_90)
