"""The engine: Arrow batches through declared steps, counters per step, rules compiled from the model."""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Annotated

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pydantic import Field, field_validator

from builder.accounting import StepCounters
from builder.batch import Batch, RawBatch, Verdicts, reject_table
from builder.build import build
from builder.config import Config, load_config
from builder.constraints import compile_checks
from builder.errors import ConfigError
from builder.outcomes import DUPLICATE_SCHEMA, REJECT_SCHEMA, Duplicate, Reject, RejectReason
from builder.progress import Progress
from builder.readers.json import JsonLinesReader
from builder.reading.chain import BATCH_ROWS, coalesced, raw_batches, run_steps
from builder.records import RawRecord
from builder.rows.crawler_fields import CrawlerFields
from builder.steps import STEPS, Step
from builder.transform import StepContext
from schema import Article, arrow_schema
from schema.working import INTERNAL, published, working_schema, working_table
from tests.support import (
    ENGLISH,
    ITALIAN,
    TODAY,
    _Null,
    config,
    items_of,
    jsonl,
    read_file,
    rows,
    seed_text,
    source_at,
    write,
)


class LongOnly(Step):
    """A step placed after validation: it sees valid rows (num_words filled in) and rejects some."""

    name = "long_only"

    def process(self, batch: Batch) -> Batch:
        verdicts = Verdicts(len(batch))
        short = pc.less(batch.table["num_words"], 60).to_numpy(zero_copy_only=False)
        verdicts.reject(short, RejectReason.TOO_SHORT, "fewer than 60 words, after validation")
        return verdicts.apply(batch.table)


def with_steps(*steps: str) -> Config:
    base = config()
    return base.model_copy(update={"build": base.build.model_copy(update={"steps": list(steps)})})


def build_with(tmp_path, cfg: Config, raw=None):
    return build(
        cfg, raw or tmp_path / "raw", tmp_path / "dist", today=TODAY, progress=Progress(0, _Null())
    )


@pytest.fixture
def raw(tmp_path):
    write(tmp_path / "raw" / "a.txt", seed_text("2021-02", ITALIAN))
    short = {"text": "Only a few words here, not forty.", "url": "https://e.com/1"}
    write(tmp_path / "raw" / "b.jsonl", jsonl([{"text": ENGLISH * 2, "language": "en"}, short]))
    return tmp_path / "raw"


def test_a_step_after_validation_runs_and_is_counted(tmp_path, raw, monkeypatch):
    monkeypatch.setitem(STEPS, "long_only", LongOnly)
    cfg = with_steps("normalize", "dates", "language", "validate", "long_only")
    report = build_with(tmp_path, cfg)
    assert [r["source_path"] for r in rows(report.out)] == ["b.jsonl"]
    steps = {s.name: s for s in report.manifest.steps}
    assert (steps["long_only"].rows_in, steps["long_only"].rows_out) == (3, 1)
    assert steps["long_only"].rejects == {"too_short": 2}
    assert report.accounting.balanced


def test_manifest_lists_every_step_in_order_without_seconds(tmp_path, raw):
    report = build_with(tmp_path, config())
    manifest = json.loads((report.out / "manifest.json").read_text())
    names = [s["name"] for s in manifest["steps"]]
    assert names == [
        "read",
        "seed_text",
        "crawler_fields",
        "normalize",
        "dates",
        "language",
        "boilerplate",
        "validate",
        "quality",
    ]
    assert all("seconds" not in s for s in manifest["steps"])
    read, text, crawler, *steps = manifest["steps"]
    assert read["rows_out"] == text["rows_in"] + crawler["rows_in"]  # each file has one row maker
    assert steps[0]["rows_in"] == text["rows_out"] + crawler["rows_out"]
    for before, after in itertools.pairwise(steps):
        assert before["rows_out"] == after["rows_in"]
    for step in manifest["steps"]:
        assert step["rows_in"] == step["rows_out"] + sum(step["rejects"].values())
    rejected = sum(sum(s["rejects"].values()) for s in manifest["steps"])
    assert rejected == manifest["accounting"]["rejected"]  # no id conflicts here
    assert "seconds" in report.accounting.table() and "validate" in report.accounting.table()


