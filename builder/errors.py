"""Errors meant for the user: the CLI prints their message as one line and exits non-zero."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


class BroadsheetError(Exception):
    """A failure the user can fix; the message says what happened and what to do."""

    exit_code = 1


class ConfigError(BroadsheetError):
    exit_code = 2


class InputError(BroadsheetError):
    exit_code = 3


class StrictModeError(BroadsheetError):
    exit_code = 4


class InputChangedError(BroadsheetError):
    """An input file kept changing while it was read, each time it was read again."""

    exit_code = 7


class OutputError(BroadsheetError):
    """The release folder cannot be written or replaced: a full disk, a read-only folder, a mount point."""

    exit_code = 6


class Interrupted(BaseException):
    """A signal (SIGINT, SIGTERM, SIGHUP) stopped the program; a BaseException, like KeyboardInterrupt,
    so that only clean-up code (`finally`, `except BaseException: ...; raise`) sees it."""

    def __init__(self, signum: int, released: bool = False):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.released = released  # it came during the swap: the new release is in place


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _raise_interrupted(signum: int, _frame: object) -> None:
    """The first stop signal stops the program; any after it (a second Ctrl-C, the terminal
    signalling the whole group) is ignored, so the clean-up it started finishes and says so in
    one line, with no traceback from a signal landing in the middle of it."""
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    raise Interrupted(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGINT, SIGTERM and SIGHUP into `Interrupted`, so each cleans up as Ctrl-C does.
    After a stop the signals stay ignored: the program is ending."""
    previous = {s: signal.signal(s, _raise_interrupted) for s in STOP_SIGNALS}
    stopped = False
    try:
        yield
    except Interrupted:
        stopped = True
        raise
    finally:
        if not stopped:
            for s, handler in previous.items():
                signal.signal(s, handler)
