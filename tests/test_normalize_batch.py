"""The batch normalizer gives, row by row, exactly what the per-article reference gives."""

import unicodedata
from itertools import chain

import ftfy
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from ftfy.badness import BADNESS_RE
from hypothesis import example, given, settings
from hypothesis import strategies as st

from builder.text.normalize import (
    _SPACE_RUNS,
    C0,
    EDGE_SPACES,
    FTFY_CONFIG,
    MAX_MARK_RUN,
    SPACE_RUNS_CHANGED,
    check_complexity,
    repair,
    tidy,
)
from builder.text.normalize_batch import (
    batch_patterns,
    normalize_column,
    normalize_inline_column,
    normalize_inline_lists,
)
from builder.text.words import PLANES
from tests.catalogue import LEGACY
from tests.reference import normalize_inline, normalize_text
from tests.support import ENGLISH, ITALIAN


def reference(texts: list[str | None]) -> tuple[list[str | None], dict[int, str]]:
    """What `normalize_text` gives per row: the text, or (None and) the TooComplexError message."""
    out, errors = [], {}
    for row, text in enumerate(texts):
        try:
            out.append(None if text is None else normalize_text(text))
        except ValueError as exc:
            out.append(None)
            errors[row] = str(exc)
    return out, errors


def assert_same(texts: list[str | None]) -> None:
    expected, errors = reference(texts)
    done = normalize_column(pa.array(texts, pa.string()))
    assert done.values.to_pylist() == expected
    assert done.errors == errors
    inline = normalize_inline_column(pa.array(texts, pa.string()))
    assert inline.values.to_pylist() == [
        None if row in errors else normalize_inline(text) for row, text in enumerate(texts)
    ]
    assert inline.errors == errors


def mojibake(text: str, codec: str) -> str:
    return text.encode("utf-8").decode(codec, errors="ignore")


# Text of every kind the rules act on, mixed: mojibake read in the code pages ftfy knows,
# C0 and C1 controls, NFD, Unicode and zero-width spaces, separators, line endings, mark runs.
_CODECS = ("cp1252", "latin-1", "cp1250", "cp1251", "cp1253", "mac_roman", "cp437")
_WORDS = ["città", "perché", "Größe", "été", "señor", "Ωμέγα", "日本語", "ﬁne", "’", "“x”", "€5"]
_PIECES = (
    ["\n", "\r\n", "\r", "\n\n\n", "  ", "\t", " \t ", "\x00", "\x0b", "\x0c", "\x1c", "\x7f"]
    + ["\x85", "\x93", "\x9d", "\u2028", "\u2029", "\ufffe", "\uffff", "\ufeff", "\u200b"]
    + ["\u00a0", "\u3000", "\u2000", "\u2060", "\u180e", "\u206a", "\ufff9", "e\u0301", "\u0301"]
    + ["\u1100\u1161", "\u1161", "\u0958", "\uf900", "\u0344", "\u0f73", "Ã", "Â ", "Ã "]
    + ["\u0300" * (MAX_MARK_RUN + 1)]
)
words = st.sampled_from(_WORDS) | st.text(st.characters(codec="utf-8"), max_size=12)
mojibake_words = st.builds(mojibake, words, st.sampled_from(_CODECS))
nfd_words = words.map(lambda w: unicodedata.normalize("NFD", w))
pieces = st.sampled_from(_PIECES) | words | mojibake_words | nfd_words | st.just(" ")
texts = st.lists(pieces, max_size=40).map("".join) | st.text(st.characters(codec="utf-8"))


@settings(max_examples=250, deadline=None)
@given(st.lists(texts | st.none(), max_size=12))
def test_batch_equals_reference_row_by_row(batch):
    assert_same(batch)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.none() | st.lists(texts | st.none(), max_size=4), max_size=6))
@example([["\u0300" * 31, "\\" + "\u0300" * 31]])  # two refused authors: the first one is named
def test_author_lists_equal_the_reference(batch):
    expected, errors = [], {}
    for row, authors in enumerate(batch):
        try:
            expected.append(
                None if authors is None else [a for a in map(normalize_inline, authors) if a]
            )
        except ValueError as exc:
            errors.setdefault(row, str(exc))
            expected.append(None)
    done = normalize_inline_lists(pa.array(batch, pa.list_(pa.string())))
    assert done.errors == errors
    got = done.values.to_pylist()
    assert [v for row, v in enumerate(got) if row not in errors] == [
        v for row, v in enumerate(expected) if row not in errors
    ]


def test_author_lists_of_any_arrow_shape():
    chunked = pa.chunked_array([[["  A  ", "\n"], None], [], [["B\x93"]]])
    assert normalize_inline_lists(chunked).values.to_pylist() == [["A"], None, ["B“"]]
    large = pa.array([[" x "]], pa.large_list(pa.large_string()))
    assert normalize_inline_lists(large).values.to_pylist() == [["x"]]
    assert normalize_inline_lists(pa.array([[], None], pa.list_(pa.null()))).values.to_pylist() == [
        [],
        None,
    ]
    assert normalize_inline_lists(pa.chunked_array([], pa.list_(pa.string()))).values.type == (
        pa.list_(pa.string())
    )


def test_sample_texts():
    samples = [ITALIAN, ENGLISH, *(text for _codec, text in LEGACY.values())]
    damaged = [mojibake(t, c) for t in samples for c in _CODECS]
    messy = [t.replace(" ", "  \t", 3).replace(". ", ".\r\n\n\n ") for t in samples]
    nfd = [unicodedata.normalize("NFD", t) for t in samples]
    assert_same(samples + damaged + messy + nfd + [None, "", " ", "\n\x85\n"])


