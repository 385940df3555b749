"""Quality signals: exact values on small texts, nulls where undefined, the same values as a
plain per-text reference on any batch, thresholds per language, and the card's percentiles."""

from __future__ import annotations

import re
import time
import tomllib
from collections import Counter

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.build import build
from builder.config import Config, load_config
from builder.errors import ConfigError
from builder.progress import Progress
from builder.text.chars import chars_of
from builder.text.re2 import CodeSet
from builder.text.signals import signals
from builder.text.stopwords import (
    CASED_PLANES,
    CONTEXTUAL,
    NO_CHARACTER,
    STOPWORDS_FILE,
    lower_table,
    stop_words,
)
from builder.text.word_batch import words_of
from builder.text.words import LETTER_PLANES, WORD
from builder.writers.card import render_card
from builder.writers.manifest import Stats, manifest_json, read_manifest
from schema.article import QUALITY_MEASURED_CHARS, QUALITY_SIGNALS, Article
from schema.languages import ISO_639_1
from tests.reference import words as reference_words
from tests.support import ENGLISH, ITALIAN, TODAY, _Null, config, rejects, rows, seed_text, write


def measure(text: str | None, language: str = "en") -> dict[str, float | None]:
    """The signals of one text, as the step computes them over a batch."""
    out = signals(pa.array([text], pa.string()), pa.array([language]))
    return {name: values[0].as_py() for name, values in out.items()}


# Exact values on small texts


def test_line_signals_on_a_small_text():
    text = "Breaking: it rains.\nBreaking: it rains.\n\n• Umbrellas sold out\nMore soon...\n"
    got = measure(text)
    # four non-blank lines: two end in '.', one in '...' (terminal too), one bullet, one repeat
    assert got["terminal_punct_line_share"] == 3 / 4
    assert got["ellipsis_line_share"] == 1 / 4
    assert got["bullet_line_share"] == 1 / 4
    assert got["duplicate_line_share"] == 1 / 4
    lengths = [19, 19, 20, 12]
    assert got["duplicate_line_char_share"] == 19 / sum(lengths)


def test_terminal_punctuation_may_be_followed_by_closing_quotes_and_works_in_other_scripts():
    text = "He said “yes.”\n(Done!)\n東京は晴れ。\nهل هذا صحيح؟\nNo full stop here"
    assert measure(text)["terminal_punct_line_share"] == 4 / 5


def test_word_signals_on_a_small_text():
    got = measure("The 3 cats sat, 42 times; the end!")
    # words: The 3 cats sat 42 times the end -> 8 words of 3+1+4+3+2+5+3+3 = 24 characters
    assert got["mean_word_length"] == 24 / 8
    assert got["letter_word_share"] == 6 / 8
    # non-space characters: 24 in words, and ',', ';', '!' outside them
    assert got["non_alnum_char_share"] == 3 / 27
    # stop words of the English list, lower-cased: the, the
    assert got["stop_word_share"] == 2 / 8


def test_top_ngram_share_is_the_characters_its_occurrences_cover():
    got = measure("red car red car red bus")
    # 2-grams: "red car" x2 (chars 6), "car red" x2 (6), "red bus" x1: a tie on count and length
    # goes to the first, "red car" at words 0 and 2: words 0-3 covered, 12 of 18 characters
    assert got["top_2gram_char_share"] == 12 / 18
    # 3-grams: "red car red" x2 at 0 and 2 (overlapping): words 0-4, 15 of 18 characters
    assert got["top_3gram_char_share"] == 15 / 18
    assert got["top_4gram_char_share"] == 0  # no 4-gram repeats


def test_top_ngram_ties_go_to_the_longer_ngram():
    got = measure("a b x a b y longer words z longer words")
    # "a b" and "longer words" both twice: the longer one counts
    assert got["top_2gram_char_share"] == 22 / (6 * 1 + 2 * 11 + 1)


def test_cjk_characters_are_words_of_one_character():
    got = measure("東京 tower 東京", "ja")
    assert got["mean_word_length"] == (1 + 1 + 5 + 1 + 1) / 5
    assert got["stop_word_share"] is None  # no Japanese list


