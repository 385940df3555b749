"""WARC input: HTML responses become web pages, everything else is skipped by kind, damage is a
reject that says from which record, and a single big WARC is read by every worker at once."""

from __future__ import annotations

import gzip
import hashlib

import pytest
import zstandard

from builder.config import BuildSection
from builder.inputs.discover import discover
from builder.inputs.files import open_source
from builder.outcomes import Reject, RejectReason
from builder.readers import reader_for
from builder.readers.warc import WarcReader
from builder.reading.plan import Planner
from builder.records import RawRecord, Skipped, WebPage
from tests import warcs
from tests.support import KIB, read_file, release_files, rows, run_build, source_at


def read(path, max_record_bytes=1 << 20):
    """What the WARC reader yields for the file: pages, skips and rejects, in order."""
    settings = BuildSection(max_record_bytes=max_record_bytes)
    return list(read_file(WarcReader(settings), source_at(path, path.name)))


def pages(items):
    return [item for item in items if isinstance(item, RawRecord)]


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz", "CRAWL.WARC.GZ"])
def test_html_responses_are_pages_and_other_records_are_skipped_by_kind(tmp_path, name):
    gz = name.lower().endswith(".gz")
    path = warcs.save(tmp_path / name, warcs.warc(warcs.crawl(2), gz=gz))
    assert reader_for(source_at(path, name)) is WarcReader
    items = read(path)
    assert [i.kind for i in items if isinstance(i, Skipped)] == [
        "warc warcinfo",
        *["warc request", "warc metadata"] * 2,
    ]
    first, second = pages(items)
    html = warcs.page(0)
    assert (first.source_path, first.source_record, first.size) == (name, 3, len(html))
    assert first.source_sha256 == hashlib.sha256(html).hexdigest()
    assert first.payload == WebPage(
        html=html,
        url="https://example.org/news/0",
        fetched="2021-02-17T10:20:30Z",
        charset="utf-8",
        status=200,
    )
    assert second.source_record == 6 and second.payload.html == warcs.page(1)


@pytest.mark.parametrize(
    "options",
    [
        {"encoding": "gzip"},
        {"encoding": "deflate"},
        {"encoding": "br"},
        {"chunked": True},
        {"encoding": "gzip", "chunked": True},
        {"encoding": "br", "chunked": True},
        {"label": "gzip"},  # CC-NEWS before 2019-05: declared gzip, already decoded
        {"label": "gzip", "chunked": True},
        {"label": "deflate"},
        {"label": "br"},
    ],
)
def test_the_payload_is_decoded_and_a_declared_coding_not_applied_is_taken_as_is(tmp_path, options):
    html = warcs.page(5, words=400)
    record = warcs.response("https://example.org/a", html, **options)
    (page,) = pages(read(warcs.save(tmp_path / "a.warc.gz", warcs.warc([record], gz=True))))
    assert page.payload.html == html
    assert page.source_sha256 == hashlib.sha256(html).hexdigest()


def test_raw_deflate_and_x_gzip_and_stacked_codings_decode(tmp_path):
    html = warcs.page(1)
    raw_deflate = __import__("zlib").compressobj(wbits=-15)
    body = raw_deflate.compress(html) + raw_deflate.flush()
    records = [
        warcs.Record(
            "response",
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: deflate\r\n\r\n"
            + body,
            {"WARC-Target-URI": "https://e.org/raw"},
            "application/http; msgtype=response",
        ),
        warcs.Record(
            "response",
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: x-gzip, br\r\n\r\n"
            + warcs.COMPRESS["br"](gzip.compress(html)),
            {"WARC-Target-URI": "https://e.org/stacked"},
            "application/http; msgtype=response",
        ),
    ]
    assert [
        p.payload.html for p in pages(read(warcs.save(tmp_path / "a.warc", warcs.warc(records))))
    ] == [
        html,
        html,
    ]


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("text/html; charset=ISO-8859-1", None),
        ("application/xhtml+xml", None),
        ("TEXT/HTML", None),
        ("image/jpeg", "warc response (image/jpeg)"),
        ("application/pdf; name=x", "warc response (application/pdf)"),
        ("x-weird/\x01thing", "warc response (other type)"),
        (None, None),  # no type, but the page starts like HTML
    ],
)
def test_which_responses_are_pages(tmp_path, content_type, kind):
    record = warcs.response("https://e.org/", warcs.page(2), content_type=content_type)
    (item,) = read(warcs.save(tmp_path / "a.warc", warcs.warc([record])))
    if kind is None:
        charset = "ISO-8859-1" if content_type and "8859" in content_type else None
        assert item.payload.charset == charset and item.payload.html == warcs.page(2)
    else:
        assert item == Skipped(kind)


