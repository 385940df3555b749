"""Readers: the seed's text format, crawler JSON/JSONL, compression, and encodings."""

import datetime as dt
import json
import os

import pytest

from builder.config import BuildSection
from builder.dates import DateError, is_after, parse_date
from builder.outcomes import Reject, RejectReason
from builder.readers import reader_for
from builder.rows.seed_text import split_header
from builder.text.decode import UndecodableError, decode
from builder.text.language import declared_language
from tests.reference import detect_language
from tests.support import ENGLISH, ITALIAN, jsonl, preview, source_at, write

LATIN = (
    "Le cinéma français célèbre l’été: élèves, théâtre, café, déjà vu, naïve façon, Noël à Besançon. "
    * 3
)


def read(path, root, max_record_bytes=1 << 20):
    """The file's drafts (rows as its row maker makes them) and rejects, in record order."""
    source = source_at(path, path.relative_to(root).as_posix())
    settings = BuildSection(max_record_bytes=max_record_bytes)
    return preview(source, settings, dt.date(2026, 11, 26))


@pytest.mark.parametrize(
    ("text", "date", "body"),
    [
        (" date 2021-02 Ieri vi abbiamo", "2021-02", "Ieri vi abbiamo"),
        ("date 2021\n\nBody", "2021", "\nBody"),
        ("\n\t date 2021-02-03\r\nBody", "2021-02-03", "Body"),
        ("date 2021-13 Body", "2021-13", "Body"),  # refused later, as bad_date
        ("No header here", None, "No header here"),
        ("date palms grow", None, "date palms grow"),
        ("date 2021-02", "2021-02", ""),
        ("date   \nBody", None, "Body"),  # a blank header: undated, and not part of the body
        (" date \u00a0\t\r\nBody", None, "Body"),
        ("date  ", None, ""),
    ],
)
def test_text_header(text, date, body):
    assert split_header(text) == (date, body)


def test_text_reader_keeps_provenance(tmp_path):
    path = write(tmp_path / "a" / "b.txt", " date 2021-02 " + ITALIAN)
    (draft,) = read(path, tmp_path)
    assert isinstance(draft, dict)
    assert (draft["source_path"], draft["source_record"], draft["raw_date"]) == (
        "a/b.txt",
        1,
        "2021-02",
    )
    assert draft["text"] == ITALIAN


@pytest.mark.parametrize("name", ["a.txt.gz", "a.txt.zst", "a.TXT"])
def test_compressed_and_case_insensitive(tmp_path, name):
    (draft,) = read(write(tmp_path / name, "date 2020 " + ENGLISH), tmp_path)
    assert draft["text"] == ENGLISH
    assert (
        draft["source_sha256"]
        == __import__("hashlib").sha256(("date 2020 " + ENGLISH).encode()).hexdigest()
    )


def test_truncated_gzip_is_corrupt_file(tmp_path):
    path = write(tmp_path / "a.txt.gz", "date 2020 " + ENGLISH * 20)
    path.write_bytes(path.read_bytes()[:60])
    (reject,) = read(path, tmp_path)
    assert reject.reason == RejectReason.CORRUPT_FILE and "truncated" in reject.detail


def test_overlong_jsonl_line_is_too_large_and_the_next_line_still_reads(tmp_path):
    content = jsonl([{"text": "x" * 5000}, {**TRAFILATURA}])
    items = read(write(tmp_path / "a.jsonl.zst", content), tmp_path, max_record_bytes=1024)
    assert items[0].reason == RejectReason.TOO_LARGE and "5012 bytes" in items[0].detail
    assert isinstance(items[1], dict) and items[1]["source_record"] == 2


def test_too_large(tmp_path):
    (reject,) = read(write(tmp_path / "a.txt", ENGLISH * 5), tmp_path, max_record_bytes=1024)
    assert reject.reason == RejectReason.TOO_LARGE


NEWS_PLEASE = {
    "title": "Titolo",
    "maintext": ITALIAN,
    "date_publish": "2021-02-03 10:00:00",
    "language": "it",
    "url": "https://example.it/a",
    "authors": ["Anna Rossi", "Luca Bianchi"],
    "source_domain": "example.it",
}
TRAFILATURA = {
    "title": "Title",
    "text": ENGLISH,
    "date": "2021-02-03",
    "author": "Jane Doe; John Roe",
    "url": "https://example.com/a",
    "hostname": "example.com",
}


def test_news_please_mapping(tmp_path):
    (d,) = read(write(tmp_path / "np.json", json.dumps(NEWS_PLEASE)), tmp_path)
    assert [d[k] for k in ("title", "text", "raw_date", "declared_language", "url", "domain")] == [
        "Titolo",
        ITALIAN,
        "2021-02-03 10:00:00",
        "it",
        "https://example.it/a",
        "example.it",
    ]
    assert d["authors"] == ["Anna Rossi", "Luca Bianchi"]


