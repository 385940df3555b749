"""The crawler_fields row maker makes paragraphs per column exactly as the per-record rule does."""

import datetime as dt

from ftfy.fixes import fix_surrogates
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.batch import RawBatch
from builder.config import BuildSection
from builder.records import RawRecord
from builder.rows.base import _LINE_BREAKS
from builder.rows.crawler_fields import CrawlerFields
from builder.transform import StepContext


def reference(text: str) -> str:
    """The per-record rule: each run of line breaks ends a paragraph; lone surrogates become U+FFFD."""
    return fix_surrogates(_LINE_BREAKS.sub("\n\n", text))


def texts_of(payloads: list[dict]) -> list[str]:
    records = [RawRecord("a.jsonl", i, "0" * 64, p) for i, p in enumerate(payloads, 1)]
    step = CrawlerFields(StepContext(BuildSection(), dt.date(2026, 11, 26)))
    return step.process(RawBatch(records)).table["text"].to_pylist()


_BREAKS = "\r\n\r\n\n\r\r\x0b\x0c\u2028\u2029\x85 \t"
texts = st.text(st.characters(codec="utf-8") | st.sampled_from(_BREAKS), min_size=1)


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, max_size=12))
def test_paragraphs_equal_the_per_record_rule(batch):
    assert texts_of([{"maintext": t} for t in batch]) == [reference(t) for t in batch]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(st.sampled_from("ab\r\n\ud800\udc00"), min_size=1), max_size=8))
def test_paragraphs_beside_surrogates_equal_the_per_record_rule(batch):
    assert texts_of([{"text": t} for t in batch]) == [reference(t) for t in batch]


def test_rejected_records_leave_the_others_in_order():
    payloads = [{"text": "a\r\nb"}, ["not an object"], {"text": ""}, {"raw_text": "c\n\n\rd\n"}]
    assert texts_of(payloads) == ["a\n\nb", "c\n\nd\n\n"]
    assert texts_of([["nothing kept"]]) == []
