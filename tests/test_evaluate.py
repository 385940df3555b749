"""`make eval` cannot rot: its metrics on cases worked out by hand, its reading of each set's
ground truth, the WARC it writes, and one whole run on a tiny corpus laid out like
../shared/corpus that the test writes itself."""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from bench import evaluate as ev
from bench.warc_corpus import write_warc
from tests.support import ENGLISH, ITALIAN, jsonl, make_config, run_build, write

# --- a tiny corpus in the shared corpus's layout ------------------------------------------------

NAV, FOOTER = "Home | News | Sport | Weather", "Impressum | Contact us | Newsletter"


def article(title: str, body: str, lang: str, head: str = "", dateline: str = "") -> str:
    """A news page: navigation and footer around one article; `head` and `dateline` date it."""
    paragraphs = "".join(f"<p>{sentence}.</p>" for sentence in body.split(". "))
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f"{head}</head><body><nav>{NAV}</nav><article><h1>{title}</h1>{dateline}{paragraphs}"
        f"</article><footer>{FOOTER}</footer></body></html>"
    )


def published(day: str) -> str:
    return f'<meta property="article:published_time" content="{day}T09:30:00+01:00">'


# (set, path under html/<set>/, url, lang, true date, title, body, what dates the page)
PAGES = [
    ("trafilatura_eval", "council a.html", "https://example.org/a", "en", "2021-02-17",
     "Council approves transport plan", ENGLISH, {"head": published("2021-02-17")}),
    ("htmldate_eval", "d.html", "https://example.org/d", "it", "2021-02",
     "Piano per la mobilità", ITALIAN, {"dateline": "<p>febbraio 2021</p>"}),
    ("mozilla_readability", "site-b/source.html", "", "en", "2020-05-06",
     "Buses for the centre", ENGLISH.replace("city council", "regional board"),
     {"head": published("2020-05-06")}),
    ("newspaper4k", "c.html", "https://example.org/c", "en", "",
     "Cycle lanes in the centre", ENGLISH.replace("last night", "on Monday"),
     {"head": published("2019-01-02")}),
    ("goose3", "test_e.html", "https://example.org/e", "en", "",
     "Electric buses arrive", ENGLISH.replace("two years", "three years"),
     {"head": published("2019-01-03")}),
]  # fmt: skip


def write_corpus(root: Path) -> Path:
    """html/<set>/ pages, html/provenance.tsv and each set's reference under json/."""
    provenance = io.StringIO()
    out = csv.writer(provenance, delimiter="\t", lineterminator="\n")
    out.writerow(["file", "set", "lang", "url", "gt_date"])
    for set_name, name, url, lang, date, title, body, dating in PAGES:
        out.writerow([f"html/{set_name}/{name}", set_name, lang, url, date])
        write(root / "html" / set_name / name, article(title, body, lang, **dating))
    write(root / "html" / "provenance.tsv", provenance.getvalue())
    refs = root / "json"
    _, name, url, _, date, title, body, _ = PAGES[0]
    evaldata = {url: {"file": name, "title": title, "date": date, "with": [body[:40]],
                      "without": ["Impressum", NAV]}}  # fmt: skip
    write(refs / "trafilatura" / "evaldata.json", json.dumps(evaldata))
    _, _, _, _, _, title, body, _ = PAGES[2]
    write(refs / "mozilla_readability" / "site-b" / "expected.html", f"<div><p>{body}</p></div>")
    write(
        refs / "mozilla_readability" / "site-b" / "expected-metadata.json",
        json.dumps({"title": title}),
    )
    _, _, url, _, _, title, body, _ = PAGES[3]
    write(refs / "newspaper4k" / "expected_txt" / "c.txt", body)
    write(refs / "newspaper4k" / "metadata" / "c.json", json.dumps({"url": url, "title": title}))
    _, _, url, _, _, title, body, _ = PAGES[4]
    expected = {"cleaned_text": body[:60], "title": f"{title} - Example News"}
    write(refs / "goose3" / "test_e.json", json.dumps({"url": url, "expected": expected}))
    return root


# --- metrics ------------------------------------------------------------------------------------


def test_words_are_lowercased_and_each_han_or_kana_character_is_one():
    assert ev.tokens("The cat, the CAT's 猫が") == Counter(
        {"the": 2, "cat": 2, "s": 1, "猫": 1, "が": 1}
    )


