"""Hostile inputs: how raw files are found, opened and split into records.

Files that change while they are read, links out of the input and special files, names that
must stay distinct, compression recognised by content, JSON Lines in any encoding and line
ending, and inputs that used to crash or to cost time and memory out of proportion.
"""

import bz2
import codecs
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import types
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.config import BuildSection
from builder.errors import InputChangedError
from builder.inputs.discover import (
    LINK_OUTSIDE,
    SkippedFile,
    classify,
    discover,
    source_name,
)
from builder.inputs.files import open_source
from builder.inputs.lines import iter_lines
from builder.outcomes import Reject, RejectReason
from builder.readers import reader_for
from builder.readers.json import JsonLinesReader
from builder.readers.json_array import array_elements
from builder.reading.plan import Piece
from builder.reading.result import UnitTask
from builder.reading.unit import process_unit
from builder.rows.crawler_fields import _record_excerpt
from builder.writers.manifest import input_fingerprint
from tests.support import (
    ENGLISH,
    ITALIAN,
    ROOT,
    TODAY,
    cli,
    jsonl,
    make_config,
    preview,
    read_part,
    rejects,
    release_files,
    rows,
    run_build,
    seed_text,
    source_at,
    write,
)

SETTINGS = BuildSection(min_words=1)


@pytest.fixture(autouse=True)
def deadline():
    """A hang (reading a FIFO or /dev/zero) fails the test instead of stopping the suite."""

    def expire(*_):
        raise TimeoutError("the test hung")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def source_of(path, root):
    (source,) = [s for s in discover(root) if s.path == path]
    return source


class Draft(types.SimpleNamespace):
    """A row as the file's row maker makes it, with attribute access."""


def read(path, root=None, settings=SETTINGS):
    """Every draft and reject the file at `path` (found under `root`) gives, in record order."""
    source = source_of(path, root or path.parent)
    return [Draft(**i) if isinstance(i, dict) else i for i in preview(source, settings, TODAY)]


