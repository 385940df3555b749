"""Storage through fsspec: an input and a work storage that are not local folders give the same
release as the local build. fsspec's in-memory filesystem stands in for s3:// or hf://; it lives
in one process, so these builds run with one worker (tasks then run in the build's process)."""

from __future__ import annotations

import io
import pickle
import uuid

import fsspec
import pytest

from builder.build import build
from builder.config import RunSection
from builder.errors import ConfigError, InputError, StrictModeError
from builder.inputs.discover import discover
from builder.inputs.files import open_source
from builder.progress import Progress
from builder.storage import Storage
from tests.support import (
    ENGLISH,
    ITALIAN,
    TODAY,
    cli,
    config,
    jsonl,
    make_config,
    seed_text,
    write,
)

MEMORY = fsspec.filesystem("memory")


@pytest.fixture
def memory():
    """A fresh folder URL in the in-memory filesystem, removed after the test."""
    root = f"/broadsheet-test-{uuid.uuid4().hex}"
    yield f"memory://{root}"
    if MEMORY.exists(root):
        MEMORY.rm(root, recursive=True)


def corpus(raw):
    """Split and grouped JSON Lines, seed-format text, gzip, a subfolder, duplicates across
    files, a same-URL conflict (its reject's excerpt is read back from a part) and hidden files."""
    big = [
        {"text": f"Story {i % 50}. {ENGLISH}", "url": f"https://x.org/{i}", "date": "2021-03-04"}
        for i in range(120)
    ]
    big.append({"text": f"Other. {ENGLISH}", "url": "https://x.org/3"})
    write(raw / "big.jsonl", jsonl(big))
    write(raw / "it" / "a.txt", seed_text("2021-02-01", ITALIAN))
    write(raw / "it" / "b.txt", seed_text("2021-02-01", ITALIAN))  # a duplicate
    write(raw / "old.jsonl.gz", jsonl([{"text": f"Old {i}. {ENGLISH}"} for i in range(5)]))
    write(raw / "short.txt", "too short")
    write(raw / ".hidden.txt", seed_text("2021-02-01", ITALIAN))
    write(raw / ".git" / "x.txt", seed_text("2021-02-01", ITALIAN))


def upload(local, url):
    """The local folder's files, copied under the URL."""
    root = Storage.of(url)
    for path in sorted(local.rglob("*")):
        if path.is_file():
            root.upload(path, path.relative_to(local).as_posix())


def release(raw, out, **kw):
    """Build with small work units, so the big file is read as ranges, and no buckets to spare."""
    settings = config().model_copy(update={"run": RunSection(unit_bytes=4096)})
    report = build(
        settings, raw, out, workers=1, today=TODAY, progress=Progress(0, io.StringIO()), **kw
    )
    files = {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }
    return report, files


def test_a_memory_input_and_work_storage_give_the_local_release(tmp_path, memory):
    corpus(tmp_path / "raw")
    upload(tmp_path / "raw", f"{memory}/raw")
    local, expected = release(tmp_path / "raw", tmp_path / "local")
    assert local.accounting.duplicates and local.accounting.rejects  # the corpus has both
    assert len(local.manifest.shards) >= 2

    for name, raw, work in [
        ("remote-input", f"{memory}/raw", None),
        ("remote-work", tmp_path / "raw", f"{memory}/work"),
        ("both", f"{memory}/raw", f"{memory}/work"),
        ("local-work", tmp_path / "raw", str(tmp_path / "work")),
    ]:
        _, files = release(raw, tmp_path / name, work=work)
        assert files == expected, name
        if work is not None:  # the build's work folder inside it is gone
            assert not Storage.of(work).fs.find(Storage.of(work).root), name


def test_the_work_folder_is_removed_when_the_build_fails(tmp_path, memory):
    corpus(tmp_path / "raw")
    with pytest.raises(StrictModeError):
        release(tmp_path / "raw", tmp_path / "out", work=f"{memory}/work", strict=True)
    assert not MEMORY.find(Storage.of(memory).root)
    assert not (tmp_path / "out").exists()