def test_token_scores_count_shared_words_as_multisets():
    assert ev.token_scores("a a b c", "a b b d") == (0.5, 0.5, 0.5)
    assert ev.token_scores("a b", "A  b") == (1.0, 1.0, 1.0)
    assert ev.token_scores("a b c d", "a b") == (0.5, 1.0, pytest.approx(2 / 3))
    assert ev.token_scores(None, "a b") == ev.token_scores("x", "a b") == (0.0, 0.0, 0.0)


def test_snippets_match_whatever_the_case_spacing_or_compatibility_forms():
    assert ev.contains("Die GEMA\n\ndreht  völlig", "die gema dreht VÖLLIG")
    assert ev.contains("the ﬁnal word", "final")
    assert not ev.contains("abc", "abd")
    assert not ev.contains(None, "abc")


def test_titles_match_exactly_once_spacing_is_normalized():
    assert ev.same_title(" Council  approves\nplan ", "Council approves plan")
    assert not ev.same_title("Council approves plan - Example News", "Council approves plan")
    assert not ev.same_title("council approves plan", "Council approves plan")
    assert not ev.same_title(None, "Council approves plan")


@pytest.mark.parametrize(
    ("ours", "truth", "verdict"),
    [
        ("2021-02-17", "2021-02-17", "exact"),
        ("2021-02", "2021-02", "exact"),
        ("2021-02", "2021-02-17", "consistent"),
        ("2021", "2021-02-17", "consistent"),
        ("2021-02-01", "2021-02", "over_precise"),
        ("2021-02-18", "2021-02-17", "wrong"),
        ("2021-03", "2021-02-17", "wrong"),
        ("2018-01-01", "2021-02", "wrong"),
        (None, "2021-02-17", "missing"),
    ],
)
def test_a_date_is_judged_at_the_precision_of_the_truth(ours, truth, verdict):
    assert ev.date_verdict(ours, truth) == verdict


def test_a_true_timestamp_counts_by_its_written_day():
    assert ev.truth_date("2018-06-12T23:00:00.000Z") == "2018-06-12"
    assert ev.truth_date("2017-11-03 03:01:00.000000") == "2017-11-03"
    assert ev.truth_date("2021-02") == "2021-02"
    assert ev.truth_date("") is None


def _page(name: str, **truth) -> ev.Page:
    return ev.Page("s", name, Path(name), "", ev.Truth(**truth))


def test_a_score_averages_tokens_over_pages_and_pools_snippets():
    pages = [
        _page("a", text="a b c d", title="T", date="2021-02-17", language="en"),
        _page("b", text="x y", date="2021-02-17", language="it"),
        _page("c", contains=("found it", "not there"), excludes=("menu",)),
        _page("d", contains=("nothing",), excludes=("footer",)),
    ]
    outputs = {
        "s/a": ev.Output(text="a b", title=" T ", date="2021-02", language="en"),
        "s/c": ev.Output(text="we FOUND  it, next to the menu", language="en"),
    }  # b and d: rejected, so missing
    run = ev.Run("pipeline", ev.SCORED, outputs, 2.0, 8.0, cores=2)
    s = ev.score("s", pages, run)
    assert s.body_pages == 2 and s.precision == 0.5 and s.recall == 0.25
    assert s.f1 == pytest.approx(1 / 3)  # page a: 2/3, page b: 0
    assert (s.must_contain, s.must_not_contain) == (pytest.approx(1 / 3), 0.5)
    assert s.snippet_f1 == pytest.approx(0.4)  # found 1 of 3, leaked 1: P 1/2, R 1/3
    assert (s.titles, s.title_pages) == (1.0, 1)
    assert s.dates == {"exact": 0, "consistent": 1, "over_precise": 0, "wrong": 0, "missing": 1}
    assert (s.language, s.language_pages) == (0.5, 2)
    assert (s.pages_per_s, s.per_core, s.per_cpu_second) == (2.0, 1.0, 0.5)