def process(path, tmp_path, root=None, settings=SETTINGS):
    """process_file on one discovered file, as a worker runs it."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return process_file(source_of(path, root or path.parent), work, settings)


def process_file(source, work, settings=SETTINGS):
    """One file as a unit of its own, as a worker runs it."""
    unit = process_unit(UnitTask(0, [Piece(source)], work, TODAY, settings))
    (file,) = unit.files
    rejects = sum((c.rejects for c in unit.steps), Counter())
    return Processed(
        file.skipped,
        file.records,
        file.size,
        file.sha256,
        unit.parts,
        unit.rejects_part,
        rejects,
        file.change,
    )


@dataclass
class Processed:
    """What a unit of one file gave: the file's result, the unit's parts and its rejects."""

    skipped: str | None
    records: int
    size: int
    sha256: str
    parts: dict[str, int]
    rejects_part: str | None
    rejects: Counter
    change: str | None = None  # how the file changed while it was read (the build reads it again)


def reject_rows(tmp_path, result):
    return read_part(tmp_path / "work" / result.rejects_part).to_pylist()


def lines(*texts):
    return [{"text": t, "url": f"https://example.com/{i}"} for i, t in enumerate(texts)]


# 1. A file that changes while it is read is read again once it holds still, or stops the build;
# the fingerprint is of the bytes that made the release.

BIG = lines(*(f"{ENGLISH} {i} " + os.urandom(40_000).hex() for i in range(30)))  # ~2.4 MB


def _truncate(path):
    os.truncate(path, path.stat().st_size // 2)


def _append(path):
    with open(path, "ab") as f:
        f.write(jsonl(lines(ITALIAN)).encode())


def _same_size_same_mtime(path):
    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b"council", b"COUNCIL"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _replace(path):
    write(path.with_name("new.tmp"), jsonl(lines(ITALIAN)))
    os.replace(path.with_name("new.tmp"), path)


def _remove(path):
    path.unlink()


CHANGES = [_truncate, _append, _same_size_same_mtime, _replace, _remove]


def meddling(change, times=None):
    """A JsonLinesReader that changes the file after its first record, the first `times` times
    it reads it (every time when None)."""
    done = []

    class Meddling(JsonLinesReader):
        def records(self, source, raw):
            items = super().records(source, raw)
            yield next(items)
            if times is None or len(done) < times:
                done.append(source.rel)
                change(source.path)
            yield from items

    return Meddling


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.__name__.strip("_"))
def test_a_unit_whose_file_changes_while_read_gives_nothing_of_it(tmp_path, monkeypatch, change):
    """The worker keeps no row or reject of the file and says how it changed: the build reads
    it again (builder.reading.phase)."""
    path = write(tmp_path / "raw" / "a.jsonl", jsonl(BIG))
    monkeypatch.setattr("builder.reading.unit.reader_for", lambda source: meddling(change))
    result = process(path, tmp_path)
    assert result.change and "while it was read" in result.change
    assert not result.parts and not result.rejects


def test_a_file_that_changed_once_is_read_again_and_the_fingerprint_is_of_its_last_bytes(
    tmp_path, monkeypatch
):
    raw = tmp_path / "raw"
    write(raw / "a.jsonl", jsonl(BIG))
    write(raw / "b.txt", seed_text("2021-02", ITALIAN))
    real = reader_for
    once = meddling(_truncate, times=1)
    monkeypatch.setattr(
        "builder.reading.unit.reader_for", lambda s: once if s.rel == "a.jsonl" else real(s)
    )
    monkeypatch.setattr("builder.reading.phase.RETRY_WAIT", 0.01)
    report = run_build(raw, tmp_path / "dist")
    kept = len((raw / "a.jsonl").read_bytes().splitlines())  # what was left after the truncation
    published = [r["source_path"] for r in rows(report.out)] + [
        r["source_path"] for r in rejects(report.out)
    ]
    assert published.count("a.jsonl") == kept and "b.txt" in published
    assert report.accounting.balanced and report.accounting.records_read == kept + 1
    read_bytes = {"a.jsonl": (raw / "a.jsonl").read_bytes(), "b.txt": (raw / "b.txt").read_bytes()}
    expected = input_fingerprint(
        [(k, hashlib.sha256(v).hexdigest()) for k, v in read_bytes.items()]
    )
    assert report.manifest.input.fingerprint == expected


def test_a_file_that_never_holds_still_stops_the_build_and_keeps_the_release(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    write(raw / "a.jsonl", jsonl(BIG[:3]))
    write(raw / "b.txt", seed_text("2021-02", ITALIAN))
    before = run_build(raw, tmp_path / "dist")
    kept = release_files(before.out)
    real = reader_for
    monkeypatch.setattr(
        "builder.reading.unit.reader_for",
        lambda s: meddling(_append) if s.rel == "a.jsonl" else real(s),
    )
    monkeypatch.setattr("builder.reading.phase.RETRY_WAIT", 0.01)
    with pytest.raises(InputChangedError, match=r"^a\.jsonl: the file .* changed again"):
        run_build(raw, tmp_path / "dist", cache=False)  # with the cache, nothing is read again
    assert release_files(before.out) == kept


def test_an_unchanged_file_is_hashed_as_stored(tmp_path):
    path = write(tmp_path / "raw" / "a.jsonl.gz", jsonl(lines(ENGLISH, ITALIAN)))
    result = process(path, tmp_path)
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.size == path.stat().st_size and len(result.parts) == 2


# 2. Links out of the input are not followed; only regular files are opened.


def test_links_out_and_special_files_are_skipped_with_their_kind(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "real" / "a.txt", seed_text("2021-02", ENGLISH))
    write(raw / "notes.tsv", "a\tb\n")
    secret = write(tmp_path / "secret.txt", seed_text("2021-02", "SECRET " + ITALIAN))
    (raw / "passwd.txt").symlink_to(secret)
    (raw / "zero.txt").symlink_to("/dev/zero")
    (raw / "random.jsonl").symlink_to("/dev/urandom")
    (raw / "inside.txt").symlink_to(raw / "real" / "a.txt")
    (raw / "folder").symlink_to(raw / "real")
    os.mkfifo(raw / "pipe.jsonl")
    kinds = {
        "passwd.txt": LINK_OUTSIDE,
        "zero.txt": LINK_OUTSIDE,
        "random.jsonl": LINK_OUTSIDE,
        "folder": "link to a folder",
        "pipe.jsonl": "fifo",
        "notes.tsv": "not an input format",
    }
    with socket.socket(socket.AF_UNIX) as sock:
        if len(os.fsencode(raw / "s.txt")) < 100:
            sock.bind(str(raw / "s.txt"))
            kinds["s.txt"] = "socket"
        make_config(tmp_path)
        done = cli(
            "build", "--raw", "raw", "--out", "dist", "--workers", "1", cwd=tmp_path, timeout=120
        )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "dist" / "manifest.json").read_text())
    assert manifest["accounting"]["skipped_kinds"] == dict(sorted(kinds.items()))
    assert "SECRET" not in json.dumps(rows(tmp_path / "dist")) + json.dumps(
        rejects(tmp_path / "dist")
    )
    accounting = manifest["accounting"]  # inside.txt is read: the same article, a duplicate
    assert (accounting["records_read"], accounting["rows"], accounting["duplicates"]) == (2, 1, 1)
    assert "link outside the input" in done.stdout and "fifo" in done.stdout
    assert (
        "note: skipped 3 file(s), link outside the input: passwd.txt, random.jsonl, zero.txt"
        in (done.stderr)
    )


def test_devices_are_never_opened(tmp_path):
    assert classify("/dev/null", None) == "device"
    for device in ("/dev/zero", "/dev/urandom", "/dev/null"):
        with pytest.raises(SkippedFile, match="device"):
            open_source(source_at(Path(device), "dev.txt"))


def test_a_file_swapped_after_discovery_is_checked_again_when_opened(tmp_path):
    raw = tmp_path / "raw"
    fifo = write(raw / "a.jsonl", jsonl(lines(ENGLISH)))
    linked = write(raw / "b.txt", ENGLISH)
    nested = write(raw / "sub" / "c.txt", ENGLISH)
    outside = write(tmp_path / "elsewhere" / "c.txt", "SECRET " + ENGLISH)
    sources = {s.rel: s for s in discover(raw)}
    fifo.unlink()
    os.mkfifo(fifo)
    linked.unlink()
    linked.symlink_to(outside)
    nested.parent.rename(raw / "moved")
    nested.parent.symlink_to(outside.parent)  # a folder on the way now leads out
    work = tmp_path / "work"
    work.mkdir()
    got = {rel: process_file(s, work).skipped for i, (rel, s) in enumerate(sorted(sources.items()))}
    assert got == {"a.jsonl": "fifo", "b.txt": LINK_OUTSIDE, "sub/c.txt": LINK_OUTSIDE}


# 3. File name -> source_path is lossless.


def _unescape(name: str) -> bytes:
    return re.sub(
        rb"\\(\\|x[0-9a-f]{2})",
        lambda m: b"\\" if m[1] == b"\\" else bytes.fromhex(m[1][1:].decode()),
        name.encode(),
    )


@given(st.binary(min_size=1, max_size=40).filter(lambda b: b"/" not in b and b"\0" not in b))
@settings(max_examples=300, deadline=None)
def test_source_names_are_lossless_and_valid_utf8(name):
    mapped = source_name(name)
    assert _unescape(mapped) == name  # invertible, hence injective
    mapped.encode("utf-8")  # no lone surrogates


def test_plain_names_stay_and_look_alikes_stay_apart(tmp_path):
    assert source_name("café Ελλάδα.txt".encode()) == "café Ελλάδα.txt"
    raw = tmp_path / "raw"
    names = [b"caf\xe9.txt", b"caf\\xe9.txt", b"caf\\\\xe9.txt"]
    for i, name in enumerate(names):
        body = seed_text("2021-02", f"{ENGLISH} Number {i}.")
        (raw / os.fsdecode(name)).parent.mkdir(parents=True, exist_ok=True)
        (raw / os.fsdecode(name)).write_bytes(body.encode())
    report = run_build(raw, tmp_path / "dist")
    paths = sorted(r["source_path"] for r in rows(report.out))
    assert paths == sorted(source_name(n) for n in names) and len(set(paths)) == 3


# 4. Compression is recognised by content, and every format reports damage the same way.

COMPRESS = {
    ".gz": lambda data: gzip.compress(data, mtime=0),
    ".zst": zstandard.ZstdCompressor().compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
}


@pytest.mark.parametrize("suffix", COMPRESS)
@pytest.mark.parametrize("named", [True, False], ids=["named", "unnamed"])
def test_compressed_content_is_decompressed_whatever_its_name(tmp_path, suffix, named):
    name = "a.jsonl" + (suffix if named else "")
    path = tmp_path / name
    path.write_bytes(COMPRESS[suffix](jsonl(lines(ENGLISH, ITALIAN)).encode()))
    items = read(path)
    assert [type(i) for i in items] == [Draft, Draft]
    assert [i.text for i in items] == [ENGLISH, ITALIAN]


@pytest.mark.parametrize("suffix", COMPRESS)
@pytest.mark.parametrize("fmt", [".txt", ".jsonl"])
def test_truncated_streams_are_corrupt_and_say_truncated(tmp_path, suffix, fmt):
    articles = [f"{ENGLISH} {os.urandom(2000).hex()}" for _ in range(40)]
    content = jsonl(lines(*articles)) if fmt == ".jsonl" else seed_text("2021", articles[0] * 40)
    data = COMPRESS[suffix](content.encode())
    path = tmp_path / f"a{fmt}{suffix}"
    path.write_bytes(data[: len(data) * 2 // 3])
    items = read(path)
    assert isinstance(items[-1], Reject) and items[-1].reason == RejectReason.CORRUPT_FILE
    assert "truncated" in items[-1].detail
    assert all(isinstance(i, Draft) and i.text in articles for i in items[:-1])


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
@pytest.mark.parametrize("fmt", [".txt", ".json", ".jsonl", ".html"])
@pytest.mark.parametrize(
    "tail", [b"appended\n", b"\x00" * 3000, b"\x1f"], ids=["text", "zeros", "1"]
)
def test_bytes_after_the_last_member_keep_every_record_and_are_reported_once(
    tmp_path, suffix, fmt, tail
):
    """As gzip -d reads it: every member (frame), then one reject naming the bytes left over."""
    texts = [f"{ENGLISH} {n}" for n in range(3)]
    content = {
        ".txt": seed_text("2021", texts[0]),
        ".json": json.dumps([{"text": t} for t in texts]),
        ".jsonl": jsonl(lines(*texts)),
        ".html": f"<html><body><article><p>{texts[0]}</p></article></body></html>",
    }[fmt].encode()
    members = [COMPRESS[suffix](content[:40]), COMPRESS[suffix](content[40:])]
    data = b"".join(members) + tail
    path = tmp_path / f"a{fmt}{suffix}"
    path.write_bytes(data)
    *kept, reject = read(path)
    assert [type(i) for i in kept] == [Draft] * (len(texts) if fmt in (".json", ".jsonl") else 1)
    assert reject.reason == RejectReason.CORRUPT_FILE
    assert reject.source_record == len(kept) + 1
    end = len(data) - len(tail)
    assert f"{len(tail):,} byte(s) after the end" in reject.detail
    assert f"from byte {end:,} of the file" in reject.detail


def test_a_damaged_gzip_is_corrupt(tmp_path):
    data = bytearray(gzip.compress(jsonl(lines(ENGLISH, ITALIAN)).encode()))
    data[len(data) // 2] ^= 0xFF
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(bytes(data))
    assert read(path)[-1].reason == RejectReason.CORRUPT_FILE


def test_a_compression_suffix_over_other_bytes_is_corrupt(tmp_path):
    path = tmp_path / "a.txt.zst"
    path.write_bytes(seed_text("2021", ENGLISH).encode())
    (reject,) = read(path)
    assert reject.reason == RejectReason.CORRUPT_FILE and "not zstd data" in reject.detail


def test_archives_and_binary_bytes_are_one_reject_not_one_per_newline(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.jsonl", jsonl(lines(ENGLISH)) * 50)
    (tmp_path / "zip.jsonl").write_bytes(buffer.getvalue())
    noise = bytes(range(256)) * 200  # 200 line feeds among control bytes
    (tmp_path / "noise.jsonl").write_bytes(noise)
    (zipped,) = read(tmp_path / "zip.jsonl")
    (binary,) = read(tmp_path / "noise.jsonl")
    assert zipped.reason == RejectReason.UNDECODABLE and "zip archive" in zipped.detail
    assert binary.reason == RejectReason.UNDECODABLE and "binary" in binary.detail


# 5. JSON Lines: decoded before splitting, and \r ends a line too.

WIDE = [
    ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-32-le", codecs.BOM_UTF32_LE),
    ("utf-32-be", codecs.BOM_UTF32_BE),
    ("utf-16-le", b""),
    ("utf-16-be", b""),
    ("utf-32-le", b""),
    ("utf-32-be", b""),
]


@pytest.mark.parametrize(("codec", "bom"), WIDE, ids=[f"{c}{'-bom' * bool(b)}" for c, b in WIDE])
def test_wide_json_lines_give_one_row_per_line(tmp_path, codec, bom):
    texts = [ENGLISH, ITALIAN, "Ελληνικά 中文 😀 " + ENGLISH]
    records = [json.dumps(r, ensure_ascii=False) for r in lines(*texts)]
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(bom + "\n\n".join(records).encode(codec) + "\r\n".encode(codec)))
    items = read(path)
    assert [type(i) for i in items] == [Draft] * 3
    assert [i.text for i in items] == texts and [i.source_record for i in items] == [1, 3, 5]
    assert items[1].source_sha256 == hashlib.sha256(records[1].encode(codec)).hexdigest()


def test_an_invalid_wide_line_is_rejected_alone(tmp_path):
    good = [json.dumps(r).encode("utf-16-le") for r in lines(ENGLISH, ITALIAN)]
    bad = (
        '{"text": "'.encode("utf-16-le") + b"\x00\xd8" + '"}'.encode("utf-16-le")
    )  # lone surrogate
    newline = "\n".encode("utf-16-le")
    path = tmp_path / "a.jsonl"
    path.write_bytes(newline.join([good[0], bad, good[1]]) + b"\x00")  # and an odd last byte
    items = read(path)
    assert [type(i) for i in items] == [Draft, Reject, Reject]
    assert [i.reason for i in items[1:]] == [RejectReason.UNDECODABLE] * 2
    assert items[0].text == ENGLISH


@pytest.mark.parametrize("eol", ["\r", "\n", "\r\n"], ids=["cr", "lf", "crlf"])
def test_every_line_ending_ends_a_record(tmp_path, eol):
    path = write(tmp_path / "a.jsonl", eol.join(json.dumps(r) for r in lines(ENGLISH, ITALIAN)))
    items = read(path)
    assert [(type(i), i.source_record) for i in items] == [(Draft, 1), (Draft, 2)]


def _reference_lines(text, limit):
    parts = re.split(r"\r\n|\r|\n", text)
    return [
        (n, line if len(line) <= limit else len(line))
        for n, line in enumerate(parts, start=1)
        if line.strip(" \t\x0b\x0c")
    ]


@given(
    st.text(alphabet="ab \t\r\n\x0c", max_size=300),
    st.lists(st.integers(min_value=0, max_value=300), max_size=8),
    st.integers(min_value=1, max_value=20),
)
@settings(max_examples=500, deadline=None)
def test_line_splitting_does_not_depend_on_chunk_boundaries(text, cuts, limit):
    bounds = [0, *sorted(min(c, len(text)) for c in cuts), len(text)]
    chunks = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    assert list(iter_lines(iter(chunks), limit)) == _reference_lines(text, limit)


def test_an_overlong_wide_line_is_too_large(tmp_path):
    content = jsonl(lines("x" * 5000, ENGLISH)).encode("utf-16")
    items = read(write(tmp_path / "a.jsonl", content), settings=BuildSection(max_record_bytes=1024))
    assert items[0].reason == RejectReason.TOO_LARGE and isinstance(items[1], Draft)


# JSON arrays are streamed element by element: each element parsed on its own, as a line is.

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab"\\\\[]{},: \u00e9\n'),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='ab"\\\\[]{},', max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    st.lists(_JSON, max_size=6),
    st.booleans(),
    st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
@settings(max_examples=300, deadline=None)
def test_array_elements_do_not_depend_on_chunk_boundaries(values, ascii_only, cuts):
    text = json.dumps(values, ensure_ascii=ascii_only, indent=rng_indent(cuts))
    bounds = [0, *sorted(min(c, len(text)) for c in cuts), len(text)]
    chunks = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    found = list(array_elements(iter(chunks), 1 << 20))
    assert [n for n, _ in found] == list(range(1, len(values) + 1))
    assert [json.loads(element) for _, element in found] == values


def rng_indent(cuts):
    return (len(cuts) % 3) or None  # compact, and indented by 1 or 2: whitespace anywhere


def test_a_json_array_element_is_one_record_with_its_own_bytes(tmp_path):
    elements = [json.dumps({"text": ENGLISH}), json.dumps({"text": "x" * 5000}), "3"]
    path = write(tmp_path / "a.json.gz", "[" + ", ".join(elements) + "]")
    first, large, number = read(path, settings=BuildSection(max_record_bytes=1024))
    assert first.source_sha256 == hashlib.sha256(elements[0].encode()).hexdigest()
    assert large.reason == RejectReason.TOO_LARGE and large.source_record == 2
    assert "array element of 5012 bytes" in large.detail
    assert number.reason == RejectReason.PARSE_ERROR and "got a JSON number" in number.detail


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32"])
def test_a_wide_json_array_is_streamed_too(tmp_path, codec):
    path = write(tmp_path / "a.json", json.dumps(lines(ENGLISH, ITALIAN)), encoding=codec)
    assert [i.text for i in read(path)] == [ENGLISH, ITALIAN]


def test_a_truncated_json_array_keeps_the_elements_before_the_damage(tmp_path):
    records = [{"text": f"{ENGLISH} {os.urandom(3000).hex()}"} for _ in range(40)]
    path = write(tmp_path / "a.json.gz", json.dumps(records))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    *kept, last = read(path)
    assert kept and all(isinstance(i, Draft) for i in kept)
    assert last.reason == RejectReason.CORRUPT_FILE and last.source_record == len(kept) + 1
    assert f"elements from {len(kept) + 1} on are lost" in last.detail


def _in_a_child(*args: str, timeout: int = 300) -> list[int]:
    """The integers a Python run (`-c CODE ...` or `SCRIPT ...`) prints, run in a process of its
    own with the project importable: a process's peak memory is measured there, a child
    inheriting its parent's."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=True,
    )
    return [int(value) for value in done.stdout.split()]


