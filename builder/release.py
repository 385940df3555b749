"""Atomic releases: build in a sibling staging folder, then exchange it with the old release.

A build that crashes or is killed leaves the previous release where it was; its staging
folder ('.<name>.building-<pid>') is removed by the next build. A lock file next to the
release folder keeps two builds from writing it at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
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


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold `.<name>.lock` next to `out` for the whole build: one build per release folder."""
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"{out}: another build is writing this release folder; wait for it to finish"
            ) from None
        yield


def _clean_stale(out: Path) -> None:
    """Remove what killed builds left behind (safe: we hold the lock, so no build is running)."""
    for leftover in out.parent.glob(f".{out.name}.building-*"):
        if leftover.name.removeprefix(f".{out.name}.building-").isdigit():
            shutil.rmtree(leftover, ignore_errors=True)
    previous = out.parent / f".{out.name}.previous"
    if previous.exists() and not out.exists():  # a fallback swap was cut between its two renames
        previous.rename(out)
    shutil.rmtree(previous, ignore_errors=True)


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces `out`, on any exception it is removed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        _clean_stale(out)
        stage = out.parent / f".{out.name}.building-{os.getpid()}"
        stage.mkdir()
        try:
            yield stage
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        swap_in(stage, out)


def swap_in(stage: Path, out: Path) -> None:
    """Put `stage` where `out` was: one atomic exchange where the OS offers it, else two renames."""
    if not out.exists():
        stage.rename(out)
    elif _exchange(stage, out):
        shutil.rmtree(stage, ignore_errors=True)  # now holds the old release
    else:
        previous = out.parent / f".{out.name}.previous"
        out.rename(previous)
        stage.rename(out)
        shutil.rmtree(previous, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux renameat2(RENAME_EXCHANGE); False where unsupported."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