def test_a_tool_is_scored_only_on_what_it_gives_and_a_failed_build_has_no_speed():
    pages = [_page("a", text="a b", title="T", date="2021-02-17", language="en")]
    dates = ev.score("s", pages, ev.Run("htmldate", ("date",), {"s/a": ev.Output()}, 1.0, 1.0))
    assert dates.f1 is dates.titles is dates.language is None
    assert dates.dates["missing"] == 1 and dates.pages_per_s == 1.0
    failed = ev.Run("pipeline", ("text",), {}, 3.0, 1.0, status="failed (exit 1)")
    assert ev.score("s", pages, failed).pages_per_s is None


def test_the_pipelines_titles_are_counted_by_their_source():
    pages = [_page(n, title="T") for n in "abcd"]
    outputs = {
        "s/a": ev.Output(title="T", title_source="h1"),
        "s/b": ev.Output(title="T | Site", title_source="h1"),
        "s/c": ev.Output(title="T", title_source="og"),
    }  # d: no title
    s = ev.score("s", pages, ev.Run("pipeline", ev.SCORED, outputs, 1.0, 1.0))
    assert s.titles_by_source == {"h1": [1, 2], "og": [1, 1], "none": [0, 1]}
    assert "s                    0.500: h1 0.500 (1/2), og 1.000 (1/1), none 0.000 (0/1)" in (
        ev.titles_report([s])
    )
    theirs = ev.score("s", pages, ev.Run("trafilatura", ("title",), outputs, 1.0, 1.0))
    assert theirs.titles_by_source == {}


def test_undated_pages_are_listed_and_counted_beside_htmldates():
    pages = [_page("a", date="2021-02-17"), _page("b", date="2021-02"), _page("c")]
    ours = ev.Run("pipeline", ev.SCORED, {"s/a": ev.Output(reject="too_short")}, 1.0, 1.0)
    theirs = ev.Run("htmldate", ("date",), {"s/a": ev.Output(date="2021-02-17")}, 1.0, 1.0)
    assert ev.undated(pages, ours, theirs) == [
        {"page": "s/a", "truth": "2021-02-17", "reject": "too_short", "htmldate": "2021-02-17"},
        {"page": "s/b", "truth": "2021-02", "reject": None, "htmldate": None},
    ]
    scores = [ev.score("s", pages, ours), ev.score("s", pages, theirs)]
    assert ev.missing_dates_report(scores) == (
        "  s                    pipeline   2  htmldate   1  of 2 pages with a date"
    )


def test_issue_18_targets_judge_titles_per_set_and_dates_overall():
    pages = [_page("a", title="T", date="2021-02-17"), _page("b", title="U", date="2021-02")]
    ours = {"s/a": ev.Output(title="T", date="2021-02-17"), "s/b": ev.Output(title="U")}
    theirs = {"s/a": ev.Output(title="T"), "s/b": ev.Output(title="U")}
    scores = [
        ev.score(name, pages, ev.Run(tool, ev.SCORED, outputs, 1.0, 1.0))
        for name in ("s", "all")
        for tool, outputs in (("pipeline", ours), ("trafilatura", theirs))
    ]
    assert dict(ev.title_date_targets(scores)) == {
        "titles: exact >= 0.8": "met: 1.000 of 2 pages",
        "titles: >= trafilatura's on every set": "met: -",
        "dates: missing <= 8": "met: 1",
        "dates: wrong <= 21": "met: 0",
    }
    scores[1] = ev.score("s", pages, ev.Run("trafilatura", ("title",), theirs, 1.0, 1.0))
    scores[0] = ev.score("s", pages, ev.Run("pipeline", ev.SCORED, {}, 1.0, 1.0))
    verdicts = dict(ev.title_date_targets(scores))
    assert verdicts["titles: >= trafilatura's on every set"] == "MISSED: s 0.000 < 1.000"