def test_every_signal_is_null_without_text():
    for text in ("", None):
        assert set(measure(text).values()) == {None}


def test_signals_undefined_for_a_text_are_null_and_the_others_are_not():
    got = measure("... !!! ?!")  # a line, but no word
    assert got["terminal_punct_line_share"] == 1.0 and got["non_alnum_char_share"] == 1.0
    assert got["mean_word_length"] is None and got["stop_word_share"] is None
    short = measure("Two words")
    assert short["top_2gram_char_share"] == 0 and short["top_3gram_char_share"] is None


# Stop words per language


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "The cat and the dog", 3 / 5),
        ("it", "Il gatto e il cane dell’amica", 4 / 7),  # il e il dell
        ("de", "Der Hund und die Katze", 3 / 5),
        ("fr", "Le chat et l’oiseau", 3 / 5),  # le et l
        ("es", "El perro y el gato", 3 / 5),
        ("pt", "O cão e o gato", 3 / 5),
        ("nl", "De hond en de kat", 3 / 5),
        ("pl", "Pies i kot w domu", 2 / 5),
        ("zh", "The cat and the dog", None),  # no list
        ("und", "The cat and the dog", None),
    ],
)
def test_stop_word_share_uses_the_list_of_the_language(language, text, expected):
    assert measure(text, language)["stop_word_share"] == expected


def test_the_stop_word_lists_are_lower_case_single_words_of_known_languages():
    data = tomllib.loads(STOPWORDS_FILE.read_text(encoding="utf-8"))
    assert {"en", "it", "de", "fr", "es", "pt", "nl", "pl"} <= set(data)
    for language, words in data.items():
        assert language in ISO_639_1
        assert len(words) == len(set(words)) >= 40, language
        for word in words:
            assert word == word.lower() and WORD.findall(word) == [word], (language, word)
    assert stop_words()["en"] == frozenset(data["en"])


# The batch computation against a plain reference, text by text


_CLOSING = "[\"'”’»›)\\]」』）]*\\Z"
TERMINAL_LINE = re.compile(f"[.!?…。！？｡؟۔।॥።‼⁇⁈⁉]{_CLOSING}")
ELLIPSIS_LINE = re.compile(f"(?:\\.\\.\\.|…){_CLOSING}")
BULLET_LINE = re.compile("[•‣◦●○▪▫■□►▶➢➤✓✔]|[-*+][ \t\n\f\r]")  # RE2's \s, without \v


