"""Run a command as a child subreaper, so that every process of its tree is waited for.

    python bench/reap.py [--own-group] -- COMMAND [ARGS...]

CPU time from wait4 (getrusage(RUSAGE_CHILDREN), /usr/bin/time) counts only processes that were
waited for. datatrove's LocalPipelineExecutor starts its tasks from a multiprocessing forkserver
that its main process never waits for (the forkserver exits on its own after the main process),
so their CPU would be lost. Here orphaned descendants are reparented to this process
(PR_SET_CHILD_SUBREAPER) and reaped by it, and their usage reaches whoever waits for this one.
It exits when the last of them has ended, with the command's exit code (128+N if a signal N
ended it). `--own-group` puts the command in a process group of its own (its pid), which the
bench kills with SIGKILL while this process stays to reap what is left. Linux only; stdlib only.
"""

import contextlib
import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36


def main() -> int:
    argv = sys.argv[1:]
    own_group = argv[:1] == ["--own-group"]
    argv = argv[1:] if own_group else argv
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.exit(__doc__)
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")
    child = os.fork()
    if child == 0:
        try:
            if own_group:
                os.setpgid(0, 0)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    if own_group:  # in both processes, so the group exists when either returns
        # OSError: the child has already exec'd (having set its group itself) or ended
        with contextlib.suppress(OSError):
            os.setpgid(child, child)
    code = 1
    while True:  # every descendant that ends up here, until none is left
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return code
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            code = code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
