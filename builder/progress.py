"""Progress for long builds: a live line on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(
        self, total_bytes: int, stream: TextIO | None = None, interval: float | None = None
    ):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval if interval is not None else (0.2 if self.tty else 5.0)
        self.total_bytes = total_bytes
        self.bytes = self.records = self.rejects = 0
        self.start = self._last = time.monotonic()

    def update(self, size: int, records: int, rejects: int) -> None:
        """A unit of work is done: `size` bytes of input, holding `records` records."""
        self.bytes += size
        self.records += records
        self.rejects += rejects
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._emit()

    def _line(self) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        return (
            f"read {_size(self.bytes)} of {_size(self.total_bytes)}  "
            f"records {self.records:,}  "
            f"{self.records / elapsed:,.0f} rec/s  rejects {self.rejects:,}"
        )

    def _emit(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K" + self._line())
        else:
            self.stream.write(self._line() + "\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        """A phase change ("deduplicating", "writing shards"), on its own line, with the time
        since the build started."""
        if self.tty:
            self.stream.write("\r\x1b[2K")
        self.stream.write(f"{message} (at {time.monotonic() - self.start:,.1f} s)\n")
        self.stream.flush()

    def finish(self) -> None:
        self._emit()
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} B"
