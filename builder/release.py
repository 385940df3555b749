"""Atomic releases: build in a sibling staging folder, then exchange it with the old release.

A build that crashes or is killed leaves the previous release where it was. Every folder this
module creates next to the release ('.<name>.building-<pid>', '.<name>.previous') carries a
marker file, and clean-up removes only marked folders, so a user's folder that merely has such a
name is never touched. A lock file next to the release folder keeps two builds from writing it
at once. A folder is replaced only when it is empty or holds a manifest Broadsheet wrote.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from builder.errors import STOP_SIGNALS, InputError, Interrupted, OutputError
from builder.layout import MANIFEST_FILE
from builder.processes import process_exists
from builder.writers.manifest import is_broadsheet_manifest

MARKER_FILE = ".broadsheet-staging"
_MARKER_TEXT = "Made by Broadsheet next to a release folder; the next build removes it.\n"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024  # a bigger manifest.json is not one of ours

_HINTS = {
    errno.ENOSPC: "free some space or choose an --out on another disk",
    errno.EDQUOT: "free some space or choose an --out on another disk",
    errno.EFBIG: "choose an --out on a file system that allows bigger files",
    errno.EROFS: "choose an --out in a writable folder",
    errno.EACCES: "choose an --out in a folder you may write",
    errno.EPERM: "choose an --out in a folder you may write",
    errno.EBUSY: "--out is a mount point; use a folder inside it",
    errno.EXDEV: "--out is a mount point; use a folder inside it",
    errno.EEXIST: "a file or folder that is not Broadsheet's is in the way; move it",
    errno.ENOTEMPTY: "a file or folder that is not Broadsheet's is in the way; move it",
}


def output_error(out: Path, exc: OSError) -> OutputError:
    """One line for an OS failure while writing or replacing `out`: what, where, what to do."""
    where = f" ({exc.filename})" if exc.filename else ""
    hint = _HINTS.get(exc.errno or 0, "check the folder and try again")
    return OutputError(
        f"{out}: cannot write the release: {exc.strerror or exc}{where}; the previous release "
        f"was left in place: {hint}"
    )


def check_target(raw: Path | None, out: Path) -> Path:
    """The resolved release folder, refusing any `out` whose replacement could destroy input or
    other files. `raw` is the local input folder (None for an input that is not local)."""
    out_r = out.resolve()
    raw_r = raw.resolve() if raw is not None else None
    if raw_r is not None and (out_r == raw_r or out_r in raw_r.parents or raw_r in out_r.parents):
        raise InputError(
            f"{out}: the release folder overlaps the input folder {raw}; choose an --out outside it"
        )
    try:
        if out_r.exists() and not out_r.is_dir():
            raise InputError(f"{out}: exists and is not a folder; choose another --out")
        if os.path.ismount(out_r):
            raise OutputError(
                f"{out}: is a mount point, which a build cannot replace (it renames the release "
                f"folder); use a folder inside it, e.g. --out {out / 'dist'}"
            )
        if out_r.is_dir() and any(out_r.iterdir()) and not is_release(out_r):
            raise InputError(
                f"{out}: a non-empty folder that is not a Broadsheet release (no {MANIFEST_FILE} "
                "written by Broadsheet); refusing to replace it: choose another --out"
            )
    except OSError as exc:
        if not _about_output(exc, out):
            raise
        raise output_error(out, exc) from exc
    return out_r


def is_release(folder: Path) -> bool:
    """Whether `folder` holds a manifest Broadsheet wrote; only a regular file of sane size is read."""
    try:
        fd = os.open(folder / MANIFEST_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    with open(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MANIFEST_BYTES:
            return False
        try:
            return is_broadsheet_manifest(json.loads(f.read()))
        except (ValueError, RecursionError):
            return False


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces `out`, on any exception it is removed.

    OS failures (full disk, read-only folder, mount point) become one OutputError line.
    """
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with _locked(out):
            _clean_stale(out)
            stage = out.parent / f".{out.name}.building-{os.getpid()}"
            stage.mkdir()  # fails, rather than reuse it, when the name is taken by a foreign folder
            try:
                _mark(stage)
                yield stage
                with _stops_deferred() as stops:  # a stop now would leave the swap half done
                    (stage / MARKER_FILE).unlink()
                    swap_in(stage, out)
            except BaseException:
                _remove(stage)
                raise
            if stops:  # asked to stop during the swap: it is done, say so
                raise Interrupted(stops[0], released=True)
    except OSError as exc:
        if not _about_output(exc, out):
            raise
        raise output_error(out, exc) from exc


