"""`dataset.toml`: the dataset's identity and the build settings, validated on load."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    model_serializer,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from builder.errors import ConfigError
from builder.rules.boilerplate import RuleFile, read_rules, shipped_rules
from builder.rules.quality import ANY_LANGUAGE, quality_rule
from builder.rules.removals import Removals, read_removals
from schema.article import Article
from schema.languages import ISO_639_1, UNDETERMINED

DEFAULT_CONFIG_FILE = Path("dataset.toml")
KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
REPO_ID_PATTERN = r"^[\w.-]+/[\w.-]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSection(_Strict):
    name: str = Field(description="Short name of the dataset, used in the card title.")
    repo_id: str = Field(pattern=REPO_ID_PATTERN, description="Hub repository, 'org/name'.")
    version: str = Field(
        pattern=r"^\d+\.\d+\.\d+$", description="Semver of the release; published as tag 'vX.Y.Z'."
    )
    license: str = Field(
        description="SPDX-style license id understood by the Hub, e.g. 'cc-by-4.0'."
    )
    languages: list[str] = Field(description="ISO 639-1 codes the dataset is expected to contain.")
    description: str = Field(description="One paragraph on what the dataset is, shown in the card.")
    pretty_name: str | None = Field(default=None, description="Display name; defaults to `name`.")
    private: bool = Field(default=False, description="Create the Hub repository as private.")
    citation: str | None = Field(
        default=None, description="BibTeX for the card's citation section."
    )


def _size(n: int) -> str:
    """Bytes as a reader writes them: 1073741824 -> '1 GiB'."""
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


def _within(low: int, high: int, unit: Callable[[int], str] = _size) -> AfterValidator:
    """A bound with a message in the setting's unit, before any reader allocates by it."""

    def check(value: int) -> int:
        if not low <= value <= high:
            raise PydanticCustomError(
                "out_of_range",
                "must be between {low} and {high}, got {value}",
                {"low": unit(low), "high": unit(high), "value": f"{value:,}"},
            )
        return value

    return AfterValidator(check)


# The steps, by name (builder.steps.STEPS holds one class per name; a test keeps them equal).
StepName = Literal["normalize", "dates", "language", "boilerplate", "validate", "quality"]
STEP_NAMES: tuple[str, ...] = get_args(StepName)
REQUIRED_STEP = "validate"  # it computes the published fields every later step and shard needs
# quality runs after validate: it measures only the texts kept, and an article too short or
# invalid is rejected for that before any quality rule is tried.
DEFAULT_STEPS: tuple[StepName, ...] = (
    "normalize",
    "dates",
    "language",
    "boilerplate",
    "validate",
    "quality",
)


def _step_list(names: object) -> object:
    """The step names in a form that makes a pipeline: known, each once, `validate` among them."""
    if not isinstance(names, list):
        return names  # pydantic says what type it should be
    unknown = [name for name in names if name not in STEP_NAMES]
    if unknown:
        raise PydanticCustomError(
            "unknown_step",
            "unknown step {step}; the steps are {steps}",
            {"step": repr(unknown[0]), "steps": ", ".join(sorted(STEP_NAMES))},
        )
    if len(set(names)) != len(names):
        raise PydanticCustomError("step_twice", "a step is listed twice")
    if REQUIRED_STEP not in names:
        raise PydanticCustomError(
            "required_step",
            "must include {step}, which computes the published fields",
            {"step": repr(REQUIRED_STEP)},
        )
    return names


def _words(n: int) -> str:
    return f"{n:,} words"


STRICT_INT = Field(strict=True)  # a limit must be an integer: `true` or 1.5 are refused


_T = TypeVar("_T")


def _read_beside_config(
    value: str, info: ValidationInfo, read: Callable[[Path, str], _T], error: str
) -> _T:
    """A file the config names, read by `read` from the config file's folder when the loader says
    where it is (else the current directory); its ValueError becomes a validation error."""
    base = Path((info.context or {}).get("config_dir", "."))
    try:
        return read(base / value, value)
    except ValueError as exc:
        raise PydanticCustomError(error, str(exc)) from exc


