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

REPEAT_SECONDS = 0.05  # after the limit, the signal comes again this often until the block ends


class TimeLimitExceeded(BaseException):
    """A BaseException, as KeyboardInterrupt is: trafilatura catches Exception in places, and a
    limit it swallowed there would let the page run on unlimited."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeLimitExceeded in the block when it runs longer than `seconds`.

    Only the main thread receives signals: elsewhere (a thread pool) the block runs unlimited,
    which is why workers call this from their main thread (processes and Ray tasks both do).
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    ended = False

    def expire(signum: int, frame: FrameType | None) -> None:
        if not ended:  # a signal that lands as the block ends finds nothing left to stop
            raise TimeLimitExceeded(f"over {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    # Repeated after the limit: a bare `except:` in library code may swallow one signal still.
    signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT_SECONDS)
    try:
        yield
    finally:
        ended = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