def test_text_too_complex_is_null_with_the_reference_message():
    marks = "a" + "\u0301" * (MAX_MARK_RUN + 1)
    done = normalize_column(pa.array(["fine", marks, None, "e\u0301" * 40]))
    with pytest.raises(ValueError) as refused:
        check_complexity(marks)
    assert done.values.to_pylist() == ["fine", None, None, "é" * 40]
    assert done.errors == {1: str(refused.value)}


def test_chunked_large_and_null_columns():
    chunked = pa.chunked_array([["a  b", None], [], ["\x93x\x94", "x" + "\u0301" * 40]])
    done = normalize_column(chunked)
    assert done.values.to_pylist() == ["a b", None, "“x”", None]
    assert list(done.errors) == [3]
    assert normalize_column(pa.array([" é\n"], pa.large_string())).values.type == pa.large_string()
    assert normalize_column(pa.nulls(2)).values.to_pylist() == [None, None]
    assert normalize_inline_column(pa.array(["\n", " x \n\n y"])).values.to_pylist() == [
        None,
        "x y",
    ]
    with pytest.raises(TypeError, match="column of strings"):
        normalize_column(pa.array([1, 2]))


# The proof that rows the RE2 tests pass over are unchanged rests on these facts; checked here.


def re2_finds(pattern: str, text: str) -> bool:
    return pc.match_substring_regex(pa.array([text]), pattern)[0].as_py()


@settings(max_examples=200, deadline=None)
@given(texts)
def test_repair_leaves_alone_what_re2_passes_over(text):
    tidied = tidy(text.replace("\u0301" * MAX_MARK_RUN, ""), C0)
    if not re2_finds(batch_patterns().repair_can_change, tidied):
        assert repair(tidied) == tidied


@settings(max_examples=200, deadline=None)
@given(texts)
def test_re2_finds_every_line_ftfy_calls_bad(text):
    if any(BADNESS_RE.search(line) for line in text.splitlines(keepends=True)):
        assert re2_finds(batch_patterns().repair_can_change, text)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_nfc_leaves_alone_what_re2_passes_over(text):
    if not re2_finds(batch_patterns().nfc_can_change, text):
        assert unicodedata.normalize("NFC", text) == text


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(" \t x\n\u00a0\u3000"), max_size=30) | texts)
def test_space_runs_the_batch_folds_are_the_ones_the_reference_changes(text):
    expected = _SPACE_RUNS.sub(" ", text)
    assert SPACE_RUNS_CHANGED.sub(" ", text) == expected
    folded = pc.replace_substring_regex(pa.array([text]), batch_patterns().space_runs, " ")
    assert folded[0].as_py() == expected


def test_edge_spaces_and_tidy_patterns_are_the_reference_ones():
    for ch in EDGE_SPACES:
        assert normalize_column(pa.array([f"{ch}a{ch}b{ch}\n{ch}"])).values[0].as_py() == (
            normalize_text(f"{ch}a{ch}b{ch}\n{ch}")
        )


def test_ftfy_config_is_the_one_the_row_test_covers():
    """Another fixer (uncurl_quotes, fix_character_width...) would need its characters added."""
    enabled = {name for name in ftfy.FIXERS if getattr(FTFY_CONFIG, name)}
    assert enabled == {
        "restore_byte_a0",  # these three act only on text BADNESS_RE calls bad
        "replace_lossy_sequences",
        "decode_inconsistent_utf8",
        "fix_c1_controls",
        "fix_line_breaks",
        "fix_surrogates",
        "remove_control_chars",
    }
    assert FTFY_CONFIG.fix_encoding and FTFY_CONFIG.normalization == "NFC"


def test_no_mark_or_decomposition_outside_the_planes_scanned():
    scanned = set(chain(*PLANES))
    outside = (c for c in range(0x110000) if c not in scanned)
    assert not [
        c for c in outside if unicodedata.combining(chr(c)) or unicodedata.decomposition(chr(c))
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(texts, max_size=6))
def test_lines_longer_than_ftfy_segments(batch):
    """ftfy cuts a line longer than max_decode_length into segments; such rows take the full path."""
    with pytest.MonkeyPatch.context() as patch:
        short = FTFY_CONFIG._replace(max_decode_length=8)
        patch.setattr("builder.text.normalize.FTFY_CONFIG", short)  # the repair pass
        patch.setattr("builder.text.normalize_batch.FTFY_CONFIG", short)  # which rows take it
        assert_same(batch + ["a\u0300" * 10 + "\u0316", "x" * 20 + "Ã©"])


def test_bench_and_corpus_check_run(tmp_path):
    from bench import normalize as bench_normalize

    (tmp_path / "a.txt").write_text(f"{ITALIAN}\n\n{mojibake(ITALIAN, 'cp1252')}\r\n")
    (tmp_path / "b.txt").write_bytes(b"caf\xe9  \x85\n\n\n")
    assert bench_normalize.check(tmp_path) == 6
    figures = bench_normalize.bench(count=12, reference_count=3)
    assert set(figures) == {
        "benchgen news",
        "ASCII English",
        "accented Italian",
        "mojibake Italian",
    }
    assert all(row["batch_us"] > 0 and row["reference_us"] > 0 for row in figures.values())
