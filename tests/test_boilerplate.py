"""The boilerplate step: rule-matched paragraphs removed at the edges of bodies only, by the rules
of the body's language and those for every language; a maintainer's rule file adds rules."""

from __future__ import annotations

import pytest

from builder.batch import Batch
from builder.config import BuildSection, load_config
from builder.errors import ConfigError
from builder.rules.boilerplate import shipped_rules
from builder.steps.boilerplate import MAX_EDGE_PARAGRAPHS, Boilerplate
from builder.transform import StepContext
from schema.working import working_table
from tests.support import CONFIG_TOML, ENGLISH, ITALIAN, TODAY, jsonl, rows, run_build, write

AUDIO = "Ascolta la versione audio dell'articolo"
BYLINE = "di Mario Rossi"
NEWSLETTER = "Iscriviti alla newsletter del Giornale"
RESERVED = "© Riproduzione riservata"


def strip(texts: list[str], languages: list[str], settings: BuildSection | None = None):
    step = Boilerplate(StepContext(settings or BuildSection(), TODAY))
    table = working_table({"text": texts, "language": languages}, len(texts))
    return step.process(Batch(table)).table["text"].to_pylist(), step.counters.counts


def body(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs)


def test_boilerplate_paragraphs_go_from_both_edges_and_each_rule_counts_the_articles_it_touched():
    texts = [
        body(AUDIO, BYLINE, ITALIAN, NEWSLETTER, RESERVED),
        body(ITALIAN, "RIPRODUZIONE RISERVATA ®"),
        body(ITALIAN, ITALIAN),
    ]
    out, counts = strip(texts, ["it", "it", "it"])
    assert out == [ITALIAN, ITALIAN, body(ITALIAN, ITALIAN)]
    assert counts == {
        "it:audio-version": 1,
        "it:byline": 1,
        "it:newsletter": 1,
        "it:all-rights-reserved": 2,
    }


def test_only_the_edges_are_touched():
    text = body(ITALIAN, RESERVED, ITALIAN)
    assert strip([text], ["it"]) == ([text], {})


def test_rules_apply_to_their_language_and_star_rules_to_every_language():
    english = body(
        "Sign up for our daily newsletter", ENGLISH, "Reporting by Jane Doe; Editing by John Roe"
    )
    out, counts = strip(
        [english, english, body(ENGLISH, "© 2024 Example Media")], ["it", "en", "und"]
    )
    assert out == [english, ENGLISH, ENGLISH]
    assert counts == {"en:newsletter": 1, "en:reporting-editing": 1, "*:copyright": 1}


def test_a_body_that_is_all_boilerplate_is_kept_whole_for_validate_to_judge():
    text = body(AUDIO, RESERVED)
    assert strip([text], ["it"]) == ([text], {})


def test_long_paragraphs_and_paragraphs_past_the_bound_are_never_removed():
    long = "Riproduzione riservata " + "x" * 300
    assert strip([body(ITALIAN, long)], ["it"])[0] == [body(ITALIAN, long)]
    many = [RESERVED] * (MAX_EDGE_PARAGRAPHS + 2)
    out, _ = strip([body(ITALIAN, *many)], ["it"])
    assert out == [body(ITALIAN, RESERVED, RESERVED)]


def test_the_shipped_rules_load():
    keys = [rule.key for rule in shipped_rules()]
    assert "it:audio-version" in keys and "*:copyright" in keys and len(keys) == len(set(keys))


def config_with(
    tmp_path, rules: str | None, setting: str = 'boilerplate_rules = "rules/more.toml"'
):
    if rules is not None:
        write(tmp_path / "rules" / "more.toml", rules)
    path = tmp_path / "dataset.toml"
    path.write_text(CONFIG_TOML.format(min_words=5) + setting + "\n", encoding="utf-8")
    return load_config(path)


MORE = """
[[rule]]
language = "it"
name = "follow-us"
where = "end"
pattern = "seguici su (?:facebook|instagram)"
"""


def test_a_maintainers_rules_are_added_from_a_file_beside_the_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path / "..")  # the path is relative to the config file, not the cwd
    config = config_with(tmp_path, MORE)
    assert config.build.boilerplate_rules.file == "rules/more.toml"
    out, counts = strip([body(ITALIAN, "Seguici su Instagram", RESERVED)], ["it"], config.build)
    assert out == [ITALIAN]
    assert counts == {"it:follow-us": 1, "it:all-rights-reserved": 1}
    # the manifest keeps the rules themselves: a release read back needs no file
    again = BuildSection.model_validate(config.build.model_dump(mode="json"))
    assert again.boilerplate_rules == config.build.boilerplate_rules


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (None, "rules/more.toml: boilerplate rule file not found"),
        ("[[rule]\n", "rules/more.toml: cannot read boilerplate rules"),
        (MORE.replace('"end"', '"middle"'), r"rule 1 \(it:follow-us\): where: Input should be"),
        (MORE.replace('"it"', '"xx"'), r"rule 1 \(xx:follow-us\): language 'xx' is not"),
        (MORE.replace("(?:facebook", "(?=facebook"), r"rule 1 \(it:follow-us\): pattern .*RE2"),
        (MORE.replace("seguici su (?:facebook|instagram)", "x*"), "matches an empty paragraph"),
        (MORE + MORE, r"rule 2 \(it:follow-us\): a rule it:follow-us comes earlier"),
        (MORE.replace("follow-us", "newsletter"), "rule it:newsletter is a shipped rule"),
        ("[rules]\n", r"expected only \[\[rule\]\] tables"),
    ],
)
def test_a_bad_rule_file_is_a_config_error_naming_the_file_and_the_rule(tmp_path, rules, message):
    with pytest.raises(ConfigError, match=r"build\.boilerplate_rules: .*" + message):
        config_with(tmp_path, rules)


def test_a_build_strips_boilerplate_and_reports_the_counts(tmp_path):
    raw = write(
        tmp_path / "raw" / "a.jsonl",
        jsonl([{"text": body(AUDIO, ITALIAN, RESERVED), "language": "it"}, {"text": ENGLISH}]),
    )
    report = run_build(raw.parent, tmp_path / "out")
    assert sorted(r["text"] for r in rows(tmp_path / "out")) == sorted([ITALIAN, ENGLISH])
    step = next(s for s in report.manifest.steps if s.name == "boilerplate")
    assert step.counts == {"it:all-rights-reserved": 1, "it:audio-version": 1}
    table = report.accounting.table()
    assert "boilerplate: noticed" in table and "it:audio-version" in table