def test_the_step_list_comes_from_the_config(tmp_path, raw):
    report = build_with(tmp_path, with_steps("normalize", "dates", "language", "validate"))
    names = [s.name for s in report.manifest.steps]
    assert "quality" not in names and names[-1] == "validate"
    assert report.manifest.build_settings.steps == ["normalize", "dates", "language", "validate"]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (("normalize", "validate"), "'validate' needs 'language', .* the 'language' step"),
        (("normalize", "language", "validate"), "'validate' needs 'date', .* the 'dates' step"),
        (("dates", "language", "validate"), "'validate' needs 'authors', .* the 'normalize' step"),
        (("quality", "normalize", "dates", "language", "validate"), "'quality' needs 'language'"),
        (
            ("normalize", "dates", "language", "validate", "boilerplate"),
            "'boilerplate' changes the text after 'validate'",
        ),
    ],
)
def test_steps_that_cannot_make_a_valid_row_are_a_config_error(tmp_path, raw, steps, message):
    """A step list the config accepts name by name, but whose steps leave a column a later step
    needs unfilled: exit 2 naming the missing step, before anything is read or written."""
    with pytest.raises(ConfigError, match=f"^build.steps: {message}"):
        build_with(tmp_path, with_steps(*steps))
    assert not (tmp_path / "dist").exists()


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ('["normalize", "spellcheck", "validate"]', "unknown step 'spellcheck'; the steps are"),
        ('["normalize", "dates"]', "must include 'validate'"),
        ('["validate", "validate"]', "listed twice"),
    ],
)
def test_a_bad_step_list_is_one_config_error(tmp_path, steps, message):
    path = tmp_path / "dataset.toml"
    path.write_text(
        '[dataset]\nname = "n"\nrepo_id = "o/n"\nversion = "1.0.0"\nlicense = "mit"\n'
        f'languages = ["en"]\ndescription = "d"\n\n[build]\nsteps = {steps}\n'
    )
    with pytest.raises(ConfigError, match=f"build.steps: .*{message}"):
        load_config(path)


# Validation compiled from the model


class Stricter(Article):
    """The model with one more constraint, as a later schema change would add it."""

    title: Annotated[str | None, Field(max_length=10, description="Short titles only.")]


def valid_rows(**changes) -> pa.Table:
    row = {
        "id": "0" * 32, "title": None, "text": "Text.", "date": "2021-02", "date_precision": "month",
        "language": "en", "url": None, "domain": None, "authors": [], "source_path": "a.txt",
        "source_record": 1, "source_sha256": "0" * 64, "num_words": 1, "num_chars": 5,
        "text_sha256": "0" * 64,
    }  # fmt: skip
    return pa.Table.from_pylist([row | changes], schema=arrow_schema().remove_metadata())


def failures(model, table) -> list[str]:
    return [c.field for c in compile_checks(model) if c.failing(table).any()]


def test_a_new_constraint_in_the_model_is_enforced_without_touching_the_validator():
    long_title = valid_rows(title="A much longer title")
    assert failures(Article, long_title) == []
    assert failures(Stricter, long_title) == ["title"]
    (check,) = [c for c in compile_checks(Stricter) if c.failing(long_title).any()]
    assert check.detail({}) == "String should have at most 10 characters"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "XYZ"}, "id"),
        ({"text": ""}, "text"),
        ({"date": "2021-2"}, "date"),
        ({"date_precision": "week"}, "date_precision"),
        ({"language": "xx"}, "language"),
        ({"source_path": ""}, "source_path"),
        ({"source_record": 0}, "source_record"),
        ({"source_sha256": "abc"}, "source_sha256"),
        ({"num_words": -1}, "num_words"),
        ({"num_chars": -1}, "num_chars"),
        ({"text_sha256": "A" * 64}, "text_sha256"),
        ({"date_precision": "day"}, "record"),
        ({"date": None}, "record"),
    ],
)
def test_every_rule_of_the_model_has_a_compiled_check(changes, field):
    """Each row breaks one rule; the checks agree with pydantic on which."""
    table = valid_rows(**changes)
    with pytest.raises(ValueError):
        Article.model_validate(table.to_pylist()[0])
    assert failures(Article, table)[:1] == [field]


