"""`dataset.toml`: the dataset's identity and the build settings, validated on load."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from builder.errors import ConfigError

DEFAULT_CONFIG = Path("dataset.toml")
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


def _known_steps(names: list[str]) -> list[str]:
    """The step names, checked against the registry (imported here: the steps import this module)."""
    from builder.steps import check_steps

    try:
        return check_steps(names)
    except ValueError as exc:
        raise PydanticCustomError("unknown_step", str(exc)) from None


DEFAULT_STEPS = ("normalize", "dates", "language", "validate")


def _words(n: int) -> str:
    return f"{n:,} words"


STRICT_INT = Field(strict=True)  # a limit must be an integer: `true` or 1.5 are refused


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
        description="Reject .json files (read whole) over this (too_large); at least "
        "max_record_bytes, at most 4 GiB.",
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

    steps: Annotated[list[str], AfterValidator(_known_steps)] = Field(
        default_factory=lambda: list(DEFAULT_STEPS),
        description="The steps every record goes through after its content step, in order; "
        "must include 'validate'.",
    )

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
    unit_bytes: Annotated[int, STRICT_INT, _within(KiB, 4 * GiB)] = Field(
        default=32 * MiB,
        description="Work unit size: plain JSON Lines files larger than this are read as ranges "
        "of about this size (split at line ends) by all workers at once, and files under a "
        "quarter of it are grouped; 1 KiB to 4 GiB. The release does not depend on it.",
    )


class Config(_Strict):
    dataset: DatasetSection
    build: BuildSection = BuildSection()
    run: RunSection = RunSection()


def load_config(path: Path = DEFAULT_CONFIG) -> Config:
    """Read and validate a config file; any problem becomes one ConfigError line naming the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found (pass --config or create dataset.toml)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {where}: {first['msg']}{more}") from None
