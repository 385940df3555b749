"""The lines of a column of texts as the quality signals measure them: the text split at line
feeds, each line stripped of white space at both ends (`str.strip`), blank lines left out."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from builder.text.chars import LINE_FEED, Chars, Kind, Spans


def lines_of(chars: Chars) -> Spans:
    """The non-blank lines of the texts, stripped, in text order."""
    feeds = np.flatnonzero(chars.codes == LINE_FEED)  # every text ends with one
    first = np.searchsorted(feeds, chars.starts)
    starts, ends = np.concatenate(([0], feeds[:-1] + 1)), feeds

    def space(at: np.ndarray) -> np.ndarray:
        return (chars.kinds[at] & np.uint8(Kind.SPACE)) != 0

    starts = skip(space, starts, ends, 1)
    ends = skip(space, ends - 1, starts - 1, -1) + 1
    kept = starts < ends
    before = np.concatenate(([0], np.cumsum(kept)))
    return Spans(starts[kept], ends[kept], before[first])


def skip(
    inside: Callable[[np.ndarray], np.ndarray],
    positions: np.ndarray,
    limits: np.ndarray,
    step: int,
) -> np.ndarray:
    """From each position, moving by `step` (1 or -1) while `inside` holds, the first position
    where it does not, or the limit (excluded from the walk) if none before it.

    Most runs are empty or a byte or two, so the first round looks at one byte per position and
    each next round at a window sixteen times longer, for the positions not done yet: a run
    costs about its length, never a round per byte."""
    out = positions.copy()
    todo = np.arange(len(out))
    window = 1
    while len(todo):
        at = out[todo, None] + step * np.arange(window)
        within = (at - limits[todo, None]) * step < 0
        held = np.zeros(at.shape, bool)
        held[within] = inside(at[within])
        stopped = (~held).any(axis=1)
        out[todo] += step * np.where(stopped, (~held).argmax(axis=1), window)
        todo = todo[~stopped]
        window *= 16
    return out
