"""Stopping a build with 2 workers: Ctrl-C, SIGTERM, SIGKILL of the build or of a worker.

Each build runs as `python -m builder build` in its own session, is signalled mid-build, and
afterwards: the previous release is byte-identical, nothing is left next to it, and no process
of the session is alive. Whatever happens, the fixture kills the session's processes at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from builder import release
from builder.cli import main
from tests.support import ENGLISH, ROOT, SEED, cli, jsonl, make_config, rows, write
from tests.test_release_safety import siblings, tree

FILES, RECORDS = (
    60,
    100,
)  # 6,000 records: seconds of work for 2 workers, so a signal lands mid-build
TIMEOUT = 120


def session_processes(sid: int, zombies: bool = False) -> dict[int, str]:
    """The processes of a session, live ones (and zombies, if asked): pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended meanwhile
            continue
        state, _ppid, _pgrp, session = stat[stat.rindex(")") + 2 :].split()[:4]
        if int(session) == sid and (zombies or state != "Z"):
            found[int(entry.name)] = command
    return found


def workers_of(sid: int) -> list[int]:
    return [pid for pid, command in session_processes(sid).items() if "spawn_main" in command]


def eventually(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.05)


class Build:
    """A `python -m builder build --workers 2` in its own session, stopped mid-build."""

    def __init__(self, project: Path):
        self.project = project
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "builder", "build", "--workers", "2"],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        self.stage = project / f".dist.building-{self.pid}"

    def wait_until_busy(self) -> None:
        """Until both workers run and the first files' parts are written."""
        eventually(
            lambda: (
                self.proc.poll() is not None
                or (len(workers_of(self.pid)) == 2 and any(self.stage.glob(".work/parts/*/*/*")))
            ),
            "the build to get busy",
            TIMEOUT,
        )
        assert self.proc.poll() is None, f"the build ended before the signal: {self.finish()}"

    def finish(self) -> tuple[int, str]:
        _, stderr = self.proc.communicate(timeout=TIMEOUT)
        return self.proc.returncode, stderr

    def kill_all(self) -> None:
        for pid in session_processes(self.pid):
            os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(timeout=TIMEOUT)


@pytest.fixture
def project(tmp_path):
    """A release of one article, and 6,000 more records waiting in raw/, 60 work units."""
    config = make_config(tmp_path)
    config.write_text(config.read_text() + "\n[run]\nunit_bytes = 65536\n")  # a unit per file
    write(tmp_path / "raw" / SEED.name, SEED.read_bytes())
    assert cli("build", "--workers", "1", cwd=tmp_path).returncode == 0
    for f in range(FILES):
        write(
            tmp_path / "raw" / "bulk" / f"{f:03d}.jsonl",
            jsonl(
                [
                    {
                        "text": f"{ENGLISH} Story {f}-{r}.",
                        "url": f"https://example.org/{f}/{r}",
                        "date_publish": "2021-03-01",
                    }
                    for r in range(RECORDS)
                ]
            ),
        )
    return tmp_path


@pytest.fixture
def building(project):
    builds: list[Build] = []

    def start() -> Build:
        builds.append(Build(project))
        return builds[-1]

    yield start
    for build in builds:
        build.kill_all()


def assert_nothing_changed_or_left(project: Path, before: dict, build: Build) -> None:
    assert tree(project / "dist") == before, "the previous release changed"
    assert siblings(project / "dist") == {"raw", "dist", "dataset.toml"}, "leftovers"
    eventually(lambda: not session_processes(build.pid), "the build's processes to end")