def test_page_by_page_the_pipeline_losses_are_listed_worst_first():
    pages = [
        _page("a", text="a b c d", date="2021-02-17"),
        _page("b", text="x y", date="2021-02-17"),
        _page("c", contains=("found",), date="2021-02-17"),
        _page("d", date="2021-02-17"),
    ]
    ours = ev.Run("pipeline", ev.SCORED, {
        "s/a": ev.Output(text="a b c", date="2021-02", date_source="url"),
        "s/b": ev.Output(reject="too_short"),
        "s/c": ev.Output(text="found", date="2019-01-01", date_source="text"),
    }, 1.0, 1.0)  # fmt: skip
    theirs = ev.Run("trafilatura", ev.SCORED, {
        "s/a": ev.Output(text="a b c d", date="2021-02-17"),
        "s/b": ev.Output(text="x", date="2021-02-17"),
        "s/c": ev.Output(text="", date="2021-02-18"),
    }, 1.0, 1.0)  # fmt: skip
    body = ev.body_losses(pages, ours, theirs)
    assert [(loss["page"], loss["reject"]) for loss in body] == [
        ("s/b", "too_short"),
        ("s/a", None),
    ]
    assert body[0]["ours"] == 0.0 and body[0]["trafilatura"] == pytest.approx(2 / 3)
    dates = ev.date_losses(pages, ours, theirs)
    assert dates == [
        {"page": "s/b", "truth": "2021-02-17", "ours": "missing", "source": None,
         "reject": "too_short", "trafilatura": "2021-02-17"},
    ]  # fmt: skip
    assert "s/b  truth 2021-02-17  ours missing  reject too_short" in ev._loss_line(dates[0])


def test_the_clock_counts_wall_and_cpu_time_of_its_calls_only():
    clock = ev.Clock()
    assert clock.call(sum, range(200_000)) == sum(range(200_000))
    spent = clock.wall, clock.cpu
    assert spent[0] > 0 and spent[1] > 0
    with pytest.raises(ZeroDivisionError):
        clock.call(lambda: 1 / 0)
    assert clock.wall >= spent[0] and clock.cpu >= spent[1]
    time.sleep(0.05)  # not in a call: not counted
    assert clock.wall < spent[0] + 0.05


# --- truth, the pipeline's rows, the WARC -------------------------------------------------------


def test_every_set_gets_its_reference_and_the_provenance_dates_and_languages(tmp_path):
    pages = {p.key: p for p in ev.load_pages(write_corpus(tmp_path / "corpus"))}
    assert len(pages) == len(PAGES)
    a = pages["trafilatura_eval/council a.html"]
    assert a.path == tmp_path / "corpus" / "html" / "trafilatura_eval" / "council a.html"
    assert a.truth.contains == (ENGLISH[:40],) and a.truth.excludes == ("Impressum", NAV)
    assert (a.truth.title, a.truth.date, a.truth.language) == (PAGES[0][5], "2021-02-17", "en")
    assert pages["htmldate_eval/d.html"].truth == ev.Truth(date="2021-02", language="it")
    b = pages["mozilla_readability/site-b/source.html"].truth
    assert " ".join(b.text.split()) == PAGES[2][6] and b.title == PAGES[2][5]
    c = pages["newspaper4k/c.html"].truth
    assert (c.text, c.title, c.date) == (PAGES[3][6], PAGES[3][5], None)
    e = pages["goose3/test_e.html"].truth
    assert e.contains == (PAGES[4][6][:60],) and e.title.endswith("- Example News")


def test_release_rows_map_back_to_their_files_and_a_duplicate_to_the_row_it_repeats(tmp_path):
    raw = tmp_path / "raw"
    record = {"title": "Piano", "text": ITALIAN, "date": "2021-02-17", "language": "it"}
    write(raw / "a.jsonl", jsonl([record]))
    write(raw / "sub" / "b.jsonl", jsonl([{**record, "title": "Copia"}]))
    write(raw / "c.jsonl", "not json\n")
    run_build(raw, tmp_path / "out")
    outputs = ev.release_outputs(tmp_path / "out")
    assert outputs.keys() == {"a.jsonl", "sub/b.jsonl", "c.jsonl"}
    assert outputs["a.jsonl"] == outputs["sub/b.jsonl"]
    assert outputs["c.jsonl"] == ev.Output(reject="parse_error")
    kept = outputs["a.jsonl"]
    assert (kept.text, kept.date, kept.date_source) == (ITALIAN, "2021-02-17", "record")
    assert kept.language == "it" and kept.reject is None
    counts = ev.accounting(tmp_path / "out")
    assert counts["rejects_by_reason"] == {"parse_error": 1} and counts["records_read"] == 3


