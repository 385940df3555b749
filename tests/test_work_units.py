"""Work units: big JSON Lines files are read as ranges by every worker, small files in groups,
and the release is the same bytes whatever the unit size and worker count."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.config import BuildSection
from builder.errors import InputChangedError
from builder.inputs.discover import discover
from builder.inputs.files import open_source
from builder.inputs.lines import HEAD_BYTES, iter_lines
from builder.readers.cuts import LineEnds, cut
from builder.reading.plan import Planner, expected_units, input_bytes
from builder.reading.result import UnitTask
from builder.reading.unit import process_unit
from tests.support import ITALIAN_WORDS, KIB, TODAY, rejects, release_files, rows, run_build, write


def news_lines(n, seed=7):
    """JSON Lines as crawlers write them, with every kind of line end, blank lines, a bad line,
    duplicates and a line too long, so that record numbers and rejects are checked too."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = " ".join(rng.choice(ITALIAN_WORDS) for _ in range(rng.randint(30, 120)))
        if i % 17 == 0:
            text = out_texts[-1] if (out_texts := [t for t in out if t]) else text
        record = {
            "url": f"https://example.org/{i}",
            "text": text,
            "language": "it",
            "date": "2021-02",
        }
        line = json.dumps(record, ensure_ascii=False)
        if i % 23 == 5:
            line = "{not json"
        end = rng.choice(["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"])
        out.append(line + end)
    return "".join(out)


# The cuts.


