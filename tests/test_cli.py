"""The command line as a user runs it: exit codes, one-line errors, summary, and kill-safety."""

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.support import ENGLISH, ROOT, SEED, cli, make_config, seed_text, shard_bytes, write


@pytest.fixture
def project(tmp_path):
    make_config(tmp_path)
    write(tmp_path / "raw" / SEED.name, SEED.read_bytes())
    return tmp_path


def test_build_prints_accounting_summary(project):
    result = cli("build", "--workers", "1", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "records read" in result.stdout and "check" in result.stdout and "ok" in result.stdout
    assert (
        "read 2.1 kB of 2.1 kB" in result.stderr
    )  # progress, as plain lines when not on a terminal
    assert (project / "dist" / "manifest.json").exists()


def one_line_error(result, code, *needles):
    assert result.returncode == code, (result.returncode, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and result.stderr.strip().endswith(errors[0]), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in errors[0]


def test_missing_config(project):
    one_line_error(cli("--config", "nope.toml", "build", cwd=project), 2, "nope.toml", "not found")


def test_invalid_config_names_the_key(project):
    text = (project / "dataset.toml").read_text().replace("min_words = 5", 'min_words = "many"')
    (project / "dataset.toml").write_text(text)
    one_line_error(cli("build", cwd=project), 2, "build.min_words")


def test_config_that_is_not_toml(project):
    (project / "dataset.toml").write_text("[dataset\n")
    one_line_error(cli("build", cwd=project), 2, "not valid TOML")


@pytest.mark.parametrize("raw", ["missing", "dataset.toml"])
def test_unreadable_input_folder(project, raw):
    one_line_error(cli("build", "--raw", raw, cwd=project), 3, raw)


@pytest.mark.parametrize("out", ["raw", ".", "raw/dist", "dataset.toml", "notes"])
def test_release_folder_may_not_clobber_input_or_other_files(project, out):
    write(project / "notes" / "keep.txt", "mine")
    one_line_error(cli("build", "--out", out, cwd=project), 3, out)
    assert (project / "raw").is_dir() and (project / "notes" / "keep.txt").read_text() == "mine"
    assert not list(project.glob(".*.building-*"))


def test_strict_exit_code(project):
    write(project / "raw" / "empty.txt", "")
    assert cli("build", cwd=project).returncode == 0  # rejects alone do not fail a build
    one_line_error(cli("build", "--strict", cwd=project), 4, "no_text")


def test_killed_build_leaves_previous_release_intact(project):
    assert cli("build", "--workers", "1", cwd=project).returncode == 0
    before = shard_bytes(project / "dist")
    manifest = (project / "dist" / "manifest.json").read_bytes()
    for i in range(600):
        write(
            project / "raw" / "bulk" / f"{i:04d}.txt",
            seed_text("2021-03", f"{ENGLISH} Article {i}."),
        )

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "builder", "build", "--workers", "1"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    staging = project / f".dist.building-{proc.pid}"
    deadline = time.monotonic() + 60
    while (
        not list(staging.glob(".work/parts/**/*.arrow"))
        and time.monotonic() < deadline
        and proc.poll() is None
    ):
        time.sleep(0.02)
    assert proc.poll() is None, "build finished before it could be interrupted; give it more input"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    assert shard_bytes(project / "dist") == before
    assert (project / "dist" / "manifest.json").read_bytes() == manifest
    assert staging.exists()  # the killed build's leftovers ...
    assert cli("build", "--workers", "1", cwd=project).returncode == 0
    assert not staging.exists()  # ... are cleaned by the next build
    assert (project / "dist" / "data" / "en" / "2021-03" / "0000.parquet").exists()