def test_the_warc_holds_each_page_as_request_and_response_and_is_the_same_bytes_twice(tmp_path):
    pages = [("https://example.org/a?x=1", b"<html>a</html>"), ("https://example.org/b", b"\xe9")]
    first, second = tmp_path / "1" / "crawl.warc.gz", tmp_path / "2" / "crawl.warc.gz"
    for path in (first, second):
        path.parent.mkdir()
        assert write_warc(iter(pages), path, ev.FETCH_DATE) == 2
    data = first.read_bytes()
    assert data == second.read_bytes()
    records = [
        (
            r.rec_type,
            r.rec_headers.get_header("WARC-Target-URI"),
            r.rec_headers.get_header("WARC-Date"),
            r.content_stream().read(),
        )
        for r in ArchiveIterator(io.BytesIO(data))
    ]
    assert [r[0] for r in records] == ["warcinfo", "request", "response", "request", "response"]
    responses = [r for r in records if r[0] == "response"]
    assert [(uri, payload) for _, uri, _, payload in responses] == pages
    assert {date for _, _, date, _ in records} == {ev.FETCH_DATE}


def test_a_page_without_a_url_gets_a_made_up_one_that_names_it():
    page = ev.Page("newspaper4k", "a b/ü.html", Path("x"), "hard::a", ev.Truth())
    assert ev.warc_url(page) == "https://corpus.invalid/newspaper4k/a%20b/%C3%BC.html"
    assert ev.warc_url(replace(page, url="http://example.org/x")) == "http://example.org/x"


# --- the whole run ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_whole_run_scores_every_set_and_builds_the_warc(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "corpus")
    config = make_config(tmp_path)
    out = tmp_path / "out"
    assert ev.main(["--corpus", str(corpus), "--config", str(config), "--out", str(out)]) == 0
    shown = capsys.readouterr().out
    results = json.loads((out / "eval.json").read_text(encoding="utf-8"))
    assert list(out.iterdir()) == [out / "eval.json"]  # the builds' scratch folders are gone
    scores = {(s["set"], s["tool"]): s for s in results["scores"]}
    sets = [*dict.fromkeys(p[0] for p in PAGES), "all"]
    assert list(scores) == [(s, t) for s in sets for t in ("pipeline", "trafilatura", "htmldate")]
    for tool in ("pipeline", "trafilatura"):
        page = scores["trafilatura_eval", tool]
        assert (page["must_contain"], page["must_not_contain"], page["titles"]) == (1, 1, 1)
        assert page["dates"]["exact"] == 1 and page["pages_per_s"] > 0
        assert scores["newspaper4k", tool]["f1"] > 0.9
    month = {tool: scores["htmldate_eval", tool]["dates"] for tool in ("pipeline", "htmldate")}
    assert month["pipeline"]["exact"] == 1  # "febbraio 2021" is 2021-02 ...
    assert month["htmldate"]["wrong"] == 1  # ... not htmldate's 2021-01-01
    ours = scores["all", "pipeline"]
    assert ours["dates"]["exact"] == 3 and ours["rejects"] == {} and ours["skipped"] == 0
    assert (ours["language"], ours["language_pages"]) == (1.0, len(PAGES))
    assert results["targets"]["dates: exact + consistent >= htmldate's exact"].startswith("met")
    warc = results["warc"]
    assert (warc["status"], warc["pages"], warc["workers"]) == ("ok", len(PAGES), 2)
    assert warc["accounting"]["records_read"] == warc["accounting"]["rows"] == len(PAGES)
    assert warc["accounting"]["skipped_records"] == {"warc request": 5, "warc warcinfo": 1}
    assert warc["load_dataset_rows"] == len(PAGES)
    assert warc["ratio"] > 0 and warc["cpu_ratio"] > 0 and warc["cpu_seconds"] > 0
    assert ours["titles_by_source"] == {"h1": [3, 4]}  # goose3's reference keeps "- Example News"
    assert results["losses"]["left undated"] == []
    assert len(results["targets"]) == 12
    assert results["targets"]["titles: exact >= 0.8"] == "MISSED: 0.750 of 4 pages"
    for line in (
        "set                 tool",
        "pipeline titles exact, by title_source (exact/pages):\n  trafilatura_eval",
        "dates missing without a URL, by set:\n  trafilatura_eval     pipeline   0  htmldate   0",
        "WARC build (5 pages",
        "issue 8 targets:",
        "issue 18 targets:",
    ):
        assert line in shown
