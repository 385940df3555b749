"""A wall-clock limit on one page's extraction: trafilatura has none, and one pathological page
must not hang a worker. SIGALRM interrupts the Python code running over the limit; a single
C call (one lxml parse) finishes first, which bounds the overrun by the page-size limit.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class TimeLimitExceeded(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeLimitExceeded in the block when it runs longer than `seconds`.

    Only the main thread receives signals: elsewhere (a thread pool) the block runs unlimited,
    which is why workers call this from their main thread (processes and Ray tasks both do).
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeLimitExceeded(f"over {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