def test_an_untyped_response_that_is_not_html_is_skipped(tmp_path):
    record = warcs.response("https://e.org/x", b"\x89PNG\r\n\x1a\n...", content_type=None)
    assert read(warcs.save(tmp_path / "a.warc", warcs.warc([record]))) == [
        Skipped("warc response (no type)")
    ]


def test_revisits_resources_and_non_http_responses_are_skipped(tmp_path):
    records = [
        warcs.revisit("https://e.org/"),
        warcs.Record("resource", warcs.page(1), {"WARC-Target-URI": "file:///a.html"}, "text/html"),
        warcs.Record("response", b"example.org. 300 IN A 1.2.3.4\n", {}, "text/dns"),
        warcs.Record("conversion", b"text", {}, "text/plain"),
    ]
    assert read(warcs.save(tmp_path / "a.warc", warcs.warc(records))) == [
        Skipped("warc revisit"),
        Skipped("warc resource"),
        Skipped("warc response (not http)"),
        Skipped("warc conversion"),
    ]


def test_status_target_uri_in_brackets_and_fetch_time_in_utc(tmp_path):
    record = warcs.response(
        "https://e.org/gone", warcs.page(3), date="2021-02-17T12:20:30.123+02:00", status=404
    )
    record = warcs.Record(
        record.type,
        record.block,
        {**record.headers, "WARC-Target-URI": "<https://e.org/gone>"},
        record.content_type,
    )
    (page,) = pages(read(warcs.save(tmp_path / "a.warc", warcs.warc([record]))))
    assert (page.payload.status, page.payload.url, page.payload.fetched) == (
        404,
        "https://e.org/gone",
        "2021-02-17T10:20:30Z",
    )


def test_a_missing_or_bad_warc_date_is_none(tmp_path):
    record = warcs.response("https://e.org/", warcs.page(3), date="yesterday")
    (page,) = pages(read(warcs.save(tmp_path / "a.warc", warcs.warc([record]))))
    assert page.payload.fetched is None


# Bad records are rejects, alone; the records after them still read.


def _reasons(items):
    return [(i.source_record, i.reason) for i in items if isinstance(i, Reject)]


def test_a_payload_over_the_limit_is_too_large_before_and_after_decoding(tmp_path):
    big = b"<html><body>" + b"x" * 70_000 + b"</body></html>"
    records = [
        warcs.response("https://e.org/raw", big),
        warcs.response("https://e.org/bomb", b"<html>" + b" " * 50_000_000, encoding="gzip"),
        warcs.response("https://e.org/ok", warcs.page(1)),
        warcs.response("https://e.org/video", b"v" * 70_000, content_type="video/mp4"),
    ]
    items = read(warcs.save(tmp_path / "a.warc.gz", warcs.warc(records, gz=True)), 65536)
    assert _reasons(items) == [(1, RejectReason.TOO_LARGE), (2, RejectReason.TOO_LARGE)]
    assert "decodes (gzip)" in items[1].detail
    assert pages(items)[0].source_record == 3
    assert items[3] == Skipped("warc response (video/mp4)")  # big, but not a page: skipped


