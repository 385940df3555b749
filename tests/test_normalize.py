"""Normalization rules, one by one, and the properties that hold for any text."""

import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from builder.text.normalize import EDGE_SPACES
from tests.reference import normalize_inline, normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("e\u0301te\u0301", "été"),  # NFC
        ("l\u00c3\u00a9t\u00c3\u00a9 arriv\u00c3\u00a9", "lété arrivé"),  # mojibake repaired
        ("a\r\nb\rc", "a\nb\nc"),  # one newline convention
        ("a\u2028b", "a\nb"),
        ("a\u2029b", "a\n\nb"),  # the paragraph separator ends a paragraph
        ("\u00a0\u3000a\u2003\nb\u200b", "a\nb"),  # Unicode and zero-width spaces at line edges
        ("Wait\x85", "Wait…"),
        ("a\x00b\x07c\x1b\x7fd\x8de", "abcde"),  # controls and NUL removed
        ("wait\x85 what\x93s", "wait… what“s"),  # C1 controls read as the Windows-1252 they are
        ("a    b\t\tc", "a b c"),  # runs of spaces collapsed inside lines
        ("end   \nnext\t", "end\nnext"),  # trailing spaces stripped
        ("a\n\n\n\n\nb", "a\n\nb"),  # at most one blank line between paragraphs
        ("a\n   \n\t\nb", "a\n\nb"),  # whitespace-only lines are blank lines
        ("\n\n  body  \n\n", "body"),  # surrounding blank lines and spaces go
    ],
)
def test_rule(raw, expected):
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    "kept",
    [
        "l’azienda “citata” «guillemets» 'single' \"double\"",
        "àèéìòù ÀÉ ñ ß ø č ř",
        "６月12日の歴史的な ﬁne",  # full-width digits and ligatures stay as written
        "Un troisième Français\u00a0: oui",  # non-breaking space is typography, not a space run
        "&amp; &lt;tag&gt;",  # entities in plain text are text
    ],
)
def test_wording_is_untouched(kept):
    assert normalize_text(kept) == kept


def test_inline_fields_fold_newlines():
    assert normalize_inline("  Titolo\n\nsu due righe ") == "Titolo su due righe"
    assert normalize_inline(" \n ") is None
    assert normalize_inline(None) is None


texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=300,
)
paragraphish = st.lists(
    st.one_of(
        texts, st.sampled_from(["\n", "\r\n", "\n\n\n", "  ", "\t", "\x00", "’", "é", "e\u0301"])
    ),
    max_size=30,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(texts, paragraphish))
def test_idempotent(text):
    once = normalize_text(text)
    assert normalize_text(once) == once


@settings(max_examples=200, deadline=None)
@given(st.one_of(texts, paragraphish))
def test_no_spaces_at_line_edges(text):
    for line in normalize_text(text).split("\n"):
        assert line == line.strip(EDGE_SPACES)


def letters(text: str) -> list[str]:
    return [
        ch for ch in unicodedata.normalize("NFC", text) if unicodedata.category(ch).startswith("L")
    ]


# Mojibake repair, the one thing allowed to rewrite letters, needs a UTF-8 continuation byte
# (0x80-0xBF) read in one of the single-byte encodings ftfy considers. Without the characters
# those bytes become, no sequence is mojibake, so every letter (é, ü, ñ, ß, Ω, 日...) must survive.
_FTFY_ENCODINGS = (
    "latin-1",
    "cp1252",
    "cp1250",
    "cp1251",
    "cp1253",
    "cp1254",
    "cp1257",
    "iso-8859-2",
    "mac_roman",
    "cp437",
)
_CONTINUATIONS = {
    ch for enc in _FTFY_ENCODINGS for ch in bytes(range(0x80, 0xC0)).decode(enc, "ignore")
}
non_mojibake_letters = st.characters(
    categories=("L", "Zs", "Cc", "P", "N", "M"), exclude_characters="".join(_CONTINUATIONS)
)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=non_mojibake_letters, max_size=300))
def test_loses_no_letters(text):
    assume("Â " not in text)  # the one exception, below
    assert letters(normalize_text(text)) == letters(text)


def test_a_lone_a_circumflex_before_a_space_is_read_as_a_damaged_no_break_space():
    """ftfy's one exception to "no letter is lost" (hypothesis found it): 'Â' then a space is
    how a UTF-8 no-break space (C2 A0) reads in Latin-1 once the A0 became a space, so ftfy
    repairs it; over every letter up to U+024F it is the only one."""
    assert normalize_text("a Â b") == "a \xa0b"
    assert normalize_text("Ârea") == "Ârea" and normalize_text("ÂB c") == "ÂB c"
