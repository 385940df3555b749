"""The local executor: worker processes on this machine (the default, all cores)."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import resource_tracker
from typing import TypeVar

from builder.errors import STOP_SIGNALS, BroadsheetError

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


IN_FLIGHT_PER_WORKER = 4  # tasks submitted ahead per worker: every core busy, a bounded queue
PR_SET_PDEATHSIG = 1  # Linux prctl: a signal the kernel sends this process when its parent dies
WATCH_PARENT_SECONDS = 1.0


def _worker_init(parent: int) -> None:
    """Leave stop signals to the build (no worker tracebacks on Ctrl-C) and die with the build."""
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    """The fallback where there is no PDEATHSIG, and for a parent that died before prctl ran."""
    while os.getppid() == parent:
        time.sleep(WATCH_PARENT_SECONDS)
    os._exit(1)


@contextlib.contextmanager
def _stop_signals_blocked() -> Iterator[None]:
    """Block stop signals while a worker may be started: it inherits the mask, so a Ctrl-C during
    its start-up cannot interrupt it; here the signals wait, and arrive once unblocked."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class LocalExecutor:
    """Runs tasks in this process (workers=1) or in worker processes started with 'spawn'.

    'spawn' because pyarrow's thread pools do not survive fork. Results come back in completion
    order; callers that need determinism sort them (every result carries its task's index).
    Workers ignore stop signals and die with the build (even a SIGKILLed one); when the pool is
    left by an exception (an error, Ctrl-C, SIGTERM) they are killed rather than waited for.
    """

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        if self.workers > 1:
            # Its helper process (the resource tracker) starts here and keeps the blocked mask:
            # a SIGHUP to the whole group must not kill it and print its tracebacks.
            with _stop_signals_blocked():
                self._executor = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_worker_init,
                    initargs=(os.getpid(),),
                )
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        if self._executor is None:
            return
        if exc_type is not None:
            # No public API kills a ProcessPoolExecutor's workers before Python 3.14.
            for process in list((self._executor._processes or {}).values()):
                process.kill()
        self._executor.shutdown(wait=True, cancel_futures=True)
        _stop_resource_tracker()

    def imap_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self._executor is None:
            yield from map(fn, items)
            return
        try:
            yield from self._windowed(self._executor, fn, items)
        except BrokenProcessPool as exc:
            raise BroadsheetError(
                "a worker process died (killed, or out of memory); the previous release was left "
                "in place: re-run with --workers 1 to see which file fails"
            ) from exc

    def _windowed(
        self, executor: ProcessPoolExecutor, fn: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[R]:
        # Keep a bounded window of submitted tasks so millions of files do not all queue at once.
        window = self.workers * IN_FLIGHT_PER_WORKER
        pending: set[Future] = set()
        for item in items:
            with _stop_signals_blocked():  # submit starts the workers, one at a time
                pending.add(executor.submit(fn, item))
            if len(pending) >= window:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (f.result() for f in done)


def _stop_resource_tracker() -> None:
    """Stop and reap the helper process 'spawn' starts (multiprocessing's resource tracker): left
    to exit on its own after the build, it outlives it in the build's process group, and becomes
    a zombie where nobody reaps orphans, so a supervisor waiting for the group would wait on it.
    Python has no public API for this (3.11 to 3.14): `_stop` closes its pipe and waits for it;
    it starts again when a later pool needs it."""
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    stop = getattr(tracker, "_stop", None)
    if stop is not None:
        stop()