def test_remote_discovery_lists_files_only_without_hidden_names(tmp_path, memory):
    corpus(tmp_path / "raw")
    upload(tmp_path / "raw", f"{memory}/raw")
    MEMORY.makedirs(f"{Storage.of(memory).root}/raw/empty-folder", exist_ok=True)
    sources = discover(f"{memory}/raw")
    assert [s.rel for s in sources] == [
        "big.jsonl",
        "it/a.txt",
        "it/b.txt",
        "old.jsonl.gz",
        "short.txt",
    ]
    assert [s.size for s in sources] == [(tmp_path / "raw" / s.rel).stat().st_size for s in sources]
    assert all(s.key == s.rel and s.skip is None for s in sources)


@pytest.mark.parametrize("where", ["missing", "raw/big.jsonl"])
def test_a_remote_input_must_be_an_existing_folder(tmp_path, memory, where):
    corpus(tmp_path / "raw")
    upload(tmp_path / "raw", f"{memory}/raw")
    with pytest.raises(InputError, match="does not exist|is not a folder"):
        discover(f"{memory}/{where}")


def test_a_remote_file_rewritten_while_read_is_caught(memory):
    storage = Storage.of(memory)
    MEMORY.pipe_file(storage.path("a.jsonl"), b'{"text": "one"}\n' * 1000)
    (source,) = discover(memory)
    with open_source(source) as raw:
        raw.readinto(memoryview(bytearray(100)))
        MEMORY.pipe_file(storage.path("a.jsonl"), b'{"text": "two"}\n' * 1000)  # same size
        assert "modified while it was read" in raw.finish()


def test_a_remote_range_checks_the_file_as_planned(memory):
    storage = Storage.of(memory)
    MEMORY.pipe_file(storage.path("a.jsonl"), b"x\n" * 10)
    (source,) = discover(memory)
    with open_source(source) as raw:
        planned = raw.plan("0" * 64)  # a hash the bytes do not have
    with open_source(source) as raw:
        raw.restrict(4, 8, 3, planned)
        assert raw.head(4) == b"x\nx\n"
        assert "content changed" in raw.finish()
        assert raw.bytes_read == 4


def test_a_storage_travels_as_its_url(tmp_path):
    assert pickle.loads(pickle.dumps(Storage.of("memory://a/b"))) == Storage("memory://a/b")
    assert Storage.of(f"file://{tmp_path}") == Storage.of(tmp_path) == Storage(str(tmp_path))
    assert Storage.of(tmp_path).local and not Storage.of("memory://a").local
    assert Storage.of("memory://a").child("b/c").path("d") == "/a/b/c/d"


def test_the_cli_takes_an_input_url_and_a_work_folder(tmp_path):
    corpus(tmp_path / "raw")
    make_config(tmp_path)
    work = tmp_path / "work"
    result = cli(
        "build", "--raw", f"file://{tmp_path / 'raw'}", "--out", "dist", "--work", str(work),
        "--workers", "2", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dist" / "manifest.json").is_file()
    assert list(work.iterdir()) == []  # the build's own folder in it is gone


@pytest.mark.parametrize("option", ["--raw", "--work"])
def test_a_url_without_its_filesystem_is_one_error_line(tmp_path, option):
    corpus(tmp_path / "raw")
    make_config(tmp_path)
    result = cli("build", option, "nope://bucket/raw", "--workers", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: nope://bucket/raw") and "install" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "dist").exists()


@pytest.mark.parametrize("storage", ["raw", "work"])
def test_an_in_process_filesystem_needs_a_single_process_build(tmp_path, memory, storage):
    corpus(tmp_path / "raw")
    upload(tmp_path / "raw", f"{memory}/raw")
    raw = f"{memory}/raw" if storage == "raw" else tmp_path / "raw"
    work = f"{memory}/work" if storage == "work" else None
    many_units = config().model_copy(update={"run": RunSection(unit_bytes=1024)})
    with pytest.raises(ConfigError, match="--workers 1"):
        build(many_units, raw, tmp_path / "out", workers=2, work=work)
    assert not (tmp_path / "out").exists()