def test_every_constrained_field_has_a_check():
    constrained = {n for n, f in Article.model_fields.items() if f.metadata} | {"language"}
    assert constrained <= {c.field for c in compile_checks(Article)}
    assert failures(Article, valid_rows()) == []


def test_a_validator_without_a_compiled_check_stops_at_start_up():
    class Checked(Article):
        @field_validator("title")
        @classmethod
        def _no_shouting(cls, value):
            return value

    with pytest.raises(TypeError, match="_no_shouting"):
        compile_checks(Checked)


# Schemas defined once


def test_table_schemas_are_derived_from_their_records():
    assert REJECT_SCHEMA.names == [f.name for f in dataclasses.fields(Reject)]
    assert DUPLICATE_SCHEMA.names == [f.name for f in dataclasses.fields(Duplicate)]
    assert [f.name for f in REJECT_SCHEMA if f.nullable] == ["domain"]  # unknown for some


def test_the_working_schema_is_the_published_one_plus_internal_columns():
    names = working_schema().names
    assert names == arrow_schema().names + INTERNAL.names
    table = pa.Table.from_pylist(
        [valid_rows().to_pylist()[0] | {"raw_date": "x"}], working_schema()
    )
    assert published(table).schema == arrow_schema()


def test_rejects_of_a_content_step_and_the_steps_meet_in_record_order():
    context = StepContext(config().build, TODAY)
    records = [
        RawRecord("a.jsonl", 1, "0" * 64, {"text": ENGLISH}),
        RawRecord("a.jsonl", 2, "0" * 64, ["not", "an", "object"]),
        RawRecord("a.jsonl", 3, "0" * 64, {"text": "12 34"}),
    ]
    chain = [CrawlerFields(context), *(STEPS[n](context) for n in config().build.steps)]
    items = items_of(run_steps([RawBatch(records)], chain))
    assert [type(i).__name__ for i in items] == ["dict", "Reject", "Reject"]
    assert [i.reason for i in items[1:]] == [RejectReason.PARSE_ERROR, RejectReason.NO_TEXT]
    assert items[0]["language"] == "en" and items[0]["num_words"] == len(ENGLISH.split())
    assert [s.counters.rows_in for s in chain] == [3, 2, 1, 1, 1, 1, 1]
    assert np.array_equal([s.counters.rows_out for s in chain], [2, 1, 1, 1, 1, 1, 1])


def test_a_batch_holds_a_bounded_size_of_records(tmp_path, monkeypatch):
    """Big records make small batches: memory follows BATCH_SIZE, not BATCH_ROWS records of any size."""
    monkeypatch.setattr("builder.reading.chain.BATCH_SIZE", 10_000)
    path = write(tmp_path / "a.jsonl", jsonl([{"text": f"{i} " + "x" * 3000} for i in range(10)]))
    source = source_at(path, "a.jsonl")
    counters = StepCounters("read")
    batches = list(raw_batches(read_file(JsonLinesReader(config().build), source), counters))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert (counters.rows_in, counters.rows_out) == (10, 10)


def test_small_batches_after_the_content_step_are_joined_in_order():
    """Pages shrink to their text in the row maker: the steps after it get full batches."""

    def batch(first: int, rows: int, rejected: bool = False) -> Batch:
        table = working_table({"source_record": list(range(first, first + rows))}, rows)
        rejects = [reject_table([Reject("a.html", first, RejectReason.NO_TEXT, "x")])]
        return Batch(table, rejects if rejected else [])

    small = [batch(i * 3, 3, rejected=i % 2 == 0) for i in range(BATCH_ROWS // 3 + 5)]

    joined = list(coalesced(small))

    # a batch's rejects are held with it, so they count toward BATCH_ROWS as its rows do
    held = itertools.accumulate(len(b) + len(b.rejects) for b in small)
    first = 3 * next(n for n, rows in enumerate(held, 1) if rows >= BATCH_ROWS)
    assert [len(b) for b in joined] == [first, 3 * len(small) - first]
    records = [r for b in joined for r in b.table["source_record"].to_pylist()]
    assert records == list(range(3 * len(small)))
    assert sum(len(b.rejects) for b in joined) == sum(len(b.rejects) for b in small)