# Failures of writing itself, wherever the writer was: the disk, not the data, is at fault.
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


def _about_output(exc: OSError, out: Path) -> bool:
    """Whether an OS failure concerns the release being written (else it is not ours to reword)."""
    if exc.errno in _WRITE_ERRNOS:
        return True
    return any(
        name is not None and os.fsdecode(name).startswith(str(out.parent))
        for name in (exc.filename, exc.filename2)
    )


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold `.<name>.lock` next to `out` for the whole build: one build per release folder."""
    fd = os.open(out.parent / f".{out.name}.lock", os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    with open(fd, "w"):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise InputError(
                f"{out}: another build is writing this release folder; wait for it to finish"
            ) from exc
        yield


def _clean_stale(out: Path) -> None:
    """Remove the marked folders killed builds left behind (we hold the lock: no build is running)."""
    building = f".{out.name}.building-"
    for leftover in out.parent.iterdir():
        pid = leftover.name.removeprefix(building)
        if (
            leftover.name.startswith(building)
            and pid.isdigit()
            and not _alive(int(pid))
            and _is_marked(leftover)
        ):
            _remove(leftover)
    previous = _previous(out)
    if _is_marked(previous):
        if out.exists():
            _remove(previous)
        else:  # a fallback swap was cut between its two renames: put the old release back
            previous.rename(out)
            (out / MARKER_FILE).unlink()


def swap_in(stage: Path, out: Path) -> None:
    """Put `stage` where `out` was: one atomic exchange where the OS offers it, else two renames.

    Either `out` is the new release when this returns, or it raises with `out` as it was.
    """
    if not out.exists():
        stage.rename(out)
        return
    if _exchange(stage, out):
        old = stage
    else:
        old = _previous(out)
        if os.path.lexists(old):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(old))
        out.rename(old)
        try:
            stage.rename(out)
        except BaseException:
            old.rename(out)
            raise
    with contextlib.suppress(OSError):  # marked, a removal cut short is finished by the next build
        _mark(old)
    _remove(old)


def _previous(out: Path) -> Path:
    return out.parent / f".{out.name}.previous"


def _mark(folder: Path) -> None:
    (folder / MARKER_FILE).write_text(_MARKER_TEXT, encoding="utf-8")


def _is_marked(folder: Path) -> bool:
    """A real folder (not a link to one) holding our marker file with our text."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return False
        fd = os.open(folder / MARKER_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    with open(fd, "rb") as f:
        return stat.S_ISREG(os.fstat(fd).st_mode) and f.read(len(_MARKER_TEXT) + 1) == (
            _MARKER_TEXT.encode()
        )


def _remove(folder: Path) -> None:
    """Delete a folder of ours, its marker last, so a removal cut short stays recognisable."""
    with contextlib.suppress(OSError):
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            elif child.name != MARKER_FILE:
                child.unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether another process with this id exists (our own id is a leftover of a dead build)."""
    return pid != os.getpid() and process_exists(pid)
    return True


@contextlib.contextmanager
def _stops_deferred() -> Iterator[list[int]]:
    """Hold stop signals over a few renames: one that arrives meanwhile is noted, not acted on,
    and the caller raises it once the swap is done. Python runs signal handlers in the main
    thread whichever thread the kernel delivers to, so blocking the signals in this thread alone
    (pthread_sigmask) would not hold them: the handlers are swapped for ones that note instead."""
    stops: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield stops
        return
    previous = {
        s: signal.signal(s, lambda signum, _frame: stops.append(signum)) for s in STOP_SIGNALS
    }
    try:
        yield stops
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux renameat2(RENAME_EXCHANGE); False where unsupported."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