def only_line(stderr: str) -> str:
    """The one line besides progress; there must be exactly one, and no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if not line.startswith("read ")]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    "signum, to_group",
    [
        (signal.SIGINT, True),  # Ctrl-C: the terminal signals the whole process group
        (signal.SIGTERM, False),  # kill PID
        (signal.SIGTERM, True),  # a service manager stopping the group
        (signal.SIGHUP, True),  # the terminal closed
    ],
)
def test_a_stop_signal_cleans_up_and_says_so_in_one_line(project, building, signum, to_group):
    before = tree(project / "dist")
    build = building()
    build.wait_until_busy()
    (os.killpg if to_group else os.kill)(build.pid, signum)
    code, stderr = build.finish()
    assert code == 128 + signum, stderr
    name = signal.Signals(signum).name
    assert only_line(stderr) == f"interrupted by {name}; the previous release was left in place"
    assert_nothing_changed_or_left(project, before, build)


def test_a_killed_build_takes_its_workers_with_it(project, building):
    before = tree(project / "dist")
    build = building()
    build.wait_until_busy()
    workers = workers_of(build.pid)
    os.kill(build.pid, signal.SIGKILL)
    build.finish()
    eventually(lambda: not set(workers) & set(session_processes(build.pid)), "workers to die", 10)
    assert release._is_marked(build.stage)  # what it left is recognisably ours ...
    release._clean_stale(project / "dist")  # ... so the next build removes it
    assert_nothing_changed_or_left(project, before, build)


def test_a_killed_worker_is_one_error_line(project, building):
    before = tree(project / "dist")
    build = building()
    build.wait_until_busy()
    os.kill(workers_of(build.pid)[0], signal.SIGKILL)
    code, stderr = build.finish()
    assert code == 1, stderr
    assert only_line(stderr).startswith("error: a worker process died")
    assert_nothing_changed_or_left(project, before, build)


def test_the_orphan_watchdog_ends_a_worker_whose_build_died():
    """The fallback for systems without PDEATHSIG: a worker notices its parent is gone."""
    script = (
        "import os\n"
        "from builder.executors import local as pool\n"
        "pool.WATCH_PARENT_SECONDS = 0.05\n"
        "parent = os.getpid()\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    pool._exit_when_orphaned(parent)\n"
        "print(child, flush=True)\n"
        "os._exit(0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    orphan = int(result.stdout)
    try:
        eventually(lambda: not alive(orphan), "the orphan to exit", 10)
    finally:
        if alive(orphan):
            os.kill(orphan, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_a_stop_during_the_swap_comes_after_it_and_says_the_new_release_is_in(
    project, monkeypatch, capsys
):
    """SIGTERM while the release is being swapped in is not lost: it is acted on once the swap is
    done, exit 128+N, and the line says the new release is in place."""
    real_swap = release.swap_in

    def swap_with_a_stop(stage, out):
        os.kill(os.getpid(), signal.SIGTERM)  # lands in the middle of the swap
        real_swap(stage, out)

    monkeypatch.setattr(release, "swap_in", swap_with_a_stop)
    monkeypatch.chdir(project)
    code = main(["build", "--workers", "1", "--no-cache"])
    assert code == 128 + signal.SIGTERM
    assert capsys.readouterr().err.splitlines()[-1] == (
        "interrupted by SIGTERM; the new release is in place in dist"
    )
    assert len(rows(project / "dist")) > 1  # the bulk records were published: the swap was done


def test_no_process_of_a_finished_build_outlives_it(project):
    """A supervisor waiting for the build's process group waits for the build only: every child
    (the workers, multiprocessing's resource tracker) is reaped before it exits."""
    build = subprocess.Popen(
        [sys.executable, "-m", "builder", "build", "--workers", "2", "--no-cache"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert build.wait(timeout=TIMEOUT) == 0
        assert session_processes(build.pid, zombies=True) == {}  # zombies included
    finally:
        for pid in session_processes(build.pid, zombies=True):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_ctrl_c_pressed_twice_is_still_one_line(project, building):
    before = tree(project / "dist")
    build = building()
    build.wait_until_busy()
    os.killpg(build.pid, signal.SIGINT)
    time.sleep(0.05)
    os.killpg(build.pid, signal.SIGINT)  # a second press while the first one cleans up
    code, stderr = build.finish()
    assert code == 128 + signal.SIGINT, stderr
    assert only_line(stderr) == "interrupted by SIGINT; the previous release was left in place"
    assert_nothing_changed_or_left(project, before, build)