def _rule_file(value: object, info: ValidationInfo) -> object:
    """A path (relative to the config file's folder when the loader says where it is, else to
    the current directory) becomes its rules; a RuleFile from a manifest stays as it is."""
    if not isinstance(value, str):
        return value
    rules = _read_beside_config(value, info, read_rules, "bad_rules")
    shipped = {rule.key for rule in shipped_rules()}
    clash = next((rule.key for rule in rules if rule.key in shipped), None)
    if clash:
        raise PydanticCustomError(
            "bad_rules", f"{value}: rule {clash} is a shipped rule: give it another name"
        )
    return RuleFile(file=value, rules=rules)


def _removal_file(value: object, info: ValidationInfo) -> object:
    """A path (relative to the config file's folder, as for boilerplate rules) becomes its
    entries; Removals from a manifest stay as they are."""
    if not isinstance(value, str):
        return value
    entries = _read_beside_config(value, info, read_removals, "bad_removals")
    return Removals(file=value, entries=entries)


Threshold = Annotated[float, Field(strict=True, allow_inf_nan=False)]


def _signal_limit(signal: str) -> float | None:
    """The schema's upper bound of a signal (1 for a share), None when it has none."""
    return next((m.le for m in Article.model_fields[signal].metadata if hasattr(m, "le")), None)