def test_damaged_encodings_and_headers_are_undecodable(tmp_path):
    gzipped = gzip.compress(warcs.page(1, words=2000))
    damaged = gzipped[:2000] + bytes(b ^ 0x55 for b in gzipped[2000:2200]) + gzipped[2200:]
    records = [
        warcs.Record(
            "response",
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n"
            + damaged,
            {"WARC-Target-URI": "https://e.org/damaged"},
            "application/http; msgtype=response",
        ),
        warcs.response("https://e.org/zip", warcs.page(2), label="compress"),
        warcs.Record(
            "response",
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + b"X-Long: y\r\n" * 7000,
            {"WARC-Target-URI": "https://e.org/endless"},
            "application/http; msgtype=response",
        ),
        warcs.response("https://e.org/ok", warcs.page(3)),
    ]
    items = read(warcs.save(tmp_path / "a.warc", warcs.warc(records)))
    assert _reasons(items) == [(n, RejectReason.UNDECODABLE) for n in (1, 2, 3)]
    assert "damaged" in items[0].detail and "'compress'" in items[1].detail
    assert pages(items)[0].payload.html == warcs.page(3)


def test_a_truncated_encoded_payload_is_kept_as_far_as_it_goes(tmp_path):
    """Crawlers cut long payloads (WARC-Truncated): the page up to the cut is still a page."""
    html = warcs.page(1, words=3000)
    cut = gzip.compress(html)[:-2000]
    record = warcs.Record(
        "response",
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n" + cut,
        {"WARC-Target-URI": "https://e.org/cut", "WARC-Truncated": "length"},
        "application/http; msgtype=response",
    )
    (page,) = pages(read(warcs.save(tmp_path / "a.warc", warcs.warc([record]))))
    assert html.startswith(page.payload.html) and len(page.payload.html) > len(html) // 2


# A damaged file loses what follows the damage, and says from which record.


def _big_crawl(pages_count=60):
    """Over the 64 KiB a damaged compressed stream may lose before its damage."""
    return warcs.crawl(pages_count)


