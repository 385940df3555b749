"""Property: any bytes, under any input name, become rows, rejects or duplicates; never a crash."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import duplicates, jsonl, rejects, rows, run_build

SUFFIXES = [".txt", ".json", ".jsonl", ".txt.gz", ".jsonl.gz", ".jsonl.zst", ".json.zst"]

text_records = st.lists(
    st.fixed_dictionaries(
        {"text": st.text(max_size=300)},
        optional={
            "title": st.one_of(st.text(max_size=40), st.integers(), st.none()),
            "date": st.one_of(st.text(max_size=30), st.from_regex(r"\d{4}(-\d{2}(-\d{2})?)?")),
            "url": st.text(max_size=40),
            "language": st.text(max_size=6),
            "authors": st.one_of(st.lists(st.text(max_size=20), max_size=3), st.text(max_size=20)),
        },
    ),
    max_size=5,
)
contents = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
    text_records.map(lambda rs: jsonl(rs).encode("utf-8", "surrogatepass")),
    st.tuples(st.from_regex(r"\s*date \S{0,12}", fullmatch=True), st.text(max_size=500)).map(
        lambda p: (p[0] + " " + p[1]).encode("utf-8", "surrogatepass")
    ),
)


def _store(path: Path, data: bytes, mangle: int) -> None:
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    elif path.name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    if mangle:  # cut compressed or plain bytes anywhere
        data = data[: len(data) * mangle // 4]
    path.write_bytes(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(
        st.tuples(st.sampled_from(SUFFIXES), contents, st.integers(0, 3)), min_size=1, max_size=4
    )
)
def test_any_bytes_are_accounted_for(files):
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp, "raw")
        raw.mkdir()
        for number, (suffix, data, mangle) in enumerate(files):
            _store(raw / f"f{number}{suffix}", data, mangle)
        report = run_build(raw, Path(tmp, "dist"))
        written = len(rows(report.out)) + len(rejects(report.out)) + len(duplicates(report.out))
        assert written == report.accounting.records_read  # from the files, not the build's tally
        assert report.accounting.records_read >= len(files)  # an empty file is one no_text reject