_ARRAY_RSS = """
import json, sys
from pathlib import Path
from builder.config import BuildSection
from builder.inputs.discover import discover
from builder.inputs.files import open_source
from builder.readers import reader_for
(source,) = discover(Path(sys.argv[1]))
with open_source(source) as raw:
    records = sum(1 for _ in reader_for(source)(BuildSection()).records(source, raw))
status = Path("/proc/self/status").read_text()  # VmHWM: this process's own peak, in kB
print(records, next(int(l.split()[1]) for l in status.splitlines() if l.startswith("VmHWM")))
"""


def _array_peak_rss_kib(tmp_path, name, count):
    raw = tmp_path / name
    raw.mkdir()
    record = json.dumps({"title": "T", "maintext": ITALIAN * 20, "url": "https://e.com/a"})
    with open(raw / "a.json", "w", encoding="utf-8") as f:  # not held here: a child inherits
        f.write("[" + record)  # its parent's peak (ru_maxrss)
        for _ in range(count - 1):
            f.write(",\n" + record)
        f.write("]")
    records, peak = _in_a_child("-c", _ARRAY_RSS, str(raw))
    assert records == count
    return peak


def test_a_json_array_is_read_in_the_memory_of_one_element(tmp_path):
    small = _array_peak_rss_kib(tmp_path, "small", 200)  # 1 MB
    large = _array_peak_rss_kib(tmp_path, "large", 12_000)  # 60 MB: read whole, +250 MB
    assert large - small < 30 * 1024, (small, large)


