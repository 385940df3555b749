"""The worker pool, kept behind one small interface so a distributed pool can replace it."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from builder.errors import BroadsheetError

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class LocalPool:
    """Runs tasks in this process (workers=1) or in worker processes started with 'spawn'.

    'spawn' because pyarrow's thread pools do not survive fork. Results come back in completion
    order; callers that need determinism sort them (every result carries its task's index).
    """

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalPool:
        if self.workers > 1:
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        return self

    def __exit__(self, *exc_info) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def imap_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self._executor is None:
            yield from map(fn, items)
            return
        try:
            yield from self._windowed(fn, items)
        except BrokenProcessPool:
            raise BroadsheetError(
                "a worker process died (killed, or out of memory); the previous release was left "
                "in place: re-run with --workers 1 to see which file fails"
            ) from None

    def _windowed(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        # Keep a bounded window of submitted tasks so millions of files do not all queue at once.
        window = self.workers * 4
        pending: set[Future] = set()
        for item in items:
            pending.add(self._executor.submit(fn, item))
            if len(pending) >= window:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (f.result() for f in done)
