"""Whether a process still runs: how a lock or an unfinished cache entry left by a build is told
from one a build is still working on."""

from __future__ import annotations

import os


def process_exists(pid: int) -> bool:
    """Whether a process with this id exists (one of another user's counts: it is not ours to
    clear)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
