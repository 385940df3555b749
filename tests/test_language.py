"""The language step: declared or detected language, the model's confidence, 'und' for short or
mixed text, and declarations the model contradicts counted (and overruled only when asked)."""

from __future__ import annotations

import numpy as np
import pytest
from py3langid.langid import MODEL_FILE, RAW_FLOOR, LanguageIdentifier

from builder.batch import Batch
from builder.config import BuildSection, load_config
from builder.errors import ConfigError
from builder.steps.language import DetectLanguage
from builder.text.language import SIDE_BY_SIDE, model
from builder.transform import StepContext
from schema.working import working_table
from tests.reference import detect_language
from tests.support import CONFIG_TOML, ENGLISH, ITALIAN, TODAY

GERMAN = (
    "Der Stadtrat hat gestern Abend einen neuen Plan für nachhaltigen Verkehr beschlossen, mit "
    "mehr Radwegen, elektrischen Bussen und einer verkehrsberuhigten Zone in der Altstadt. Nach "
    "Angaben des Stadtrats beginnen die Arbeiten im Sommer und dauern etwa zwei Jahre."
)


def run(
    texts: list[str | None], declared: list[str | None], **settings
) -> tuple[list, DetectLanguage]:
    step = DetectLanguage(StepContext(BuildSection(**settings), TODAY))
    table = working_table({"text": texts, "declared_language": declared}, len(texts))
    out = step.process(Batch(table)).table
    languages, confidences = out["language"].to_pylist(), out["language_confidence"].to_pylist()
    return list(zip(languages, confidences, strict=True)), step


def test_detected_languages_come_with_the_models_probability():
    (en, en_p), (it, it_p), (de, de_p) = run([ENGLISH, ITALIAN, GERMAN], [None] * 3)[0]
    assert (en, it, de) == ("en", "it", "de")
    assert all(0.9 < p <= 1 for p in (en_p, it_p, de_p))


def test_a_declared_language_is_kept_with_the_models_probability_for_it():
    [(language, confidence), (short, short_p)] = run([ITALIAN, "Ciao"], ["it-IT", "it"])[0]
    assert language == "it" and confidence > 0.9
    assert short == "it" and 0 <= short_p < 0.9  # kept as declared even where the model is unsure


def test_short_or_empty_text_is_undetermined():
    [(short, short_p), (empty, empty_p), (digits, _)] = run(["Hello", "", "12 34 56"], [None] * 3)[
        0
    ]
    assert short == empty == digits == "und"
    assert 0 <= short_p < 1 and empty_p is None  # null only where there is no text


def test_mixed_text_is_undetermined():
    mixed = ENGLISH * 3 + "\n\n" + GERMAN * 3
    assert detect_language(ENGLISH * 3) == "en" and detect_language(GERMAN * 3) == "de"
    assert detect_language(mixed) == "und"


def test_a_contradicted_declaration_is_counted_and_kept_unless_the_config_says_otherwise():
    texts, declared = [ENGLISH, ENGLISH, "Hello there"], ["de", "en", "de"]
    results, step = run(texts, declared)
    assert [language for language, _ in results] == ["de", "en", "de"]
    assert results[0][1] < 0.05  # the model's probability for German on English text
    assert step.counters.counts == {"declared de, detected en": 1}  # too short to contradict
    results, step = run(texts, declared, language_source="detected")
    assert [language for language, _ in results] == ["en", "en", "de"]
    assert results[0][1] > 0.95 and step.counters.counts == {"declared de, detected en": 1}


def test_a_stricter_bound_contradicts_less():
    _, step = run([ENGLISH], ["de"], language_contradiction=1.0)
    assert step.counters.counts == {}


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            'language_source = "model"',
            "build.language_source: Input should be 'declared' or 'detected'",
        ),
        ("language_contradiction = 0.3", "build.language_contradiction: Input should be greater"),
        (
            "language_contradiction = true",
            "build.language_contradiction: Input should be a valid number",
        ),
    ],
)
def test_bad_language_settings_are_config_errors(tmp_path, setting, message):
    path = tmp_path / "dataset.toml"
    path.write_text(CONFIG_TOML.format(min_words=5) + setting + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_config(path)


@pytest.mark.parametrize("copies", [1, SIDE_BY_SIDE])  # walked one by one, then side by side
def test_the_models_scores_are_py3langids_own(copies):
    ours, reference = model(), LanguageIdentifier.from_model_file(MODEL_FILE)
    texts = [ENGLISH, ITALIAN, GERMAN, "", "12", "日本語の文章です", ENGLISH[:7]] * copies
    strings = [LanguageIdentifier._encode(text) for text in texts]
    for scores, data in zip(ours.raw_scores(strings), strings, strict=True):
        expected = reference._raw_score(data)
        if scores is None:
            assert (expected == RAW_FLOOR).all()
        else:
            np.testing.assert_allclose(scores, expected, rtol=1e-4)


@pytest.mark.parametrize("text", [ENGLISH, ITALIAN, "Српски језик", "", "12", "日本語の文章です"])
def test_the_models_ranking_is_py3langids_own(text):
    """Decoding ranks readings of a file's bytes by it; the ranking must stay py3langid's."""
    reference = LanguageIdentifier.from_model_file(MODEL_FILE).rank(text)
    ranked = model().ranked(text)
    assert [label for label, _ in ranked[:5]] == [label for label, _ in reference[:5]]
    np.testing.assert_allclose([s for _, s in ranked], [s for _, s in reference], rtol=1e-4)


def test_a_confidence_rounded_past_one_is_published_as_one(monkeypatch):
    """The model sums float32 probabilities: a sure page (a long Chinese text) can reach
    1.0000001, which the schema's bound would reject."""
    monkeypatch.setattr(type(model()), "best", lambda self, guess: ("zh", 1.0000001192092896))
    [(language, confidence), (_, empty)] = run(["中文的文章" * 300, ""], [None, None])[0]
    assert (language, confidence, empty) == ("zh", 1.0, None)


def test_a_texts_confidence_does_not_depend_on_the_texts_batched_with_it():
    """Releases are byte-identical for any worker count and unit size, which batch texts
    differently: float32 sums must add a text's features in the same order every time."""
    texts = [
        (ENGLISH if i % 2 else ITALIAN)[: 40 + 7 * i] + f" {i}" for i in range(SIDE_BY_SIDE * 3)
    ]
    alone = [run([text], [None])[0][0] for text in texts]
    together = run(texts, [None] * len(texts))[0]
    reversed_ = run(texts[::-1], [None] * len(texts))[0][::-1]
    assert alone == together == reversed_
