"""Atomic releases: build in a sibling staging folder, then swap it in with renames.

A build that crashes or is killed leaves the previous release where it was; its staging
folder ('.<name>.building-<pid>') is cleaned up by the next build once that pid is gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from builder.errors import InputError
from builder.layout import MANIFEST_FILE


def check_target(raw: Path, out: Path) -> Path:
    """The resolved release folder, refusing any `out` whose replacement could destroy input or other files."""
    raw_r, out_r = raw.resolve(), out.resolve()
    if out_r == raw_r or out_r in raw_r.parents or raw_r in out_r.parents:
        raise InputError(
            f"{out}: the release folder overlaps the input folder {raw}; choose an --out outside it"
        )
    if out_r.exists() and not out_r.is_dir():
        raise InputError(f"{out}: exists and is not a folder; choose another --out")
    if out_r.is_dir() and any(out_r.iterdir()) and not (out_r / MANIFEST_FILE).is_file():
        raise InputError(
            f"{out}: a non-empty folder that is not a Broadsheet release (no {MANIFEST_FILE}); refusing to replace it"
        )
    return out_r


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(out: Path) -> None:
    for leftover in out.parent.glob(f".{out.name}.*-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)
    restore = out.parent / f".{out.name}.previous"
    if restore.exists() and not out.exists():  # a swap was cut between its two renames
        restore.rename(out)


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces `out`, on any exception it is removed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(out)
    stage = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    swap_in(stage, out)


def swap_in(stage: Path, out: Path) -> None:
    previous = out.parent / f".{out.name}.previous"
    if out.exists():
        shutil.rmtree(previous, ignore_errors=True)
        out.rename(previous)
    stage.rename(out)
    shutil.rmtree(previous, ignore_errors=True)