# 6. Inputs that crashed: deep nesting, deep folders, huge limits.


def _nested(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_json_nested_near_the_recursion_limit_is_a_reject(tmp_path, suffix):
    limit = sys.getrecursionlimit()
    depths = sorted({10, limit // 2, *range(limit - 200, limit + 20, 10), limit * 3})
    for depth in depths:
        for doc in (
            _nested(depth),
            '{"text": ' + _nested(depth) + "}",
            '{"text": "x", "title": ' + '{"a": ' * depth + "1" + "}" * depth + "}",
        ):
            items = read(write(tmp_path / f"d{depth}{suffix}", doc + "\n"))
            assert items and all(isinstance(i, Reject) for i in items), depth
            assert {i.reason for i in items} <= {
                RejectReason.PARSE_ERROR,
                RejectReason.INVALID_RECORD,
            }


def test_excerpts_of_deep_records_are_iterative_and_bounded():
    deep: list = []
    for _ in range(200_000):
        deep = [deep]
    wide = {"text": "x" * 10_000_000, "n": 2**70}
    assert _record_excerpt(deep).startswith("[[[[") and len(_record_excerpt(deep)) <= 400
    assert _record_excerpt(wide).startswith('{"text": "xxx') and len(_record_excerpt(wide)) <= 400


def test_an_input_tree_1100_folders_deep_builds(tmp_path):
    raw = tmp_path / "raw"
    parts = ["d"] * 1100
    folder = raw
    raw.mkdir()
    for part in parts:  # Path.mkdir(parents=True) recurses per level
        folder = folder / part
        folder.mkdir()
    (folder / "a.txt").write_text(seed_text("2021-02", ENGLISH), encoding="utf-8")
    try:
        (source,) = discover(raw)
        assert source.rel == "d/" * 1100 + "a.txt"
        report = run_build(raw, tmp_path / "dist")
        assert [r["source_path"] for r in rows(report.out)] == [source.rel]
    finally:  # shutil.rmtree recurses per level
        raw.joinpath(*parts, "a.txt").unlink()
        for depth in range(len(parts), 0, -1):
            raw.joinpath(*parts[:depth]).rmdir()


def test_huge_limits_do_not_preallocate(tmp_path):
    huge = BuildSection().model_copy(
        update={"max_record_bytes": 1 << 62, "max_file_bytes": 1 << 62}
    )
    files = [
        write(tmp_path / "a.txt", seed_text("2021", ENGLISH)),
        write(tmp_path / "b.json", json.dumps({"text": ENGLISH})),
        write(tmp_path / "c.jsonl.zst", jsonl(lines(ENGLISH))),
    ]
    for path in files:
        (item,) = read(path, settings=huge)
        assert isinstance(item, Draft) and item.text == ENGLISH


# 7. Bombs: linear time, memory bounded.


def test_rejects_are_spilled_in_batches(tmp_path, monkeypatch):
    monkeypatch.setattr("builder.reading.sinks.SPILL_ROWS", 100)
    monkeypatch.setattr(
        "builder.reading.chain.BATCH_ROWS", 100
    )  # records read before the steps run
    path = write(tmp_path / "raw" / "a.jsonl.gz", "{}\n" * 5000)
    result = process(path, tmp_path)
    assert dict(result.rejects) == {"no_text": 5000}
    with pa.memory_map(str(tmp_path / "work" / result.rejects_part)) as part:
        assert pa.ipc.open_file(part).num_record_batches >= 50


_PEAK_RSS = """
import datetime as dt, gzip, resource, sys
from pathlib import Path
from builder.config import BuildSection
from builder.reading.unit import UnitTask, process_unit
from builder.inputs.discover import discover
from builder.reading.plan import Piece
(source,) = discover(Path(sys.argv[1]))
process_unit(UnitTask(0, [Piece(source)], Path(sys.argv[2]), dt.date(2026, 1, 1), BuildSection()))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_rss_kib(tmp_path, name, content):
    raw, work = tmp_path / name / "raw", tmp_path / name / "work"
    write(raw / "a.jsonl.gz", content)
    work.mkdir()
    (peak,) = _in_a_child("-c", _PEAK_RSS, str(raw), str(work))
    return peak


def test_many_rejects_keep_memory_flat(tmp_path):
    small = _peak_rss_kib(tmp_path, "small", "{}\n" * 2_000)
    large = _peak_rss_kib(tmp_path, "large", "{}\n" * 200_000)  # held in memory: +200 MB
    assert large - small < 60 * 1024, (small, large)


_BUILD_PEAK = """
import resource, sys
from pathlib import Path
limit = 2048 << 20  # as builds run under: memory that grows with the rejects ends in MemoryError
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from tests.support import run_build
if __name__ == "__main__":
    report = run_build(Path(sys.argv[1]), Path(sys.argv[2]), workers=1)
    status = Path("/proc/self/status").read_text()  # VmHWM: this process's own peak, in kB
    peak = next(int(l.split()[1]) for l in status.splitlines() if l.startswith("VmHWM"))
    print(report.accounting.rejected, peak)
"""


def _build_peak_kib(tmp_path, name, count):
    """A whole build's peak memory, in a process of its own: `count` empty records in 3 KB of
    gzip, read in a unit with another file (so held whole, then checked), all rejected."""
    raw = tmp_path / name / "raw"
    write(raw / "bomb.jsonl.gz", "{}\n" * count)
    write(raw / "other.txt", seed_text("2021-02", ENGLISH))
    script = tmp_path / "peak.py"
    script.write_text(_BUILD_PEAK, encoding="utf-8")
    rejected, peak = _in_a_child(str(script), str(raw), str(tmp_path / name / "out"), timeout=600)
    assert rejected == count
    return peak


def test_a_build_of_many_rejects_holds_at_most_the_rejects_row_group(tmp_path):
    """Rejects go to accounting/rejects.parquet as rows go to shards: past the read phase (flat:
    test_many_rejects_keep_memory_flat), the build holds the row group being written, about
    300 bytes a reject with its copy and the writer's buffers, up to MAX_ROW_GROUP_BYTES of rows
    (128 MiB), and no more. A sort of every reject grew without bound (3 million in 2 GiB
    crashed); at this count, under one row group, the two cost the same (+86 MB before)."""
    small = _build_peak_kib(tmp_path, "small", 20_000)
    large = _build_peak_kib(tmp_path, "large", 300_000)
    assert large - small < 400 * 280_000 // 1024, (small, large)


def gzip_bomb(path, unit, mib, tail=b""):
    """A small .gz of `mib` MiB of `unit` repeated, then `tail`, compressed as it is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    compressor = zlib.compressobj(9, wbits=31)
    block = unit * ((1 << 20) // len(unit))
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(compressor.compress(block))
        f.write(compressor.compress(tail) + compressor.flush())
    return path


def test_a_whitespace_bomb_is_rejected_early_without_keeping_it(tmp_path):
    path = gzip_bomb(tmp_path / "a.json.gz", b" ", 256)
    tracemalloc.start()
    try:
        (reject,) = read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reject.reason == RejectReason.NO_TEXT and "whitespace" in reject.detail
    assert peak < 32 << 20


def test_an_over_limit_file_is_not_kept_whole(tmp_path):
    path = write(tmp_path / "a.json.zst", '{"text": "' + "a" * (64 << 20) + '"}')
    tracemalloc.start()
    try:
        (reject,) = read(
            path, settings=BuildSection(max_record_bytes=1 << 20, max_file_bytes=4 << 20)
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reject.reason == RejectReason.TOO_LARGE and peak < 24 << 20


def test_blank_line_bombs_are_skipped_in_bulk(tmp_path):
    path = gzip_bomb(
        tmp_path / "raw" / "a.jsonl.gz", b"\n", 100, json.dumps({"text": ENGLISH}).encode()
    )
    started = time.monotonic()
    result = process(path, tmp_path)
    assert time.monotonic() - started < 60  # sanity only: it was 28 s line by line
    assert result.records == 1 and len(result.parts) == 1


def test_a_change_the_stat_misses_is_caught_by_hashing_a_fresh_file_again(tmp_path):
    path = write(tmp_path / "a.txt", seed_text("2021", ENGLISH))
    with open_source(source_of(path, tmp_path)) as raw:
        raw.stream().read()
        with open(path, "r+b") as f:
            f.write(b"D")  # same size
        raw.before = os.fstat(raw.fd)  # as if within the timestamp tick of the last change
        assert "content changed" in raw.finish()


# Any bytes, under any name and compression: never an exception, every record accounted for.

_PIECES = st.sampled_from(
    [
        b"{",
        b"}",
        b"[",
        b"]",
        b'"text": ',
        b'"x"',
        b",",
        b"\n",
        b"\r",
        b"\r\n",
        b" ",
        b"\x00",
        b"\xff\xfe",
        b"\xfe\xff",
        b"\xe9",
        b"\xc3\xa9",
        b"\\u00e9",
        b"\xed\xa0\x80",
        b"date 2021 ",
        ENGLISH.encode(),
        b"\x1f\x8b",
        b"\x28\xb5\x2f\xfd",
    ]
)


@given(
    st.lists(st.one_of(_PIECES, st.binary(max_size=20)), max_size=30).map(b"".join),
    st.sampled_from([".txt", ".json", ".jsonl"]),
    st.sampled_from([None, *COMPRESS]),
    st.integers(min_value=0, max_value=3),
)
@settings(max_examples=150, deadline=None)
def test_any_bytes_are_read_without_an_exception(data, fmt, compression, cut):
    if compression is not None:
        data = COMPRESS[compression](data)
        data = data[: len(data) - cut]  # sometimes truncated
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / "raw" / f"a{fmt}{compression or ''}"
        path.parent.mkdir()
        path.write_bytes(data)
        (root / "work").mkdir()
        result = process_file(source_of(path, path.parent), root / "work")
        table = [read_part(root / "work" / p) for p in result.parts]
        if result.rejects_part:
            table.append(read_part(root / "work" / result.rejects_part))
        assert result.records == sum(len(t) for t in table) >= 1
        assert result.sha256 == hashlib.sha256(data).hexdigest()
