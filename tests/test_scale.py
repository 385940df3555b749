"""Scale: tens of thousands of records across many files and months, with two workers."""

import pyarrow.compute as pc
import pyarrow.dataset as pads
import pytest

from tests.support import ENGLISH, ITALIAN, jsonl, run_build, write

pytestmark = pytest.mark.slow

MONTHS = [f"20{y:02d}-{m:02d}" for y in range(18, 22) for m in range(1, 13)]


def test_thousands_of_records_balance_and_stay_sorted(tmp_path):
    raw = tmp_path / "raw"
    expected_rows = 0
    for f, month in enumerate(MONTHS):
        records = []
        for j in range(1000):
            base = ITALIAN if j % 2 else ENGLISH
            records.append(
                {
                    "maintext": f"{base} Numero {f}-{j}.",
                    "date_publish": f"{month}-{1 + j % 28:02d}",
                    "url": f"https://n.example/{f}/{j}",
                }
            )
        records.append({"maintext": "too short"})
        records.append(records[0])  # an exact duplicate line
        write(raw / f"{month}.jsonl.zst", jsonl(records))
        expected_rows += 1000
    report = run_build(raw, tmp_path / "dist", workers=2, unit_bytes=1024)
    acc = report.manifest.accounting.model_dump()
    assert acc["records_read"] == len(MONTHS) * 1002
    assert (acc["rows"], acc["rejected"], acc["duplicates"]) == (
        expected_rows,
        len(MONTHS),
        len(MONTHS),
    )
    table = pads.dataset(report.out / "data", format="parquet").to_table(
        columns=["id", "language", "date"]
    )
    assert len(table) == expected_rows and len(pc.unique(table["id"])) == expected_rows
    assert len([p for p in report.manifest.files if p.startswith("data/")]) == 2 * len(MONTHS)
