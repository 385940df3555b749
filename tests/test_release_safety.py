"""What a build may replace or delete next to --out, and how it fails when --out cannot be written.

After every failure: the previous release is byte-identical, nothing is left next to it (only the
lock file, which persists), and the message is one line with its documented exit code.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from builder import release
from builder.config import load_config
from builder.errors import ConfigError, InputError, OutputError
from tests.support import ENGLISH, SEED, cli, jsonl, make_config, run_build, write
from tests.test_cli import one_line_error


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative path -> bytes); links and folders as markers."""
    state = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            state[rel] = b"-> " + os.fsencode(os.readlink(path))
        elif path.is_file():
            state[rel] = path.read_bytes()
        elif path.is_dir():
            state[rel + "/"] = b""
    return state


def siblings(out: Path) -> set[str]:
    """What lies next to the release folder, other than the persistent lock file and the build
    cache (both kept on purpose from one build to the next)."""
    return {p.name for p in out.parent.iterdir()} - {f".{out.name}.lock", f".{out.name}.cache"}


@pytest.fixture
def project(tmp_path):
    """A project folder with a config, one seed article in raw/, and a release built from it."""
    make_config(tmp_path)
    write(tmp_path / "raw" / SEED.name, SEED.read_bytes())
    result = cli("build", "--workers", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path


def assert_untouched(project: Path, before: dict, names: set[str]) -> None:
    assert tree(project / "dist") == before, "the previous release changed"
    assert siblings(project / "dist") == names, "something was left next to the release"


# Class 1: a folder is a release only when Broadsheet's marker says so.


@pytest.mark.parametrize(
    "manifest",
    [
        '{"name": "my-web-app", "start_url": "/"}',
        '{"generator": "broadsheet", "files": {}}',  # no manifest_format: not one of ours
        "not json",
        None,  # a FIFO named manifest.json must not hang the check
    ],
)
def test_a_folder_with_a_foreign_manifest_is_refused(tmp_path, manifest):
    make_config(tmp_path)
    write(tmp_path / "raw" / SEED.name, SEED.read_bytes())
    site = tmp_path / "site"
    write(site / "index.html", "<h1>my thesis</h1>")
    if manifest is None:
        os.mkfifo(site / "manifest.json")
    else:
        write(site / "manifest.json", manifest)
    before = tree(site)
    one_line_error(cli("build", "--out", "site", cwd=tmp_path, timeout=60), 3, "not a Broadsheet")
    assert tree(site) == before
    assert siblings(site) == {"raw", "site", "dataset.toml"}


def test_an_empty_existing_folder_becomes_the_release(tmp_path):
    make_config(tmp_path)
    write(tmp_path / "raw" / SEED.name, SEED.read_bytes())
    (tmp_path / "dist").mkdir()
    assert cli("build", cwd=tmp_path).returncode == 0
    assert (
        json.loads((tmp_path / "dist" / "manifest.json").read_text())["generator"] == "broadsheet"
    )


# Class 1: clean-up removes only what this program created and marked.


def marked(folder: Path) -> Path:
    write(folder / "data" / "x.parquet", b"left by a killed build")
    (folder / release.MARKER_FILE).write_text(release._MARKER_TEXT)
    return folder


def test_user_folders_named_like_ours_are_never_removed(project):
    out = project / "dist"
    mine = {
        ".dist.previous": "my backup",
        ".dist.building-123": "my notes",  # no marker: not ours, whatever its pid
        f".dist.building-{os.getpid()}": "named with a live pid",
    }
    for name, text in mine.items():
        write(project / name / "keep.txt", text)
    (project / ".dist.building-7").symlink_to(marked(project / "elsewhere"))  # a link: not ours
    before = {name: tree(project / name) for name in [*mine, "elsewhere"]}
    assert cli("build", "--workers", "1", cwd=project).returncode == 0
    assert {name: tree(project / name) for name in [*mine, "elsewhere"]} == before
    assert (project / ".dist.building-7").is_symlink()
    assert (out / "manifest.json").is_file()


def test_marked_leftovers_of_dead_builds_are_removed_and_live_ones_kept(project):
    dead = marked(project / ".dist.building-999999999")
    live = marked(project / f".dist.building-{os.getppid()}")  # pytest's parent: alive
    previous = marked(project / ".dist.previous")
    assert cli("build", "--workers", "1", cwd=project).returncode == 0
    assert not dead.exists() and not previous.exists()
    assert live.is_dir()


def test_a_swap_cut_between_its_renames_is_repaired(project):
    out = project / "dist"
    before = tree(out)
    out.rename(project / ".dist.previous")
    (project / ".dist.previous" / release.MARKER_FILE).write_text(release._MARKER_TEXT)
    release._clean_stale(out)
    assert tree(out) == before and siblings(out) == {"raw", "dist", "dataset.toml"}


def test_the_two_rename_fallback_swaps_and_leaves_nothing(project, monkeypatch):
    monkeypatch.setattr(release, "_exchange", lambda a, b: False)
    out = project / "dist"
    write(project / "raw" / "more.txt", f" date 2021-03 {ENGLISH}")
    report = run_build(project / "raw", out)
    assert report.accounting.rows == 2
    assert siblings(out) == {"raw", "dist", "dataset.toml"}
    assert release.MARKER_FILE not in {p.name for p in out.iterdir()}


def test_the_fallback_swap_never_overwrites_a_foreign_previous_folder(project, monkeypatch):
    monkeypatch.setattr(release, "_exchange", lambda a, b: False)
    out = project / "dist"
    (project / ".dist.previous").mkdir()  # empty: a rename onto it would silently replace it
    before = tree(out)
    with pytest.raises(OutputError, match=r"\.dist\.previous.*move it"):
        run_build(project / "raw", out)
    assert_untouched(project, before, {"raw", "dist", "dataset.toml", ".dist.previous"})


# Class 1: an empty input does not replace a release unless asked.


@pytest.mark.parametrize(
    "inputs, found",
    [({}, "read no records"), ({"stub.txt": " date 2021-03 Too short."}, "rejected")],
)
def test_an_empty_input_keeps_the_release_unless_allowed(project, inputs, found):
    shutil.rmtree(project / "raw")
    (project / "raw").mkdir()  # an unmounted share looks like this
    for name, text in inputs.items():
        write(project / "raw" / name, text)
    before = tree(project / "dist")
    one_line_error(cli("build", cwd=project), 3, found, "--allow-empty")
    assert_untouched(project, before, {"raw", "dist", "dataset.toml"})

    result = cli("build", "--allow-empty", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "warning: the release holds no rows" in result.stderr
    assert not list((project / "dist").glob("data/*/*/*.parquet"))


def test_a_first_build_of_nothing_is_allowed_with_a_warning(tmp_path):
    make_config(tmp_path)
    (tmp_path / "raw").mkdir()
    result = cli("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning: the release holds no rows" in result.stderr
    assert (tmp_path / "dist" / "manifest.json").is_file()


def test_allow_empty_in_the_library(project):
    (project / "raw" / SEED.name).unlink()
    with pytest.raises(InputError, match="allow-empty"):
        run_build(project / "raw", project / "dist")
    assert run_build(project / "raw", project / "dist", allow_empty=True).accounting.rows == 0


# Class 4: --out on a full disk, in a read-only folder, or a mount point.


def enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize(
    "target",
    [
        "builder.reading.sinks.Spill.flush",  # the parts a worker spills
        "builder.build.write_partition",  # the shards
        "builder.build.write_manifest",
        "builder.release._mark",  # the staging folder's marker
    ],
)
def test_a_full_disk_is_one_line_and_keeps_the_release(project, monkeypatch, target, capsys):
    monkeypatch.setattr(target, enospc)
    write(project / "raw" / "more.txt", f" date 2021-03 {ENGLISH}")
    before = tree(project / "dist")
    with pytest.raises(OutputError, match="No space left on device.*free some space"):
        run_build(project / "raw", project / "dist")
    assert_untouched(project, before, {"raw", "dist", "dataset.toml"})


@pytest.mark.parametrize(
    "method, err, hint",
    [
        ("mkdir", errno.EROFS, "writable folder"),  # the staging folder next to --out
        ("mkdir", errno.EACCES, "may write"),
        ("rename", errno.EBUSY, "mount point"),  # the swap
        ("rename", errno.EXDEV, "mount point"),
    ],
)
def test_an_out_that_cannot_be_replaced_is_one_line_and_keeps_the_release(
    project, monkeypatch, method, err, hint
):
    """Injected where each really strikes (see the mount tests below for the real thing)."""
    out = project / "dist"
    monkeypatch.setattr(release, "_exchange", lambda a, b: False)
    real = getattr(Path, method)

    def refuse(self, *args, **kwargs):
        if self.name.startswith(".dist.building-") or self == out:
            raise OSError(err, os.strerror(err), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, method, refuse)
    write(project / "raw" / "more.txt", f" date 2021-03 {ENGLISH}")
    before = tree(out)
    with pytest.raises(OutputError, match=f"{os.strerror(err)}.*{hint}"):
        run_build(project / "raw", out)
    assert_untouched(project, before, {"raw", "dist", "dataset.toml"})


@contextlib.contextmanager
def mounted(target: Path, *options: str):
    """`mount -t tmpfs` (or a bind) at `target`, or skip: only root in a permissive sandbox may."""
    target.mkdir(exist_ok=True)
    try:
        result = subprocess.run(
            ["mount", *options, str(target)], capture_output=True, text=True, timeout=30
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        result = None
    if result is None or result.returncode != 0:
        pytest.skip(f"cannot mount here: {result.stderr.strip() if result else 'no mount'}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=30)


def words(n: int) -> str:
    """`n` random hex digits as words of 40: text that barely compresses."""
    digits = os.urandom(n // 2).hex()
    return " ".join(digits[i : i + 40] for i in range(0, n, 40))


def bulky(raw: Path, files: int, records: int) -> None:
    """Long records of barely compressible words, so a few MiB of input fill a small disk."""
    for f in range(files):
        write(
            raw / f"bulk-{f:03d}.jsonl",
            jsonl(
                {
                    "text": f"{ENGLISH} {words(16_000)}",
                    "url": f"https://example.org/{f}/{r}",
                    "date_publish": "2021-03-01",
                }
                for r in range(records)
            ),
        )


def test_a_real_full_disk(tmp_path):
    disk = tmp_path / "disk"
    with mounted(disk, "-t", "tmpfs", "-o", "size=1m", "tmpfs"):
        make_config(tmp_path)
        write(tmp_path / "raw" / SEED.name, SEED.read_bytes())
        out = disk / "dist"
        assert cli("build", "--workers", "1", "--out", str(out), cwd=tmp_path).returncode == 0
        before = tree(out)
        bulky(tmp_path / "raw", files=2, records=100)
        result = cli("build", "--workers", "2", "--out", str(out), cwd=tmp_path)
        one_line_error(result, 6, "No space left on device")
        assert tree(out) == before and siblings(out) == {"dist"}


def test_a_read_only_folder_holding_the_release(tmp_path):
    make_config(tmp_path)
    write(tmp_path / "raw" / SEED.name, SEED.read_bytes())
    shelf = tmp_path / "shelf"
    assert cli("build", "--out", "shelf/dist", cwd=tmp_path).returncode == 0
    before = tree(shelf / "dist")
    with mounted(shelf, "--bind", str(shelf)):
        remount = subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(shelf)], capture_output=True, timeout=30
        )
        if remount.returncode != 0:
            pytest.skip("cannot make a read-only bind mount here")
        result = cli("build", "--out", "shelf/dist", cwd=tmp_path)
        one_line_error(result, 6, "Read-only file system", "writable folder")
        assert tree(shelf / "dist") == before
        assert {p.name for p in shelf.iterdir()} == {"dist", ".dist.lock", ".dist.cache"}


def test_an_out_that_is_a_mount_point(tmp_path):
    make_config(tmp_path)
    write(tmp_path / "raw" / SEED.name, SEED.read_bytes())
    with mounted(tmp_path / "dist", "-t", "tmpfs", "-o", "size=4m", "tmpfs") as out:
        write(out / "mine.txt", "on the mounted disk")
        one_line_error(cli("build", cwd=tmp_path), 6, "mount point", "inside it")
        assert tree(out) == {"mine.txt": b"on the mounted disk"}
        assert siblings(out) == {"raw", "dist", "dataset.toml"}


# Class 5: limits that cannot work are config errors, before anything is read.


@pytest.mark.parametrize(
    "setting, message",
    [
        ("max_record_bytes = 4611686018427387904", "build.max_record_bytes: must be between 1 KiB"),
        ("max_record_bytes = 10", "build.max_record_bytes: must be between 1 KiB and 1 GiB"),
        ("max_file_bytes = 1099511627776", "build.max_file_bytes: must be between"),
        ("max_file_bytes = 2048", "max_file_bytes (2 KiB) must be at least max_record_bytes"),
        ("min_words = 1000000", "build.min_words: must be between 0 words and 10,000 words"),
        ("max_shard_bytes = 1", "build.max_shard_bytes: must be between 1 MiB"),
        ("max_shard_bytes = 1048576", "max_shard_bytes (1 MiB) must be at least max_row_group"),
        ("max_record_bytes = true", "build.max_record_bytes: Input should be a valid integer"),
    ],
)
def test_limits_that_cannot_work_are_config_errors(tmp_path, setting, message):
    config = make_config(tmp_path)
    config.write_text(config.read_text().replace("min_words = 5\n", "") + setting + "\n")
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert message in str(error.value)


def test_a_huge_limit_is_one_config_line_not_a_crash(tmp_path):
    config = make_config(tmp_path)
    config.write_text(config.read_text() + "max_record_bytes = 4611686018427387904\n")
    write(tmp_path / "raw" / SEED.name, SEED.read_bytes())
    one_line_error(
        cli("build", cwd=tmp_path), 2, "build.max_record_bytes", "between 1 KiB and 1 GiB"
    )
    assert not (tmp_path / "dist").exists()


# Class 2/7: names from input reach the terminal escaped.


def test_names_from_input_are_printed_escaped(project):
    write(project / "raw" / "evil\x1b]0;owned\x07\x1b[2J.bin", b"\x00binary")
    result = cli("build", "--workers", "1", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "evil\\x1b]0;owned\\x07\\x1b[2J.bin" in result.stderr
    error = cli("build", "--raw", "gone\x1b[2J", cwd=project)
    one_line_error(error, 3, "gone\\x1b[2J")
    assert "\x1b" not in error.stderr


def test_only_failures_of_writing_the_release_are_reworded_as_such(tmp_path):
    out = tmp_path / "dist"
    with pytest.raises(OutputError, match="free some space"), release.staged(out):
        raise OSError(errno.ENOSPC, "No space left on device")
    elsewhere = OSError(errno.EACCES, "Permission denied", "/somewhere/else")
    with pytest.raises(OSError) as raised, release.staged(out):
        raise elsewhere
    assert raised.value is elsewhere  # not ours to reword as "cannot write the release"
    assert siblings(out) == set()  # staging removed either way