def reference(text: str, language: str) -> dict[str, float | None]:
    """The signals as their descriptions say, one text at a time, in plain Python."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    words = reference_words(text)
    chars = sum(map(len, words))
    seen, repeated = set(), []
    for line in lines:
        repeated.append(line in seen)
        seen.add(line)
    symbols = sum(1 for ch in text if not ch.isspace() and not WORD.fullmatch(ch))
    out: dict[str, float | None] = {
        "terminal_punct_line_share": _line_share(TERMINAL_LINE.search, lines),
        "ellipsis_line_share": _line_share(ELLIPSIS_LINE.search, lines),
        "bullet_line_share": _line_share(BULLET_LINE.match, lines),
        "duplicate_line_share": sum(repeated) / len(lines) if lines else None,
        "duplicate_line_char_share": (
            sum(len(x) for x, r in zip(lines, repeated, strict=True) if r) / sum(map(len, lines))
            if lines
            else None
        ),
        "mean_word_length": chars / len(words) if words else None,
        "letter_word_share": (
            sum(any(c.isalpha() for c in w) for w in words) / len(words) if words else None
        ),
        "non_alnum_char_share": symbols / (chars + symbols) if chars + symbols else None,
    }
    for n in (2, 3, 4):
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        if not grams:
            out[f"top_{n}gram_char_share"] = None
            continue
        counts = Counter(grams)
        best = max(
            grams, key=lambda g: (counts[g], sum(map(len, g)), -grams.index(g))
        )  # the most frequent, then the longer, then the first
        covered = set()
        if counts[best] >= 2:
            for i, gram in enumerate(grams):
                if gram == best:
                    covered.update(range(i, i + n))
        out[f"top_{n}gram_char_share"] = sum(len(words[i]) for i in covered) / chars
    listed = stop_words().get(language)
    out["stop_word_share"] = (
        sum(w.lower() in listed for w in words) / len(words) if listed and words else None
    )
    return out


def _line_share(rule, lines: list[str]) -> float | None:
    return sum(bool(rule(line)) for line in lines) / len(lines) if lines else None


_VOCABULARY = [
    "the",
    "cat",
    "Il",
    "gatto",
    "42",
    "東",
    "京",
    "x_y",
    "é",
    "\u0301",
    "\u3099",
    "naïve",
]
_GLUE = [" ", "  ", "\n", "\n\n", ", ", ". ", "…", " - ", "!\n", "\u00a0"]
_texts = st.lists(st.sampled_from(_VOCABULARY + _GLUE), max_size=40).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_texts, st.sampled_from(["en", "it", "zh", "und"])), max_size=12))
def test_a_batch_gives_each_text_the_reference_values(batch):
    texts, languages = [t for t, _ in batch], [lang for _, lang in batch]
    got = signals(pa.array(texts, pa.string()), pa.array(languages, pa.string()))
    for row, (text, language) in enumerate(batch):
        for name, expected in reference(text, language).items():
            value = got[name][row].as_py()
            assert value == pytest.approx(expected), (name, text, language)


# Characters at the edges of every rule: combining and kana voicing marks, Han and kana and the
# non-letters of their blocks, scripts written without spaces and Tibetan, letters whose
# lower-casing is not one fixed character, every kind of space (NBSP, ideographic, \x0b, \x1c),
# closing quotes, terminal punctuation, bullets, digits of other scripts, emoji.
_ADVERSARIAL = list(
    "aZé\u0301\u0308\u093f\u3099\u309a日本語カタ・゠ー々"
    "กิ่ไทยເລົາខ្មែរမြန်ལྷ་"
    "İΣσςßI"
    " \u00a0\u3000\t\r\x0b\x1c\u2028\u200b\n"
    "\"'”’»›)]」』）.!?…。！？؟।-*+•►✓"
    "0٣½_😀👍🏽\u200d"
) + ["The", "THE", "İN", "ΣΑΣ", "...", "- ", "* x", "東京", "กรุงเทพฯ"]
_adversarial = st.lists(st.sampled_from(_ADVERSARIAL + _VOCABULARY + _GLUE), max_size=60).map(
    "".join
)
_long = st.tuples(_adversarial, st.integers(1, 40)).map(
    lambda text_times: text_times[0] * text_times[1]
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(_adversarial | _long, st.sampled_from(["en", "it", "de", "th", "ja", "und"])),
        max_size=12,
    )
)
def test_adversarial_unicode_gets_exactly_the_reference_values(batch):
    texts, languages = [t for t, _ in batch], [lang for _, lang in batch]
    got = signals(pa.array(texts, pa.string()), pa.array(languages, pa.string()))
    for row, (text, language) in enumerate(batch):
        for name, expected in reference(text, language).items():
            assert got[name][row].as_py() == expected, (name, text, language)


def test_texts_measured_in_chunks_get_the_values_they_get_together(monkeypatch):
    texts = pa.array([ENGLISH, "", None, ITALIAN * 3, "red car red car", "東京 東京"])
    languages = pa.array(["en", "en", None, "it", "en", "ja"])
    together = signals(texts, languages)
    monkeypatch.setattr("builder.text.chars.CHUNK_BYTES", 16)  # one text per chunk
    assert signals(texts, languages) == together
    assert all(len(v) == 0 for v in signals(texts[:0], languages[:0]).values())


def test_a_huge_text_is_measured_on_its_beginning():
    """A record of a million one-letter words costs what its first 100,000 characters cost."""
    huge = "a b " * 250_000
    start = time.perf_counter()
    assert measure(huge) == measure(huge[:QUALITY_MEASURED_CHARS])
    assert time.perf_counter() - start < 5


def test_words_are_lower_cased_as_python_does_before_the_stop_word_lists():
    """The table lower-cases one code point at a time; the two characters Python lower-cases
    otherwise (İ to two code points, Σ by its place in the word) make a word no list holds."""
    changed = CodeSet.where(lambda ch: ch.lower() != ch)
    assert changed.ranges() == CodeSet.where(lambda ch: ch.lower() != ch, CASED_PLANES).ranges()
    table = lower_table()
    for code in changed.codepoints():
        lowered = chr(code).lower()
        assert table[code] == (ord(lowered) if chr(code) not in CONTEXTUAL else NO_CHARACTER)
        assert len(lowered) == 1 or chr(code) in CONTEXTUAL
    listed = "".join(set().union(*stop_words().values()))
    assert not set("\u0307σς") & set(listed)  # İ lower-cases to i and U+0307, Σ to σ or ς
    assert measure("İN İn in", "en")["stop_word_share"] == 1 / 3


def test_no_letter_lies_outside_the_planes_searched_for_letters():
    assert CodeSet.where(str.isalpha).ranges() == CodeSet.where(str.isalpha, LETTER_PLANES).ranges()


def test_words_are_the_words_num_words_counts():
    texts = ["東京タワー is 333 m tall", "naïve café\u0301s_x", "", "a\u3099b 日本", "ราคา฿100"]
    chars = chars_of(pa.array(texts))
    words = words_of(chars)
    spans = zip(words.starts, words.ends, strict=True)
    assert [chars.codes[a:b].tobytes().decode() for a, b in spans] == [
        w for t in texts for w in reference_words(t)
    ]
    assert words.owner.tolist() == [i for i, t in enumerate(texts) for _ in reference_words(t)]


# Thresholds


def with_quality(quality: dict, steps: list[str] | None = None) -> Config:
    base = config()
    build_settings = base.build.model_dump(mode="json") | {"quality": quality}
    if steps:
        build_settings["steps"] = steps
    return Config.model_validate({**base.model_dump(mode="json"), "build": build_settings})


SPAM = "Buy now cheap deals click here best price " * 4  # no stop word, no sentence end
LISTING = "\n".join(f"- Item {i} on sale today" for i in range(8))


@pytest.fixture
def raw(tmp_path):
    write(tmp_path / "raw" / "en.txt", seed_text("2021-02", ENGLISH))
    write(tmp_path / "raw" / "it.txt", seed_text("2021-02", ITALIAN))
    write(tmp_path / "raw" / "spam.jsonl", f'{{"text": "{SPAM}", "language": "en"}}\n')
    listing = LISTING.replace("\n", "\\n")
    write(tmp_path / "raw" / "list.jsonl", f'{{"text": "{listing}", "language": "it"}}\n')
    return tmp_path / "raw"


def build_with(tmp_path, raw, cfg: Config):
    return build(cfg, raw, tmp_path / "dist", today=TODAY, progress=Progress(0, _Null()))


def test_no_article_is_dropped_on_signals_by_default(tmp_path, raw):
    report = build_with(tmp_path, raw, config())
    kept = rows(report.out)
    assert len(kept) == 4 and not rejects(report.out)
    spam = next(r for r in kept if r["text"].startswith("Buy"))
    assert spam["stop_word_share"] == 0 and spam["terminal_punct_line_share"] == 0
    assert all(r[name] is not None for r in kept for name in QUALITY_SIGNALS)


def test_thresholds_reject_as_low_quality_naming_the_rule_and_the_value(tmp_path, raw):
    cfg = with_quality(
        {
            "*": {"min_terminal_punct_line_share": 0.5},
            "en": {"min_stop_word_share": 0.2},
            "it": {"max_bullet_line_share": 0.5},
        }
    )
    report = build_with(tmp_path, raw, cfg)
    assert sorted(r["language"] for r in rows(report.out)) == ["en", "it"]
    details = {r["source_path"]: (r["reason"], r["detail"]) for r in rejects(report.out)}
    assert details == {
        "spam.jsonl": (
            "low_quality",
            "terminal_punct_line_share 0 below build.quality.*.min_terminal_punct_line_share = 0.5",
        ),
        "list.jsonl": (
            "low_quality",
            "terminal_punct_line_share 0 below build.quality.*.min_terminal_punct_line_share = 0.5",
        ),
    }
    quality = next(s for s in report.manifest.steps if s.name == "quality")
    assert quality.rejects == {"low_quality": 2}
    assert report.accounting.balanced


def test_a_language_rule_replaces_the_star_rule_of_the_same_name(tmp_path, raw):
    cfg = with_quality(
        {
            "*": {"min_stop_word_share": 0.9},  # would drop everything
            "en": {"min_stop_word_share": 0.2},
            "it": {"min_stop_word_share": 0.0, "max_bullet_line_share": 0.5},
        }
    )
    report = build_with(tmp_path, raw, cfg)
    details = {r["source_path"]: r["detail"] for r in rejects(report.out)}
    assert details == {
        "spam.jsonl": "stop_word_share 0 below build.quality.en.min_stop_word_share = 0.2",
        "list.jsonl": "bullet_line_share 1 above build.quality.it.max_bullet_line_share = 0.5",
    }


def test_a_null_signal_passes_its_rule(tmp_path):
    write(
        tmp_path / "raw" / "zh.jsonl",
        '{"text": "中文新闻 今天 北京 天气 晴朗 多云", "language": "zh"}\n',
    )
    report = build_with(
        tmp_path, tmp_path / "raw", with_quality({"*": {"min_stop_word_share": 0.5}})
    )
    assert [r["stop_word_share"] for r in rows(report.out)] == [None]


def test_a_build_without_the_quality_step_leaves_the_columns_null(tmp_path, raw):
    cfg = config().model_copy(
        update={
            "build": config().build.model_copy(
                update={"steps": ["normalize", "dates", "language", "validate"]}
            )
        }
    )
    report = build_with(tmp_path, raw, cfg)
    assert {r[name] for r in rows(report.out) for name in QUALITY_SIGNALS} == {None}
    assert "Quality signals" in (report.out / "README.md").read_text()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[build.quality.xx]\nmin_stop_word_share = 0.1", "'xx' is not an ISO 639-1 code"),
        ("[build.quality.en]\nmin_stopwords = 0.1", "unknown rule 'min_stopwords'"),
        ("[build.quality.en]\nabove_stop_word_share = 0.1", "unknown rule"),
        ("[build.quality.en]\nmin_stop_word_share = 1.5", "between 0 and 1, got 1.5"),
        ("[build.quality.en]\nmax_mean_word_length = -1", "at least 0, got -1"),
        ('[build.quality.en]\nmin_stop_word_share = "0.1"', "valid number"),
        ("[build.quality.en]\nmin_stop_word_share = true", "valid number"),
        ("[build.quality.en]\nmin_stop_word_share = nan", "finite number"),
        (
            "[build.quality.en]\nmin_stop_word_share = 0.5\nmax_stop_word_share = 0.2",
            "no article passes",
        ),
        (
            '[build]\nsteps = ["normalize", "validate"]\n[build.quality.en]\n'
            "min_stop_word_share = 0.2",
            "no 'quality' step",
        ),
    ],
)
def test_a_bad_threshold_is_one_config_error(tmp_path, table, message):
    path = tmp_path / "dataset.toml"
    path.write_text(
        '[dataset]\nname = "n"\nrepo_id = "o/n"\nversion = "1.0.0"\nlicense = "mit"\n'
        f'languages = ["en"]\ndescription = "d"\n\n{table}\n'
    )
    with pytest.raises(ConfigError, match=f"build.*: .*{message}"):
        load_config(path)


def test_thresholds_load_from_toml_and_travel_in_the_manifest(tmp_path, raw):
    path = tmp_path / "dataset.toml"
    path.write_text(
        '[dataset]\nname = "n"\nrepo_id = "o/n"\nversion = "1.0.0"\nlicense = "mit"\n'
        'languages = ["en"]\ndescription = "d"\n\n[build]\nmin_words = 5\n\n'
        "[build.quality.en]\nmin_stop_word_share = 0.2\nmax_mean_word_length = 12\n\n"
        '[build.quality."*"]\nmax_duplicate_line_share = 0.3\n'
    )
    cfg = load_config(path)
    assert cfg.build.quality == {
        "*": {"max_duplicate_line_share": 0.3},
        "en": {"min_stop_word_share": 0.2, "max_mean_word_length": 12.0},
    }
    report = build_with(tmp_path, raw, cfg)
    manifest = read_manifest(report.out / "manifest.json")
    assert manifest.build_settings.quality == cfg.build.quality
    card = (report.out / "README.md").read_text()
    assert render_card(cfg, manifest) == card  # as publish renders it, from the sorted JSON
    assert (
        "rejected as `low_quality`: `*`: max_duplicate_line_share = 0.3; "
        "`en`: max_mean_word_length = 12, min_stop_word_share = 0.2" in card
    )


# The card and the manifest


def test_the_card_shows_each_signals_percentiles_per_language(tmp_path, raw):
    report = build_with(tmp_path, raw, config())
    quality = report.manifest.stats.quality
    assert list(quality) == ["en", "it"]
    assert list(quality["en"]) == list(QUALITY_SIGNALS)
    assert list(quality["en"]["stop_word_share"]) == ["p1", "p10", "p50", "p90", "p99"]
    card = (report.out / "README.md").read_text()
    assert "<summary>Quality signals: en</summary>" in card
    assert "| signal | p1 | p10 | p50 | p90 | p99 |" in card
    english = rows(report.out)
    value = next(r for r in english if r["text"].startswith("The city"))["stop_word_share"]
    # two English articles, the spam's 0 and the news's value: nearest ranks pick one of them
    assert f"| `stop_word_share` | 0 | 0 | 0 | {round(value, 4):g} | {round(value, 4):g} |" in card
    assert "the build set no thresholds" in card


def test_a_manifest_without_quality_stats_keeps_its_bytes(tmp_path, raw):
    report = build_with(tmp_path, raw, config())
    older = report.manifest.model_copy(
        update={"stats": report.manifest.stats.model_copy(update={"quality": {}})}
    )
    text = manifest_json(older)
    assert '"quality": {' not in text.split('"stats"')[1].split('"steps"')[0]
    assert Stats.model_validate({**older.stats.model_dump(), "quality": {}}) == older.stats


def test_a_txt_folder_of_many_languages_fills_the_columns(tmp_path):
    """Seed-format files in several languages and scripts, as the shared sample corpus has."""
    bodies = {
        "en": ENGLISH,
        "it": ITALIAN,
        "de": "Der Stadtrat hat gestern Abend einen neuen Plan für nachhaltigen Verkehr "
        "beschlossen, mit mehr Radwegen und elektrischen Bussen in der Altstadt.",
        "ja": "東京都は昨日、新しい交通計画を発表しました。自転車道と電気バスが増えます。"
        "計画は来年から始まり、約二年間続く予定です。",
    }
    for language, body in bodies.items():
        write(tmp_path / "raw" / f"{language}.txt", seed_text("2021-02-03", body))
    report = build_with(tmp_path, tmp_path / "raw", config())
    got = {r["language"]: r for r in rows(report.out)}
    assert set(got) == set(bodies)
    for language, row in got.items():
        for name in QUALITY_SIGNALS:
            if name == "stop_word_share" and language == "ja":
                assert row[name] is None
            else:
                assert row[name] is not None, (language, name)
        Article.model_validate({k: row[k] for k in Article.model_fields})
    assert got["ja"]["terminal_punct_line_share"] == 1.0
    assert got["de"]["stop_word_share"] > 0.1
