"""Timing for the micro-benchmarks (bench.signals, bench.normalize)."""

from __future__ import annotations

import time
from collections.abc import Callable


def per_article(function: Callable[[], object], articles: int, repeat: int = 3) -> float:
    """CPU microseconds per article of `function` (which handles `articles` of them), the best of
    `repeat` runs: CPU time, the best of several, is what a shared machine measures steadily."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best / articles * 1e6