def eol_reference(data: bytes) -> int:
    """Line ends as the JSON Lines reader counts them: \\n, \\r\\n and \\r each end one line."""
    return len(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")) - 1


@given(
    st.lists(
        st.tuples(
            st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
            st.sampled_from([b"\n", b"\r", b"\r\n", b""]),
        ),
        max_size=60,
    ),
    st.integers(min_value=1, max_value=200),
)
@settings(max_examples=200, deadline=None)
def test_cuts_cover_the_file_at_line_ends_with_the_right_line_numbers(
    tmp_path_factory, lines, unit
):
    data = b"".join(text + end for text, end in lines)
    raw = tmp_path_factory.mktemp("cuts") / "a.jsonl"
    raw.write_bytes(data)
    (source,) = discover(raw.parent)
    with open_source(source) as opened:
        ranges = list(cut(opened, unit, LineEnds()))
    assert [r[0] for r in ranges] == [0, *(r[1] for r in ranges)][: len(ranges)]  # contiguous
    assert (ranges[-1][1] if ranges else 0) == len(data)
    for start, stop, first_line, sha256 in ranges:
        assert start == 0 or data[start - 1 : start] == b"\n"  # cut just after a newline
        assert first_line == 1 + eol_reference(data[:start])
        assert sha256 == hashlib.sha256(data[start:stop]).hexdigest()


def test_lines_of_ranges_are_the_lines_of_the_file():
    data = news_lines(300).encode()
    whole = list(iter_lines(iter([data.decode("latin-1")]), 1 << 20))
    parts = []
    for start, stop, first_line, _ in cut(_Bytes(data), 2 * KIB, LineEnds()):
        chunk = iter([data[start:stop].decode("latin-1")])
        parts += list(iter_lines(chunk, 1 << 20, first_line))
    assert parts == whole


class _Bytes:
    """Bytes read like an opened input file."""

    def __init__(self, data: bytes):
        self.stream = io.BytesIO(data)

    def readinto(self, buffer) -> int:
        return self.stream.readinto(buffer)


# The plan.


def test_big_plain_files_are_split_and_small_files_grouped(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "big.jsonl", news_lines(400))
    for i in range(30):
        write(raw / "small" / f"{i:02d}.jsonl", news_lines(2, seed=i))
    write(raw / "big.jsonl.gz", gzip.compress(news_lines(400).encode()))
    write(raw / "wide.jsonl", news_lines(100).encode("utf-16"))
    planner = Planner(unit_bytes=16 * KIB)
    units = list(planner.units(discover(raw)))
    big = [u for u in units if u[0].source.rel == "big.jsonl"]
    assert len(big) > 5 and all(len(u) == 1 for u in big)  # ranges, one unit each
    assert {u[0].source.rel for u in units if len(u) == 1} >= {"big.jsonl.gz", "wide.jsonl"}
    small = [u for u in units if u[0].source.rel.startswith("small/")]
    assert 1 <= len(small) < 30 and sum(len(u) for u in small) == 30
    assert list(planner.scans) == ["big.jsonl"]  # compressed and UTF-16 files are not split


# The release does not depend on the units.


@pytest.mark.parametrize("workers", [1, 2])
def test_the_release_is_the_same_bytes_for_any_unit_size(tmp_path, workers):
    raw = tmp_path / "raw"
    write(raw / "big.jsonl", news_lines(600))
    write(raw / "crlf.jsonl", news_lines(200, seed=3).replace("\n", "\r\n"))
    for i in range(12):
        write(raw / "small" / f"{i:02d}.jsonl", news_lines(3, seed=100 + i))
    run_build(raw, tmp_path / "one", unit_bytes=64 * 1024 * KIB)  # every file whole
    run_build(raw, tmp_path / "many", workers, unit_bytes=KIB)
    one, many = release_files(tmp_path / "one"), release_files(tmp_path / "many")
    assert one.keys() == many.keys() and len(rows(tmp_path / "one")) > 500
    assert [k for k in one if one[k] != many[k]] == []


def test_a_split_file_of_blank_lines_is_one_reject(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "blank.jsonl", "  \n\r\n" * 2000)
    report = run_build(raw, tmp_path / "out", unit_bytes=KIB)
    assert [r["reason"] for r in rejects(tmp_path / "out")] == ["no_text"]
    assert report.accounting.records_read == 1 and report.accounting.balanced


def test_a_split_file_changed_while_read_is_planned_and_read_again(tmp_path, monkeypatch):
    """A range read after the file changed: every range of the file is dropped, the file is
    planned and read again once it holds still, and the release holds every record of it."""
    raw = tmp_path / "raw"
    path = write(raw / "big.jsonl", news_lines(400))
    import builder.reading.unit as unit

    real_open = unit._open
    meddled = []

    def meddling_open(piece, file):
        if piece.start and not meddled:  # the first time a second range is opened only
            meddled.append(piece.start)
            data = path.read_bytes()
            path.write_bytes(data[:10] + b"X" + data[11:])
        return real_open(piece, file)

    monkeypatch.setattr(unit, "_open", meddling_open)
    monkeypatch.setattr("builder.reading.phase.RETRY_WAIT", 0.01)
    report = run_build(raw, tmp_path / "out", unit_bytes=4 * KIB)
    clean = run_build(raw, tmp_path / "clean", unit_bytes=4 * KIB, cache=False)
    assert meddled and report.accounting.records_read == clean.accounting.records_read == 400
    assert release_files(tmp_path / "out") == release_files(tmp_path / "clean")


def test_a_split_file_that_never_holds_still_stops_the_build(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    path = write(raw / "big.jsonl", news_lines(400))
    import builder.reading.unit as unit

    real_open = unit._open

    def meddling_open(piece, file):
        if piece.start:  # every time a later range is opened
            data = path.read_bytes()
            path.write_bytes(data[:10] + bytes([data[10] ^ 1]) + data[11:])
        return real_open(piece, file)

    monkeypatch.setattr(unit, "_open", meddling_open)
    monkeypatch.setattr("builder.reading.phase.RETRY_WAIT", 0.01)
    with pytest.raises(
        InputChangedError, match=r"big\.jsonl: .* changed again each of the 3 times"
    ):
        run_build(raw, tmp_path / "out", unit_bytes=4 * KIB)
    assert not (tmp_path / "out").exists()


# What the review of the ranges found.


def _units(raw, unit_bytes):
    planner = Planner(unit_bytes=unit_bytes)
    return planner, list(planner.units(discover(raw)))  # the scans are complete


def _process(units, work, planner):
    from builder.reading.gather import gather

    results = [
        process_unit(UnitTask(i, pieces, work, TODAY, BuildSection()))
        for i, pieces in enumerate(units)
    ]
    return gather(results, planner.scans)


def test_a_plain_file_named_gz_is_not_split(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "big.jsonl.gz").write_text(news_lines(200))  # not gzip data: corrupt, at any unit size
    planner, units = _units(raw, KIB)
    assert len(units) == 1 and planner.scans == {}
    one = run_build(raw, tmp_path / "one", unit_bytes=64 * 1024 * KIB)
    run_build(raw, tmp_path / "many", unit_bytes=KIB)
    assert release_files(tmp_path / "one") == release_files(tmp_path / "many")
    assert [r["reason"] for r in rejects(tmp_path / "one")] == ["corrupt_file"]
    assert one.accounting.rows == 0


def test_a_file_removed_while_its_ranges_are_read_is_one_unreadable_reject(tmp_path, monkeypatch):
    """Its ranges are dropped and the file read again: it is gone, so it is one reject."""
    raw = tmp_path / "raw"
    path = write(raw / "big.jsonl", news_lines(400))
    import builder.reading.unit as unit

    real_open = unit._open

    def removing_open(piece, file):
        if piece.start and path.exists():
            path.unlink()
        return real_open(piece, file)

    monkeypatch.setattr(unit, "_open", removing_open)
    monkeypatch.setattr("builder.reading.phase.RETRY_WAIT", 0.01)
    report = run_build(raw, tmp_path / "out", unit_bytes=8 * KIB)
    assert rows(tmp_path / "out") == []
    (reject,) = rejects(tmp_path / "out")
    assert (reject["source_path"], reject["reason"]) == ("big.jsonl", "unreadable")
    assert report.accounting.records_read == 1 and report.accounting.balanced


def test_the_first_range_holds_the_head_the_reader_checks(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "big.jsonl", news_lines(100))
    _, units = _units(raw, KIB)
    assert units[0][0].start == 0 and units[0][0].stop >= HEAD_BYTES


def test_a_grouped_file_that_grew_after_listing_is_planned_again_not_read_whole(tmp_path):
    """A unit of small files reads none of a file that grew since it was listed (it might be
    huge now): it reports the change, and the build plans the file again."""
    raw, work = tmp_path / "raw", tmp_path / "work"
    path = write(raw / "small.jsonl", news_lines(3))
    write(raw / "other.jsonl", news_lines(3, seed=1))
    work.mkdir()
    planner, units = _units(raw, 1024 * KIB)
    assert [len(u) for u in units] == [2]  # one group
    with open(path, "a") as f:
        f.write(news_lines(50))
    result = process_unit(UnitTask(0, units[0], work, TODAY, BuildSection()))
    grown = {f.rel: f for f in result.files}["small.jsonl"]
    assert grown.change and "grew" in grown.change and grown.records == 0
    report = run_build(raw, tmp_path / "out", unit_bytes=1024 * KIB)
    assert report.accounting.records_read == 56  # planned again: all of it read


def test_a_link_inside_the_input_is_planned_by_the_size_of_its_target(tmp_path):
    raw = tmp_path / "raw"
    target = write(raw / "sub" / "real.jsonl", news_lines(200))
    (raw / "link.jsonl").symlink_to(target)
    sizes = {s.rel: s.size for s in discover(raw)}
    assert sizes["link.jsonl"] == sizes["sub/real.jsonl"] == target.stat().st_size


def test_progress_and_sizing_count_only_the_files_that_are_read(tmp_path):
    raw = tmp_path / "raw"
    read = write(raw / "a.jsonl", news_lines(10))
    write(raw / "notes.tsv", "x\t" * 5000)
    assert input_bytes(discover(raw)) == read.stat().st_size


def test_units_of_web_pages_hold_less_input_than_units_of_records(tmp_path):
    """Extraction costs about WEB_PAGE_COST times what a record does per byte: a unit of pages
    is as long to work through as one of records, and a small crawl still uses every worker."""
    page = "<html><body>" + "<p>parola</p>" * 8_000 + "</body></html>"  # ~100 KB
    for i in range(8):
        write(tmp_path / "pages" / f"{i}.html", page)
        write(tmp_path / "records" / f"{i}.jsonl", page)
    planner = Planner(unit_bytes=4 * 1024 * 1024)

    records = list(planner.units(discover(tmp_path / "records")))
    pages = list(planner.units(discover(tmp_path / "pages")))

    assert [len(unit) for unit in records] == [8]  # grouped: 800 KB of records
    assert [len(unit) for unit in pages] == [1] * 8  # 100 KB of HTML: 1.6 MB of work each
    # and the local executor starts as many workers as the pages' work needs
    assert expected_units(discover(tmp_path / "records"), 4 * 1024 * 1024) == 1
    assert expected_units(discover(tmp_path / "pages"), 4 * 1024 * 1024) == 4
