"""Release statistics for the card: articles per language and month, length percentiles, a chart."""

from __future__ import annotations

import colorsys
from collections import defaultdict
from functools import cache
from pathlib import Path

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


CHART_TITLE = "Articles per month and language"
_FONT_SIZE, _TITLE_SIZE = 12, 15
_PAD, _TICK, _SWATCH = 10, 4, 10
_PLOT_HEIGHT, _MIN_PLOT_WIDTH, _TARGET_PLOT_WIDTH, _MAX_SLOT = 280, 480, 1200, 40
_INK, _GRID, _BACKGROUND = (40, 40, 40), (225, 225, 225), (255, 255, 255)
_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def write_chart(stats: dict, path: Path) -> None:
    """Stacked bars of articles per month and language as a PNG, drawn directly with Pillow.

    Matplotlib took seconds on hundreds of months (and most of a second to import); this takes
    milliseconds, and the same stats always give the same bytes: the PNG has no time or text chunk.
    """
    months = sorted(stats["by_month"], key=lambda m: (m == UNDATED, m))
    chart = _draw_chart(months, list(stats["by_language"]), stats["by_month"])
    chart.save(path, format="PNG")


def palette(n: int) -> list[tuple[int, int, int]]:
    """`n` colours that stay apart for any `n`: hues a golden angle apart, lightness in three steps."""
    colours = []
    for i in range(n):
        hue = (0.6 + i * 0.381966) % 1.0
        r, g, b = colorsys.hls_to_rgb(hue, (0.45, 0.68, 0.3)[i % 3], 0.65)
        colours.append((round(r * 255), round(g * 255), round(b * 255)))
    return colours


def _draw_chart(months: list[str], languages: list[str], counts: dict) -> Image.Image:
    font, title_font = _font(_FONT_SIZE), _font(_TITLE_SIZE)
    line = _size("Ag0", font)[1]
    slot = max(1, min(_MAX_SLOT, _TARGET_PLOT_WIDTH // max(len(months), 1)))
    gap = slot // 5
    plot_width = max(_MIN_PLOT_WIDTH, len(months) * slot)
    offset = (plot_width - len(months) * slot) // 2
    ticks = _y_ticks(max((sum(counts[m].values()) for m in months), default=0))
    step = _label_step(slot, line + 3)
    month_labels = [
        (offset + i * slot + slot // 2, m) for i, m in enumerate(months) if i % step == 0
    ]
    label_length = max((_size(m, font)[0] for _, m in month_labels), default=0)

    left = 2 * _PAD + line + max(_size(f"{t:,}", font)[0] for t in ticks) + _TICK + 2
    top = 2 * _PAD + _size(CHART_TITLE, title_font)[1]
    bottom = top + _PLOT_HEIGHT
    x_label_top = bottom + _TICK + 2 + label_length + _PAD
    row = max(line, _SWATCH) + 6
    rows = max(1, _PLOT_HEIGHT // row)
    column = _SWATCH + 6 + max((_size(lang, font)[0] for lang in languages), default=0) + _PAD
    legend_left = left + plot_width + 2 * _PAD
    columns = -(-len(languages) // rows)
    image = Image.new(
        "RGB", (legend_left + columns * column + _PAD, x_label_top + line + _PAD), _BACKGROUND
    )
    draw = ImageDraw.Draw(image)

    scale = _PLOT_HEIGHT / ticks[-1]
    for tick in ticks:
        y = bottom - round(tick * scale)
        draw.line((left, y, left + plot_width - 1, y), fill=_GRID)
        draw.line((left - _TICK - 1, y, left - 1, y), fill=_INK)
        _text(draw, (left - _TICK - 3, y), f"{tick:,}", font, (1, 0.5))
    colours = palette(len(languages))
    for i, month in enumerate(months):
        x = left + offset + i * slot + gap // 2
        below, y_below = 0, bottom
        for language, colour in zip(languages, colours, strict=True):
            below += counts[month].get(language, 0)
            y = bottom - round(below * scale)
            if y < y_below:
                draw.rectangle((x, y, x + slot - gap - 1, y_below - 1), fill=colour)
                y_below = y
    draw.line((left - 1, top, left - 1, bottom), fill=_INK)
    draw.line((left - 1, bottom, left + plot_width - 1, bottom), fill=_INK)
    if not months:
        _text(
            draw, (left + plot_width / 2, top + _PLOT_HEIGHT / 2), "no articles", font, (0.5, 0.5)
        )

    for x, month in month_labels:
        draw.line((left + x, bottom, left + x, bottom + _TICK), fill=_INK)
        mask = _turned(month, font)
        draw.bitmap((left + x - mask.width // 2, bottom + _TICK + 2), mask, fill=_INK)
    _text(draw, (left + plot_width / 2, _PAD), CHART_TITLE, title_font, (0.5, 0))
    _text(draw, (left + plot_width / 2, x_label_top), "month", font, (0.5, 0))
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


def _label_step(slot: int, needed: int) -> int:
    """Label every month, or every 2, 3, 4, 6, or a multiple of 12, so labels never overlap."""
    least = -(-needed // slot)
    return next((s for s in (1, 2, 3, 4, 6, 12) if s >= least), 12 * -(-least // 12))


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
