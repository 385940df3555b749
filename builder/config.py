"""`dataset.toml`: the dataset's identity and the build settings, validated on load."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from builder.errors import ConfigError

DEFAULT_CONFIG = Path("dataset.toml")
MiB = 1024 * 1024
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


class BuildSection(_Strict):
    min_words: int = Field(
        default=25, ge=0, description="Reject articles with fewer words (too_short)."
    )
    max_record_bytes: int = Field(
        default=16 * MiB,
        gt=0,
        description="Reject records whose raw bytes exceed this (too_large).",
    )
    max_file_bytes: int = Field(
        default=1024 * MiB,
        gt=0,
        description="Reject .json files (read whole) over this (too_large).",
    )
    max_shard_bytes: int = Field(
        default=512 * MiB,
        gt=0,
        description="Cut a new shard when a file's uncompressed rows reach this.",
    )
    max_row_group_bytes: int = Field(
        default=128 * MiB,
        gt=0,
        le=128 * MiB,
        description="Uncompressed bytes per Parquet row group.",
    )


class Config(_Strict):
    dataset: DatasetSection
    build: BuildSection = BuildSection()


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
