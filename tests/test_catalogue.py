"""The bad-input catalogue (tests/catalogue.py), built in one go: every case has its outcome."""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.catalogue import CASES
from tests.support import ROOT, duplicates, rejects, rows, run_build


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """Build every case into one release; return (report, {case name: its expected outcomes})."""
    root = tmp_path_factory.mktemp("catalogue")
    raw = root / "raw"
    raw.mkdir()
    expected: dict[str, dict[str, list[str]]] = {}
    for case in CASES:
        made = case.make(raw)
        taken = {p for outcomes in expected.values() for p in outcomes}
        assert not set(made) & taken, f"{case.name}: a source_path is used twice"
        expected[case.name] = made
    report = run_build(raw, root / "dist", workers=2, unit_bytes=4096)  # many units, ranges
    return report, expected


def outcomes(report) -> dict[str, list[str]]:
    """What the build made of every source_path, in record order."""
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in rows(report.out):
        found[row["source_path"]].append((row["source_record"], "row"))
    for r in rejects(report.out):
        found[r["source_path"]].append((r["source_record"], f"reject:{r['reason']}"))
    for d in duplicates(report.out):
        found[d["source_path"]].append((d["source_record"], f"duplicate:{d['reason']}"))
    for path, kind in report.accounting.skipped.items():
        found[path].append((0, f"skip:{kind}"))
    return {path: [o for _, o in sorted(items)] for path, items in found.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_has_its_outcome(catalogue, case):
    report, expected = catalogue
    got = outcomes(report)
    for path, want in expected[case.name].items():
        assert got.get(path) == want, f"{case.name}: {path}"


def test_nothing_crashed_and_nothing_was_lost(catalogue):
    report, expected = catalogue
    # Counted from the files written, not from the build's own tally.
    assert sum(len(o) for o in outcomes(report).values()) - len(report.accounting.skipped) == (
        report.accounting.records_read
    )
    want = {path: o for made in expected.values() for path, o in made.items()}
    assert set(outcomes(report)) == set(want), (
        "every file is a row, a reject, a duplicate or a skip"
    )
    records = sum(len(o) for o in want.values() if not o[0].startswith("skip:"))
    assert report.accounting.records_read == records


def test_the_safety_docs_state_the_catalogue_as_it_is(catalogue):
    report, expected = catalogue
    files = sum(len(made) for made in expected.values())
    readme = " ".join((ROOT / "docs" / "safety.md").read_text(encoding="utf-8").split())
    assert f"a catalogue of {len(CASES)} hostile or broken inputs" in readme
    assert f"all {files} files ({report.accounting.records_read:,} records)" in readme
