"""Per-domain accounting: accounting/domains.parquet counts every record for one domain, sums
exactly to the build's totals, is the same for any worker count, and tops the card and summary."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard

from builder.layout import DOMAINS_FILE
from builder.outcomes import DOMAIN_SCHEMA, PRECISIONS, DuplicateReason, RejectReason
from builder.writers.domains import summary, totals
from builder.writers.manifest import read_manifest
from tests.support import ENGLISH, ITALIAN, jsonl, rejects, run_build, seed_text, write
from tests.test_near import near_build, wire_corpus


def domains(release) -> dict:
    return {row["domain"]: row for row in pq.read_table(release / DOMAINS_FILE).to_pylist()}


def mixed_input(raw) -> None:
    """Two outlets, a record naming only its domain, a too-short one and a copy, JSON that does
    not parse, and seed texts (no URL)."""
    records = [
        {"text": ENGLISH, "url": "https://news.example/1", "date": "2021-02-03"},
        {"text": ENGLISH + " Again.", "url": "https://news.example/2", "date": "2021-02"},
        {"text": ENGLISH + " Once more.", "url": "https://NEWS.example/3"},
        {"text": "Too short.", "url": "https://news.example/4"},
        {"text": ITALIAN, "url": "https://giornale.example/a", "date": "2021"},
        {"text": ENGLISH, "url": "https://copies.example/x"},  # a copy of news.example/1
        {"text": ITALIAN + " Ancora.", "domain": " Giornale.Example "},  # no URL, a domain
        {"text": "Short.", "source_domain": "giornale.example"},
    ]
    write(raw / "a.jsonl", jsonl(records) + "{not json\n")
    write(raw / "seed.txt", seed_text("2021-03", ITALIAN + " Seed."))
    write(raw / "empty.txt", "")


def test_every_record_counts_for_one_domain_and_the_columns_sum_to_the_totals(tmp_path):
    mixed_input(tmp_path / "raw")
    report = run_build(tmp_path / "raw", tmp_path / "dist")
    found = domains(report.out)
    assert list(found) == ["news.example", "giornale.example", None, "copies.example"]
    news = found["news.example"]
    assert (news["records"], news["articles"], news["rejected_too_short"]) == (4, 3, 1)
    assert (news["dated_day"], news["dated_month"], news["undated"]) == (1, 1, 1)
    assert news["languages"] == ["en"] and news["duplicates"] == 0
    giornale = found["giornale.example"]
    assert (giornale["articles"], giornale["dated_year"], giornale["rejected_too_short"]) == (
        2,
        1,
        1,
    )  # the record with only a domain field counts for it, trimmed and in lower case
    copies = found["copies.example"]
    assert (copies["records"], copies["duplicates_same_text"], copies["articles"]) == (1, 1, 0)
    unknown = found[None]  # the seed text (no URL), the JSON that does not parse, the empty file
    assert (unknown["articles"], unknown["rejected_parse_error"], unknown["rejected_no_text"]) == (
        1,
        1,
        1,
    )

    acc = report.manifest.accounting
    sums = totals(pq.read_table(report.out / DOMAINS_FILE))
    assert sums["records"] == acc.records_read
    assert (sums["articles"], sums["rejected"], sums["duplicates"]) == (
        acc.rows,
        acc.rejected,
        acc.duplicates,
    )
    for reason in RejectReason:
        assert sums[f"rejected_{reason}"] == acc.rejects_by_reason.get(reason, 0)
    for reason in DuplicateReason:
        assert sums[f"duplicates_{reason}"] == acc.duplicates_by_reason.get(reason, 0)
    assert sum(sums[f"dated_{p}"] for p in PRECISIONS) + sums["undated"] == acc.rows
    # the rejects carry their domain, as the per-domain counts read it
    by_where = {(r["source_path"], r["source_record"]): r["domain"] for r in rejects(report.out)}
    assert by_where[("a.jsonl", 4)] == "news.example" and by_where[("a.jsonl", 9)] is None

    entry = report.manifest.files[DOMAINS_FILE]
    assert entry.rows == 4 and len(entry.sha256) == 64
    assert pq.read_schema(report.out / DOMAINS_FILE).remove_metadata() == DOMAIN_SCHEMA
    stats = report.manifest.stats
    assert [d.domain for d in stats.domains] == list(found) and stats.domain_count == 4
    assert stats.domains[0].rejected == {"too_short": 1}
    card = DatasetCard((report.out / "README.md").read_text(encoding="utf-8")).text
    assert "## Domains" in card
    assert "| `news.example` | 4 | 3 | 1 (too_short 1) | 0 | 33% / 33% / 0% / 33% | en |" in card
    assert "| _(none)_ |" in card
    lines = summary(stats)
    assert lines[1] == "top domains, by records read"
    assert lines[2].split() == ["domain", "records", "articles", "rejected", "duplicates", "dated"]
    assert lines[3].split() == ["news.example", "4", "3", "1", "0", "2"]
    assert lines[5].split()[0] == "(none)"
    manifest = json.loads((report.out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["stats"]["domain_count"] == 4


def test_the_domain_table_is_the_same_for_any_worker_count(tmp_path):
    mixed_input(tmp_path / "raw")
    for i in range(30):  # enough records for several units
        write(
            tmp_path / "raw" / f"more{i}.jsonl",
            jsonl([{"text": f"{ENGLISH} {i}", "url": f"https://o{i % 4}.example/{i}"}] * 2),
        )
    one = run_build(tmp_path / "raw", tmp_path / "one", workers=1, cache=False)
    two = run_build(tmp_path / "raw", tmp_path / "two", workers=2, unit_bytes=1024, cache=False)
    assert (one.out / DOMAINS_FILE).read_bytes() == (two.out / DOMAINS_FILE).read_bytes()
    assert one.manifest.files[DOMAINS_FILE] == two.manifest.files[DOMAINS_FILE]
    assert domains(one.out)["o1.example"]["duplicates_same_text"] == 8


@pytest.mark.parametrize("action", ["remove", "mark"])
def test_near_copies_and_their_clusters_per_domain(tmp_path, action):
    """The wire's 12 stories, 6 of them reprinted by three outlets: each outlet has 6 near-copies
    in 6 clusters; the wire is in those 6 clusters with no near-copy of its own."""
    wire_corpus(tmp_path / "raw")
    report = near_build(tmp_path / "raw", tmp_path / "out", action=action)
    found = domains(report.out)
    assert (found["wire.example"]["near_copies"], found["wire.example"]["near_copy_clusters"]) == (
        0,
        6,
    )
    for outlet in ("courier", "post", "ledger"):
        row = found[f"{outlet}.example"]
        assert (row["near_copies"], row["near_copy_clusters"]) == (6, 6)
        assert row["duplicates_near_duplicate"] == (6 if action == "remove" else 0)
        assert row["articles"] == (0 if action == "remove" else 6)
    card = (report.out / "README.md").read_text(encoding="utf-8")
    assert "| 6 in 6 |" in card and read_manifest(report.out / "manifest.json").stats.domains


def test_a_rejected_web_page_counts_for_its_address(tmp_path):
    """Rejects made while reading a WARC, by the row maker and by extraction carry the host of
    the response's target (or the page's canonical link)."""
    from tests.warcs import article, response, save, warc

    listing = b"<html><body><ul><li><a href='/a'>A</a></li></ul></body></html>"
    records = [
        response("https://kept.example/2021/02/a", article(1)),
        response("https://missing.example/gone", b"<html>Not found</html>", status=404),
        response("https://listing.example/tag/politics", listing),
        response("https://coded.example/x", article(2), label="zzz"),  # an unknown coding
    ]
    save(tmp_path / "raw" / "crawl.warc", warc(records))
    saved = b"<html><head><link rel='canonical' href='https://saved.example/p'></head></html>"
    write(tmp_path / "raw" / "page.html", saved)  # no body: no_text, for its canonical host
    cfg_report = run_build(tmp_path / "raw", tmp_path / "dist")
    found = {(r["reason"], r["domain"]) for r in rejects(cfg_report.out)}
    assert ("error_page", "missing.example") in found
    assert ("not_an_article", "listing.example") in found
    assert ("undecodable", "coded.example") in found
    assert ("no_text", "saved.example") in found
    assert domains(cfg_report.out)["kept.example"]["articles"] == 1
