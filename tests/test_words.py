"""Words counted by RE2 over a column are the words the Python reference counts, text by text."""

import re
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.text.re2 import CODE_POINTS, CodeSet, to_re2
from builder.text.word_batch import word_counts
from builder.text.words import CJK, MARK_SET
from tests.reference import count_words


def assert_same(texts: list[str]) -> None:
    assert word_counts(pa.array(texts, pa.string())).tolist() == [count_words(t) for t in texts]


# Characters at the edges of what a word is made of: combining marks (also the two kana voicing
# marks inside the CJK ranges), Han, kana, digits of other scripts, numerics, underscore, emoji
# with skin tone and zero-width joiner, spaces, punctuation.
_SPECIAL = (
    "\u0301\u093f\u0951\u20dd\u3099\u309a\ufe0f\U000e0100日本語\u30a2\u3041\u30fb\uf900\U00020000"
    "\U00030000٣5½²_😀👍🏽\u200d\u200b \u00a0\t\n.,'-’ßǅ"
)
texts = st.text(st.characters(codec="utf-8") | st.sampled_from(_SPECIAL), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, max_size=20))
def test_batch_counts_equal_the_reference(batch):
    assert_same(batch)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(st.characters(categories=["Mn", "Mc", "Me", "Lo", "Nd", "No", "Pc"]))))
def test_marks_letters_and_numbers_of_every_script(batch):
    assert_same(batch)


def test_every_class_boundary():
    """Each code point at the edge of a set the word rule uses, alone and beside each kind."""
    sets = [
        CodeSet.matching(r"\w"),
        CodeSet.matching(f"[{CJK}]"),
        CodeSet.matching(f"[^\\W{CJK}]"),
        MARK_SET,
    ]
    edges = {
        c for s in sets for first, last in s.ranges() for c in (first - 1, first, last, last + 1)
    }
    chars = [chr(c) for c in sorted(edges) if 0 <= c < CODE_POINTS and not 0xD800 <= c <= 0xDFFF]
    neighbours = ["", "a", "日", "\u0301", "\u3099", " ", "_", "1", "😀"]
    cases = [f"{n}{ch}" for ch in chars for n in neighbours] + [
        f"{ch}{n}" for ch in chars for n in neighbours
    ]
    cases += [ch * 3 for ch in chars]
    assert len(chars) > 1000
    assert_same(cases)


def test_samples_of_many_scripts():
    samples = [
        "नगर परिषद ने गुरुवार को अगले साल का बजट मंज़ूर किया",
        "وَافَقَ المَجْلِسُ البَلَدِيُّ يَوْمَ الخَمِيسِ",
        "東京都は木曜日に予算を承認した。カタカナ　ひらがな",
        "서울시 의회는 목요일 예산을 승인했다",
        "naïve cafe\u0301 snake_case 3,14 % 42 — ½ x² ٣",
        unicodedata.normalize("NFD", "Größe été señor Ωμέγα"),
        "\u30ab\u3099\u3099 \u3099a \u3099\u3099",
        "",
    ]
    assert_same(samples)


def test_nulls_chunks_and_empty_columns():
    chunked = pa.chunked_array([["one two", None], [], ["日本 x"]])
    assert word_counts(chunked).tolist() == [2, 0, 3]
    assert word_counts(pa.array([], pa.string())).tolist() == []
    assert word_counts(pa.array(["a b"], pa.large_string())).tolist() == [2]


def test_categories_translate_to_exactly_pythons_code_points():
    """\\w, \\W, \\s, \\d and the word rule's class match in RE2 the code points they match in `re`."""
    chars = [chr(c) for c in range(CODE_POINTS) if not 0xD800 <= c <= 0xDFFF]
    column = pa.array(chars, pa.string())
    for category in (r"\w", r"\W", r"\s", r"\d", f"[^\\W{CJK}]"):
        python = re.compile(f"[{category}]" if len(category) == 2 else category)
        found = pc.match_substring_regex(column, to_re2(python)).to_numpy(zero_copy_only=False)
        expected = np.fromiter(map(bool, map(python.fullmatch, chars)), bool, len(chars))
        assert (found == expected).all(), category