@pytest.mark.parametrize("gz", [False, True])
def test_a_truncated_file_keeps_the_records_before_the_cut(tmp_path, gz):
    records = _big_crawl()
    data = warcs.warc(records, gz=gz)
    items = read(
        warcs.save(tmp_path / ("a.warc.gz" if gz else "a.warc"), data[: len(data) * 3 // 4])
    )
    *before, last = items
    assert isinstance(last, Reject) and last.reason == RejectReason.CORRUPT_FILE
    assert "truncated" in last.detail and f"records from {last.source_record} on" in last.detail
    assert len(before) == last.source_record - 1  # every record before the damage
    assert len(pages(before)) > 20


def test_garbage_in_the_middle_rejects_the_rest_from_that_record(tmp_path):
    records = _big_crawl(10)
    data = (
        b"".join(r.bytes() for r in records[:8])
        + b"not a warc record\r\n" * 5
        + b"".join(r.bytes() for r in records[8:])
    )
    items = read(warcs.save(tmp_path / "a.warc", data))
    assert _reasons(items) == [(9, RejectReason.CORRUPT_FILE)] and len(items) == 9


@pytest.mark.parametrize("content", [b"", b"\r\n\r\n", b"hello, not a WARC\n"])
def test_an_empty_or_foreign_file_is_no_crash(tmp_path, content):
    items = read(warcs.save(tmp_path / "a.warc", content))
    assert all(isinstance(i, Reject) for i in items)
    assert [i.reason for i in items] == ([RejectReason.CORRUPT_FILE] if content.strip() else [])


def test_bytes_after_a_warc_zst_keep_its_records_and_are_one_reject(tmp_path):
    data = zstandard.ZstdCompressor().compress(warcs.warc(warcs.crawl(2))) + b"appended"
    *before, last = read(warcs.save(tmp_path / "a.warc.zst", data))
    assert len(pages(before)) == 2 and last.reason == RejectReason.CORRUPT_FILE
    assert "8 byte(s) after the end of the zstd data" in last.detail


def test_a_warc_gz_that_is_not_gzip_is_corrupt(tmp_path):
    (reject,) = read(warcs.save(tmp_path / "a.warc.gz", warcs.warc(warcs.crawl(1))))
    assert reject.reason == RejectReason.CORRUPT_FILE and "named .gz" in reject.detail


# A single big WARC is cut into ranges that workers read at once; records keep their numbers.


def _read_units(root, unit_bytes, max_record_bytes=1 << 20):
    """The planner's units of the folder, each read as a worker reads it: the items in order,
    and the planner (its scans say which files were split)."""
    planner = Planner(unit_bytes=unit_bytes)
    reader = WarcReader(BuildSection(max_record_bytes=max_record_bytes))
    items = []
    for unit in planner.units(discover(root)):
        for piece in unit:
            with open_source(piece.source) as raw:
                if piece.stop is not None:
                    raw.restrict(piece.start, piece.stop, piece.first_line, piece.planned)
                items += [(piece.start, item) for item in reader.records(piece.source, raw)]
                assert raw.finish() is None
    return planner, items


def _without_ranges(items):
    return [item for _, item in items]


def _damaged_crawl():
    """Pages with every kind of record, and a record too large, to be numbered right."""
    records = warcs.crawl(120)
    records[50] = warcs.response("https://example.org/big", b"<html>" + b"x" * 9000)
    return records


@pytest.mark.parametrize("gz", [False, True])
def test_a_big_warc_is_cut_at_records_and_reads_the_same_in_ranges(tmp_path, gz):
    name = "crawl.warc.gz" if gz else "crawl.warc"
    warcs.save(tmp_path / name, warcs.warc(_damaged_crawl(), gz=gz))
    _, whole = _read_units(tmp_path, 64 * 1024 * 1024, max_record_bytes=8192)
    planner, split = _read_units(tmp_path, 8 * 1024, max_record_bytes=8192)
    assert list(planner.scans) == [name] and len({start for start, _ in split}) > 4
    assert _without_ranges(split) == _without_ranges(whole)
    assert _reasons(_without_ranges(whole)) == [(51, RejectReason.TOO_LARGE)]
    assert len(_without_ranges(whole)) == len(_damaged_crawl())


def test_a_warc_gz_in_one_gzip_stream_is_one_unit(tmp_path):
    warcs.save(tmp_path / "one.warc.gz", warcs.warc(warcs.crawl(200), one_stream=True))
    planner, items = _read_units(tmp_path, 4 * 1024)
    assert planner.scans == {} and {start for start, _ in items} == {0}
    assert len(pages(_without_ranges(items))) == 200


@pytest.mark.parametrize("gz", [False, True])
def test_a_damaged_big_warc_rejects_the_same_records_whatever_the_cuts(tmp_path, gz):
    data = warcs.warc(_damaged_crawl(), gz=gz)
    middle = len(data) // 2 if gz else data.index(b"WARC/1.1", len(data) // 2)  # a header
    data = data[:middle] + b"\x00" * 64 + data[middle + 64 :]
    warcs.save(tmp_path / ("crawl.warc.gz" if gz else "crawl.warc"), data)
    _, whole = _read_units(tmp_path, 64 * 1024 * 1024, max_record_bytes=8192)
    _, split = _read_units(tmp_path, 4 * 1024, max_record_bytes=8192)
    assert _without_ranges(split) == _without_ranges(whole)
    assert _reasons(_without_ranges(whole))[-1][1] == RejectReason.CORRUPT_FILE


# Builds.


def test_a_warc_builds_into_a_release_with_its_skips_counted(tmp_path):
    raw = tmp_path / "raw"
    warcs.save(raw / "news.warc.gz", warcs.warc(warcs.news_crawl(6), gz=True))
    report = run_build(raw, tmp_path / "out")
    accounting = report.accounting
    assert accounting.records_read == 7 and accounting.rows == 6 and accounting.balanced
    assert accounting.rejects == {"not_an_article": 1}  # the tag page
    assert accounting.skipped_records == {
        "warc metadata": 6,
        "warc request": 6,
        "warc response (image/png)": 1,
        "warc revisit": 1,
        "warc warcinfo": 1,
    }
    published = rows(tmp_path / "out")
    assert {r["url"] for r in published} == {
        f"https://gazzetta.example/2021/02/notizia-{i}" for i in range(6)
    }
    assert all(r["language"] == "it" and r["date"].startswith("2021-02") for r in published)
    assert sorted(r["source_record"] for r in published) == [3, 6, 9, 12, 15, 18]


def test_a_warc_builds_the_same_release_whatever_the_units_and_workers(tmp_path):
    """One big WARC keeps every worker busy: cut into ranges, it builds the same bytes."""
    raw = tmp_path / "raw"
    warcs.save(raw / "news.warc.gz", warcs.warc(warcs.news_crawl(30), gz=True))
    warcs.save(raw / "more.warc", warcs.warc(warcs.news_crawl(30, start=30)))
    planner = Planner(unit_bytes=KIB)
    assert len(list(planner.units(discover(raw)))) > 10 and len(planner.scans) == 2
    run_build(raw, tmp_path / "one", unit_bytes=64 * 1024 * KIB)
    run_build(raw, tmp_path / "many", 2, unit_bytes=KIB)
    one, many = release_files(tmp_path / "one"), release_files(tmp_path / "many")
    assert one.keys() == many.keys() and len(rows(tmp_path / "one")) == 60
    assert [k for k in one if one[k] != many[k]] == []


def test_a_warc_without_pages_is_its_skipped_records_not_an_empty_file(tmp_path):
    """Read whole in a group, streamed as one unit, or split into ranges: no reject."""
    raw = tmp_path / "raw"
    records = [
        warcs.warcinfo(),
        warcs.request("https://e.org/a.png"),
        warcs.response("https://e.org/a.png", b"\x89PNG", content_type="image/png"),
    ]
    warcs.save(raw / "small" / "grouped.warc", warcs.warc(records))
    warcs.save(raw / "streamed.warc.gz", warcs.warc(records * 15, gz=True))
    warcs.save(raw / "split.warc", warcs.warc(records * 400))
    warcs.save(raw / "small" / "empty.jsonl", b"")
    units = list(Planner(unit_bytes=256 * KIB).units(discover(raw)))
    shapes = {(u[0].source.rel, len(u), u[0].stop is None) for u in units}
    assert {("small/empty.jsonl", 2, True), ("streamed.warc.gz", 1, True)} < shapes
    assert ("split.warc", 1, False) in shapes
    report = run_build(raw, tmp_path / "out", unit_bytes=256 * KIB)
    assert report.accounting.rejects == {"no_text": 1}  # the empty .jsonl only
    assert report.accounting.records_read == 1 and report.accounting.balanced
    assert report.accounting.skipped_records == {
        "warc warcinfo": 416,
        "warc request": 416,
        "warc response (image/png)": 416,
    }


def test_a_response_without_a_warc_content_type_is_read_by_its_http_start(tmp_path):
    typed = warcs.response("https://e.org/", warcs.page(4))
    untyped = warcs.Record(typed.type, typed.block, typed.headers)
    (page,) = pages(read(warcs.save(tmp_path / "a.warc", warcs.warc([untyped]))))
    assert page.payload.html == warcs.page(4)


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\nContent-Type: text/html; charset=utf-8\n\n",  # LF-only headers
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Type: text/html\r\n\r\n",
        b"HTTP/2 200\r\ncontent-type: text/html;charset=utf-8\r\n\r\n",
    ],
)
def test_http_headers_as_servers_send_them(tmp_path, head):
    record = warcs.Record(
        "response",
        head + warcs.page(6),
        {"WARC-Target-URI": "https://e.org/"},
        "application/http; msgtype=response",
    )
    (page,) = pages(read(warcs.save(tmp_path / "a.warc", warcs.warc([record]))))
    assert (page.payload.html, page.payload.charset, page.payload.status) == (
        warcs.page(6),
        "utf-8",
        200,
    )