def test_trafilatura_mapping(tmp_path):
    (d,) = read(write(tmp_path / "t.json", json.dumps(TRAFILATURA)), tmp_path)
    assert [d[k] for k in ("title", "text", "raw_date", "url", "domain")] == [
        "Title",
        ENGLISH,
        "2021-02-03",
        "https://example.com/a",
        "example.com",
    ]
    assert d["authors"] == ["Jane Doe", "John Roe"]
    assert d["declared_language"] is None


def test_a_blank_date_is_no_date(tmp_path):
    records = [
        {**TRAFILATURA, "date": " \t "},
        {**NEWS_PLEASE, "date_publish": "  ", "date": "2021"},
    ]
    blank, next_key = read(write(tmp_path / "a.jsonl", jsonl(records)), tmp_path)
    assert (blank["raw_date"], blank["date_source"]) == (None, None)
    assert next_key["raw_date"] == "2021"  # as for a missing field: the next key is read


def test_json_array_numbers_records(tmp_path):
    items = read(write(tmp_path / "a.json", json.dumps([NEWS_PLEASE, TRAFILATURA, 3])), tmp_path)
    assert [i["source_record"] for i in items[:2]] + [items[2].source_record] == [1, 2, 3]
    assert isinstance(items[2], Reject) and items[2].reason == RejectReason.PARSE_ERROR


def test_types_are_named_as_json_names_them(tmp_path):
    lines = ["null", '"a text"', "1.5", "true", "[1]", '{"text": "x", "authors": [null]}']
    items = read(write(tmp_path / "a.jsonl", "\n".join(lines) + "\n"), tmp_path)
    assert [i.detail for i in items] == [
        "expected a JSON object, got JSON null",
        "expected a JSON object, got a JSON string",
        "expected a JSON object, got a JSON number",
        "expected a JSON object, got a JSON boolean",
        "expected a JSON object, got a JSON array",
        "`authors` holds JSON null, expected names as strings",
    ]


def test_jsonl_bad_line_rejects_that_record_only(tmp_path):
    content = jsonl([NEWS_PLEASE]) + "{not json\n\n" + jsonl([TRAFILATURA, {"title": "no body"}])
    items = read(write(tmp_path / "a.jsonl.gz", content), tmp_path)
    assert [type(i).__name__ for i in items] == ["dict", "Reject", "dict", "Reject"]
    assert [i["source_record"] if isinstance(i, dict) else i.source_record for i in items] == [
        1,
        2,
        4,
        5,
    ]  # line numbers; the blank line is skipped
    assert items[1].reason == RejectReason.PARSE_ERROR and "{not json" in items[1].excerpt
    assert items[3].reason == RejectReason.NO_TEXT


def test_truncated_jsonl_keeps_what_came_before(tmp_path):
    records = [{**NEWS_PLEASE, "maintext": os.urandom(3000).hex()} for _ in range(50)]
    path = write(tmp_path / "a.jsonl.gz", jsonl(records))
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    items = read(path, tmp_path)
    assert isinstance(items[-1], Reject) and items[-1].reason == RejectReason.CORRUPT_FILE
    assert all(isinstance(i, dict) for i in items[:-1]) and items[:-1]


def test_unknown_type_has_no_reader(tmp_path):
    assert reader_for(source_at(tmp_path / "notes.tsv", "notes.tsv")) is None


# Encodings


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-16", "utf-8-sig"])
def test_decode_by_detection(encoding):
    text = LATIN.replace("’", "'") if encoding == "latin-1" else LATIN
    assert decode(text.encode(encoding)) == text


def test_binary_is_undecodable():
    with pytest.raises(UndecodableError):
        decode(os.urandom(4096))


def test_nul_bytes_do_not_make_text_binary():
    assert "\x00" in decode(ENGLISH.encode() + b"\x00\x00" + ENGLISH.encode())


# Dates and languages


def test_dates_keep_precision():
    assert parse_date("2021-02") == ("2021-02", "month")
    assert parse_date("2021") == ("2021", "year")
    assert parse_date("2021-02-03T10:00:00+01:00") == ("2021-02-03", "day")
    for bad in ["2021-13", "2021-02-30", "yesterday", "0999"]:
        with pytest.raises(DateError):
            parse_date(bad)


def test_future_is_judged_at_the_dates_precision():
    today = dt.date(2026, 11, 26)
    assert not is_after("2026-11", today) and not is_after("2026", today)
    assert is_after("2026-12", today) and is_after("2026-11-27", today) and is_after("2027", today)


def test_language():
    assert declared_language("en-US") == "en" and declared_language("PT_br") == "pt"
    assert declared_language("english") is None and declared_language(None) is None
    assert declared_language("xx") is None  # two letters, but no language
    assert detect_language(ITALIAN) == "it" and detect_language(ENGLISH) == "en"