def _quality_rules(value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per language ('*' for every language), thresholds the quality signals must meet; checked
    for known languages and signals, values the signal can take, and min not above max."""
    for language, rules in value.items():
        if language not in ISO_639_1 | {UNDETERMINED, ANY_LANGUAGE}:
            raise PydanticCustomError(
                "bad_quality_rule",
                "{language} is not an ISO 639-1 code, 'und' or '*'",
                {"language": repr(language)},
            )
        for key, threshold in rules.items():
            try:
                bound, signal = quality_rule(key)
            except ValueError as exc:
                raise PydanticCustomError(
                    "bad_quality_rule",
                    "{language}: {problem}",
                    {"language": language, "problem": str(exc)},
                ) from exc
            limit = _signal_limit(signal)
            if threshold < 0 or (limit is not None and threshold > limit):
                raise PydanticCustomError(
                    "bad_quality_rule",
                    "{language}.{key}: must be {range}, got {value}",
                    {
                        "language": language,
                        "key": key,
                        "range": "at least 0" if limit is None else f"between 0 and {limit}",
                        "value": threshold,
                    },
                )
            other = rules.get(f"max_{signal}") if bound == "min" else None
            if other is not None and other < threshold:
                raise PydanticCustomError(
                    "bad_quality_rule",
                    "{language}.{key} = {value} is above max_{signal} = {other}: no article passes",
                    {
                        "language": language,
                        "key": key,
                        "value": threshold,
                        "signal": signal,
                        "other": other,
                    },
                )
    # sorted, so that the card reads the same from the config and from the manifest's JSON
    return {language: dict(sorted(value[language].items())) for language in sorted(value)}


class NearDuplicateSection(_Strict):
    """The near-duplicate stage (builder.stages.near): MinHash over word n-grams of simplified
    text (lower case, no punctuation, digits folded), LSH in bands, clusters of near-copies.
    On by default, marking: a news corpus is full of syndicated copies, and a user who keeps
    them all still wants to know which they are; removing them is one setting away."""

    enabled: bool = Field(
        default=True,
        description="Find near-copies (syndicated, corrected); on by default, false turns the "
        "stage off.",
    )
    shingle_words: Annotated[int, STRICT_INT, Field(ge=1, le=16)] = Field(
        default=5, description="Words per shingle (word n-gram); 1 to 16."
    )
    bands: Annotated[int, STRICT_INT, Field(ge=1, le=64)] = Field(
        default=16,
        description="LSH bands; hashes = bands x rows_per_band; 1 to 64. Articles at "
        "similarity s share a band with probability 1 - (1 - s^rows_per_band)^bands: 0.98 "
        "at 0.8 for 16 of 7 (0.92 for FineWeb's 14 of 8).",
    )
    rows_per_band: Annotated[int, STRICT_INT, Field(ge=1, le=32)] = Field(
        default=7, description="Hashes per band: more makes a band match rarer; 1 to 32."
    )
    threshold: Annotated[float, Field(strict=True, ge=0.3, le=1.0)] = Field(
        default=0.7,
        description="Estimated Jaccard similarity (of the shingle sets) from which two articles "
        "sharing a band are near-copies; 0.3 to 1.",
    )
    keep: Literal["first", "longest", "earliest"] = Field(
        default="first",
        description="Which article of a cluster is kept: the first in source order, the longest "
        "text, or the earliest dated (ties and undated ones: the first in source order).",
    )
    action: Literal["mark", "remove"] = Field(
        default="mark",
        description="'mark' (the default): near-copies stay as rows, and every article of a "
        "cluster gets the kept one's id as cluster_id; 'remove': all but the kept one become "
        "duplicates (near_duplicate), left out of the release.",
    )


class BuildSection(_Strict):
    min_words: Annotated[int, STRICT_INT, _within(0, 10_000, _words)] = Field(
        default=25, description="Reject articles with fewer words (too_short); 0 to 10,000."
    )
    max_record_bytes: Annotated[int, STRICT_INT, _within(KiB, GiB)] = Field(
        default=16 * MiB,
        description="Reject records whose raw bytes exceed this (too_large); 1 KiB to 1 GiB.",
    )
    max_file_bytes: Annotated[int, STRICT_INT, _within(KiB, 4 * GiB)] = Field(
        default=1024 * MiB,
        description="Reject a .json file holding one value (read whole; an array is streamed) "
        "over this (too_large); at least max_record_bytes, at most 4 GiB.",
    )
    max_shard_bytes: Annotated[int, STRICT_INT, _within(MiB, 4 * GiB)] = Field(
        default=512 * MiB,
        description="Cut a new shard when a file's uncompressed rows reach this; 1 MiB to 4 GiB.",
    )
    max_row_group_bytes: Annotated[int, STRICT_INT, _within(64 * KiB, 128 * MiB)] = Field(
        default=64 * MiB,
        description="Uncompressed bytes per Parquet row group; 64 KiB to 128 MiB, at most "
        "max_shard_bytes.",
    )

    extraction_timeout: Annotated[float, Field(strict=True, ge=0.1, le=600)] = Field(
        default=5.0,
        description="Seconds one web page's extraction may take before it is rejected "
        "(extraction_timeout) and the worker goes on; 0.1 to 600.",
    )

    steps: Annotated[list[StepName], BeforeValidator(_step_list)] = Field(
        default_factory=lambda: list(DEFAULT_STEPS),
        description="The steps every record goes through after its row maker, in order; "
        "must include 'validate'.",
    )
    language_source: Literal["declared", "detected"] = Field(
        default="declared",
        description="Which language a record or page that declares one gets: 'declared' keeps "
        "it always; 'detected' takes the model's instead where the model contradicts it (another "
        "language with at least language_contradiction probability, on at least 20 letters). "
        "Contradictions are counted in the language step either way.",
    )
    language_contradiction: Annotated[float, Field(strict=True, ge=0.5, le=1.0)] = Field(
        default=0.95,
        description="The probability, 0.5 to 1, from which the model's language contradicts a "
        "declared one (0.95: no wrong guess at that probability in our measurement).",
    )

    boilerplate_rules: Annotated[RuleFile | None, BeforeValidator(_rule_file)] = Field(
        default=None,
        description="A TOML file of boilerplate rules ([[rule]] tables: language, name, where, "
        "pattern) added to the shipped ones; a path relative to the folder of the config file.",
    )

    quality: Annotated[dict[str, dict[str, Threshold]], AfterValidator(_quality_rules)] = Field(
        default_factory=dict,
        description="Thresholds on the quality signals, off unless given: a table per language "
        "(ISO 639-1 code, 'und', or '*' for every language) of min_<signal> / max_<signal> "
        "values, e.g. [build.quality.en] min_stop_word_share = 0.2. A language's own rule "
        "replaces the '*' one of the same name; a null signal passes. An article outside one is "
        "rejected as low_quality, the detail naming the rule and the value. Needs the 'quality' "
        "step.",
    )
    near_duplicates: NearDuplicateSection = Field(
        default_factory=NearDuplicateSection,
        description="The near-duplicate stage ([build.near_duplicates]).",
    )
    remove: Annotated[Removals | None, BeforeValidator(_removal_file)] = Field(
        default=None,
        description="Takedowns: a file (a path relative to the folder of the config file) of "
        "articles to keep out of every build, one per line: a URL (with ://), a text sha256 "
        "(64 hex digits: every copy of that text), an id (32 hex digits) or a domain (with its "
        "subdomains); # comments and blank lines allowed. Matching records are rejects with "
        "reason removed, without their text; a line that matches nothing is reported. Read "
        "when the config is loaded and kept in the manifest; a change recomputes no cached unit.",
    )

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Without `remove` while it is unset: releases built without one keep their bytes."""
        data = handler(self)
        if data.get("remove", "") is None:
            del data["remove"]
        return data

    @model_validator(mode="after")
    def _limits_fit_together(self) -> BuildSection:
        for small, large in (
            ("max_record_bytes", "max_file_bytes"),
            ("max_row_group_bytes", "max_shard_bytes"),
        ):
            if getattr(self, small) > getattr(self, large):
                raise PydanticCustomError(
                    "limits_conflict",
                    "{large} ({large_value}) must be at least {small} ({small_value})",
                    {
                        "small": small,
                        "large": large,
                        "small_value": _size(getattr(self, small)),
                        "large_value": _size(getattr(self, large)),
                    },
                )
        if self.quality and "quality" not in self.steps:
            raise PydanticCustomError(
                "quality_without_step",
                "build.quality sets thresholds but build.steps has no 'quality' step to apply them",
            )
        return self


ExecutorName = Literal["local", "ray"]


class RunSection(_Strict):
    """Where a build runs; never part of the manifest, since it never changes the release's bytes."""

    executor: ExecutorName = Field(
        default="local",
        description="'local': worker processes on this machine; 'ray': tasks on a Ray cluster.",
    )
    address: str | None = Field(
        default=None,
        description="Ray cluster address (host:port, or 'auto'); none starts a local Ray instance.",
    )
    work: str | None = Field(
        default=None,
        description="Where work files (parts, keys, shards before they are copied) go: a folder "
        "or an fsspec URL (s3://..., any filesystem installed here and on the workers) that "
        "every worker can reach; the build works in a new folder inside it and removes it "
        "after. None: a .work folder inside the release being built.",
    )
    cache: str | None = Field(
        default=None,
        description="The build cache: a folder or an fsspec URL every worker can reach, where "
        "each work unit's results are kept under a key of its input bytes, the [build] settings "
        "and the builder's code and libraries, so that a build computes only what changed and a "
        "killed build, run again, redoes only the units in flight. None: a .<release>.cache "
        "folder beside the release. --no-cache ignores it. The release does not depend on it.",
    )
    cache_max_bytes: Annotated[int, STRICT_INT, _within(MiB, 16 * 1024 * GiB)] = Field(
        default=20 * GiB,
        description="The cache's size bound: after a build, the least recently used entries "
        "beyond it are removed (never the build's own); 1 MiB to 16 TiB.",
    )
    unit_bytes: Annotated[int, STRICT_INT, _within(KiB, 4 * GiB)] = Field(
        default=32 * MiB,
        description="Work unit size: plain JSON Lines files and WARC files (.warc, and .warc.gz "
        "written one gzip member per record) larger than this are read as ranges of about this "
        "size (split at line ends, record starts) by all workers at once, and files under a "
        "quarter of it are grouped; 1 KiB to 4 GiB. The release does not depend on it.",
    )


class Config(_Strict):
    dataset: DatasetSection
    build: BuildSection = BuildSection()
    run: RunSection = RunSection()


def load_config(path: Path | str = DEFAULT_CONFIG_FILE) -> Config:
    """Read and validate a config file; any problem becomes one ConfigError line naming the key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: config file not found (pass --config or create dataset.toml)"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return Config.model_validate(data, context={"config_dir": path.parent})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {where}: {first['msg']}{more}") from exc


def config_table() -> str:
    """The config reference as a Markdown table, from the model's fields and their descriptions
    (docs/config.md holds it; a test fails when the two differ)."""
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for section, info in Config.model_fields.items():
        lines += _model_rows(section, info.annotation)
    return "\n".join(lines)


def _model_rows(prefix: str, model: object) -> list[str]:
    assert isinstance(model, type) and issubclass(model, BaseModel)
    rows = []
    for name, info in model.model_fields.items():
        key = f"{prefix}.{name}"
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            rows += _model_rows(key, info.annotation)
            continue
        description = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {_default(name, info)} | {description} |")
    return rows


def _default(name: str, info: FieldInfo) -> str:
    """A field's default as a reader of the TOML file writes it."""
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int) and name.endswith("_bytes"):
        return _size(value)
    if isinstance(value, (list, tuple)):
        return "`[" + ", ".join(f'"{item}"' for item in value) + "]`"
    if isinstance(value, dict):
        return "`{}`" if not value else f"`{value}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"
