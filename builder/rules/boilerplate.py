"""Boilerplate rules: the shipped ones and a maintainer's own, as data (`[[rule]]` TOML tables).

A rule names a paragraph at the start or end of a body that is not the article ("Riproduzione
riservata", "Sign up for our newsletter"); the `boilerplate` step removes such paragraphs. Rules
are checked when they are read: a bad file is one error naming the file and the rule.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from builder.text.re2 import to_re2
from schema.languages import ISO_639_1

MAX_RULE_PATTERN = 1000  # characters of a boilerplate rule's regex


class BoilerplateRule(BaseModel):
    """One rule of a boilerplate file: a paragraph at an edge of a body that is not the article."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str = Field(description="ISO 639-1 code of the bodies it applies to, or '*' for all.")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="Its name in the counts.")
    where: Literal["start", "end", "both"] = Field(description="The edge it is looked for at.")
    pattern: str = Field(
        max_length=MAX_RULE_PATTERN,
        description="A regex (Python syntax that has an RE2 translation: no look-arounds or "
        "back-references, no inline flags) matching a whole paragraph.",
    )
    ignore_case: bool = Field(default=True, description="Match the pattern case-insensitively.")

    @model_validator(mode="after")
    def _valid(self) -> BoilerplateRule:
        if self.language != "*" and self.language not in ISO_639_1:
            raise PydanticCustomError(
                "bad_rule",
                "language {language} is not an ISO 639-1 code or '*'",
                {"language": repr(self.language)},
            )
        try:
            compiled = re.compile(self.pattern)
            to_re2(compiled, widen=True)  # the step's first filter runs it in RE2
        except (re.error, ValueError) as exc:
            raise PydanticCustomError(
                "bad_rule",
                "pattern {pattern}: {problem}",
                {"pattern": repr(self.pattern), "problem": str(exc)},
            ) from exc
        if compiled.fullmatch(""):
            raise PydanticCustomError(
                "bad_rule",
                "pattern {pattern} matches an empty paragraph",
                {"pattern": repr(self.pattern)},
            )
        return self

    @property
    def key(self) -> str:
        return f"{self.language}:{self.name}"


def read_rules(path: Path, shown: str) -> list[BoilerplateRule]:
    """The rules of a boilerplate file (`[[rule]]` tables); ValueError naming `shown` and the rule."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"{shown}: boilerplate rule file not found") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{shown}: cannot read boilerplate rules: {exc}") from exc
    unknown = sorted(set(data) - {"rule"})
    if unknown or not isinstance(data.get("rule", []), list):
        raise ValueError(f"{shown}: expected only [[rule]] tables, found {unknown or 'rule'}")
    rules, seen = [], set()
    for number, table in enumerate(data.get("rule", []), start=1):
        label = f"rule {number}"
        if isinstance(table, dict) and "language" in table and "name" in table:
            label += f" ({table['language']}:{table['name']})"
        try:
            rule = BoilerplateRule.model_validate(table)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(
                f"{shown}: {label}: {where + ': ' if where else ''}{first['msg']}"
            ) from exc
        if rule.key in seen:
            raise ValueError(f"{shown}: {label}: a rule {rule.key} comes earlier in the file")
        seen.add(rule.key)
        rules.append(rule)
    return rules


class RuleFile(BaseModel):
    """A maintainer's boilerplate rules, as read when the config was loaded: the manifest keeps
    them whole, so a release says which rules made it and workers need not see the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    rules: list[BoilerplateRule]


SHIPPED_RULES = Path(__file__).with_name("boilerplate.toml")


@cache
def shipped_rules() -> tuple[BoilerplateRule, ...]:
    """The rules that ship with the package (a bad one is a bug: the tests load them)."""
    return tuple(read_rules(SHIPPED_RULES, str(SHIPPED_RULES.name)))
