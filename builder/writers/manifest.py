"""`manifest.json`: what a release contains and how it was made, with hashes to check it by.

`Manifest` is the one definition: the build writes it with `write_manifest`, and every reader
(publish plan, verify, card, CLI, the release-folder check) parses it into the model. Every model
forbids unknown keys: a manifest with a key this version does not know was written by a newer
Broadsheet and is refused, not half-read. Adding a key means a new optional field here, omitted
from the JSON while empty, so that earlier releases keep their bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from builder.accounting import Accounting
from builder.config import BuildSection, Config
from builder.layout import DATA_DIR
from builder.version import __version__
from schema import SCHEMA_VERSION, arrow_schema

MANIFEST_FORMAT = 1
# With MANIFEST_FORMAT, the marker that makes a folder or a Hub tag one of ours.
GENERATOR = "broadsheet"
_PERCENTILE = re.compile(r"^p(\d+)$")


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetInfo(_Part):
    name: str
    repo_id: str
    version: str


class Versions(_Part):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    builder: str
    pyarrow: str
    schema_version: str = Field(alias="schema")  # `schema` would shadow a BaseModel method


class InputInfo(_Part):
    fingerprint: str
    files: int


class AccountingTotals(_Part):
    """`Accounting.to_dict()`: the identity records read = rows + rejected + duplicates, with reasons."""

    files: int
    records_read: int
    rows: int
    rejected: int
    duplicates: int
    rejects_by_reason: dict[str, int]
    duplicates_by_reason: dict[str, int]
    skipped_files: list[str]
    skipped_kinds: dict[str, str]
    skipped_records: dict[str, int] = {}  # records passed over on purpose, by kind (WARC requests)


class DomainStat(_Part):
    """One domain of the top of accounting/domains.parquet (`builder.writers.domains`), with
    the counts that are not zero: for the card and the build summary."""

    domain: str | None  # None: the records that name no domain
    records: int
    articles: int
    rejected: dict[str, int] = {}  # by reason
    duplicates: dict[str, int] = {}  # by reason
    dated: dict[str, int] = {}  # articles by date precision, and "undated"
    languages: list[str] = []  # the most articles first
    near_copies: int = 0
    near_copy_clusters: int = 0


class Stats(_Part):
    """Articles per language and month, length percentiles and quality signal percentiles per
    language (`builder.writers.stats.compute_stats`), and the domains that gave the most records
    (`builder.writers.domains`)."""

    articles: int
    by_language: dict[str, int]
    by_month: dict[str, dict[str, int]]
    dates: dict[str, dict[str, int]] = {}  # articles by date source, then by precision
    num_words: dict[str, int]
    num_chars: dict[str, int]
    # per language, per quality signal, its percentiles; omitted from the JSON while empty
    quality: dict[str, dict[str, dict[str, float]]] = {}
    # the domains with the most records, and how many domains there are; omitted while empty
    domains: list[DomainStat] = []
    domain_count: int = 0

    @field_validator("num_words", "num_chars")
    @classmethod
    def _reading_order(cls, value: dict[str, int]) -> dict[str, int]:
        """min, p10 ... p99, max, however the JSON ordered them (it is written with sorted keys)."""
        return _in_reading_order(value)

    @field_validator("quality")
    @classmethod
    def _signals_in_reading_order(
        cls, value: dict[str, dict[str, dict[str, float]]]
    ) -> dict[str, dict[str, dict[str, float]]]:
        return {
            language: {name: _in_reading_order(p) for name, p in signals.items()}
            for language, signals in value.items()
        }

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for key in ("quality", "domains", "domain_count"):
            if not data[key]:
                del data[key]
        return data


def _in_reading_order(value: dict[str, Any]) -> dict[str, Any]:
    """min, p1 ... p99, max."""

    def rank(key: str) -> tuple[int, int, str]:
        match = _PERCENTILE.match(key)
        if match:
            return (1, int(match.group(1)), key)
        return (0 if key == "min" else 2, 0, key)

    return dict(sorted(value.items(), key=lambda item: rank(item[0])))


class FileEntry(_Part):
    """A file of the release; `rows` for tables, `nbytes` (in-memory size) for data shards."""

    sha256: str
    size: int
    rows: int | None = None
    nbytes: int | None = None

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class StepTotals(_Part):
    """One pipeline step's counts; deterministic only (timings differ between runs and stay out)."""

    name: str
    rows_in: int
    rows_out: int
    rejects: dict[str, int] = {}
    counts: dict[str, int] = {}  # StepCounters.counts: what the step noticed, by name


class Manifest(_Part):
    generator: Literal["broadsheet"]  # GENERATOR and MANIFEST_FORMAT: only ours validate
    manifest_format: Literal[1]
    dataset: DatasetInfo
    versions: Versions
    input: InputInfo
    build_settings: BuildSection
    accounting: AccountingTotals
    schema_fields: list[tuple[str, str]]
    stats: Stats
    files: dict[str, FileEntry]
    steps: list[StepTotals] = []  # omitted from the JSON while empty

    @model_validator(mode="after")
    def _shards_are_counted(self) -> Manifest:
        uncounted = [p for p, e in self.shards.items() if e.rows is None or e.nbytes is None]
        if uncounted:
            raise ValueError(f"data shard {uncounted[0]} has no rows or nbytes")
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        if not data["steps"]:
            del data["steps"]
        return data

    @property
    def shards(self) -> dict[str, FileEntry]:
        """The data shards (path -> sha256, size, rows, nbytes)."""
        return {path: e for path, e in self.files.items() if path.startswith(f"{DATA_DIR}/")}

    @property
    def content(self) -> tuple[object, ...]:
        """What makes two releases the same content, whatever their name, version and tools."""
        return (self.files, self.input, self.schema_fields)

    def released_as(self, repo_id: str, version: str) -> Manifest:
        """This manifest with the repository and version it is published under."""
        dataset = self.dataset.model_copy(update={"repo_id": repo_id, "version": version})
        return self.model_copy(update={"dataset": dataset})


def input_fingerprint(files: list[tuple[str, str]]) -> str:
    """sha256 over the sorted (relative path, sha256 of the stored bytes) of every input file."""
    digest = hashlib.sha256()
    for rel, sha in sorted(files):
        digest.update(f"{rel}\t{sha}\n".encode())
    return digest.hexdigest()


def schema_fields() -> list[tuple[str, str]]:
    """(column, Arrow type) in column order, for telling breaking from additive changes between versions."""
    return [(f.name, f"{f.type}{'' if f.nullable else ' not null'}") for f in arrow_schema()]


def build_manifest(
    config: Config,
    accounting: Accounting,
    files: dict[str, dict],
    fingerprint: str,
    input_files: int,
    stats: dict,
) -> Manifest:
    """The manifest of a finished build; `files` maps release paths to {sha256, size, rows, ...}."""
    return Manifest(
        generator=GENERATOR,
        manifest_format=MANIFEST_FORMAT,
        dataset=DatasetInfo(
            name=config.dataset.name,
            repo_id=config.dataset.repo_id,
            version=config.dataset.version,
        ),
        versions=Versions(
            builder=__version__, pyarrow=pa.__version__, schema_version=SCHEMA_VERSION
        ),
        input=InputInfo(fingerprint=fingerprint, files=input_files),
        build_settings=config.build,
        accounting=AccountingTotals.model_validate(accounting.to_dict()),
        schema_fields=schema_fields(),
        stats=Stats.model_validate(stats),
        files={path: FileEntry.model_validate(entry) for path, entry in sorted(files.items())},
        steps=[
            StepTotals(
                name=step.name,
                rows_in=step.rows_in,
                rows_out=step.rows_out,
                rejects=dict(sorted(step.rejects.items())),
                counts=dict(sorted(step.counts.items())),
            )
            for step in accounting.steps
        ],
    )


def manifest_json(manifest: Manifest) -> str:
    """The manifest's bytes on disk and on the Hub: sorted keys, two-space indent, UTF-8, newline."""
    data = manifest.model_dump(mode="json")
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_manifest(manifest: Manifest, path: Path) -> None:
    path.write_text(manifest_json(manifest), encoding="utf-8")


def read_manifest(path: Path) -> Manifest:
    """The manifest at `path`; raises ValidationError (see `damage`) when it is not one of ours.

    From the Hub, readers call `Manifest.model_validate_json` on the file's text.
    """
    return Manifest.model_validate_json(path.read_bytes())


def is_broadsheet_manifest(data: object) -> bool:
    """Whether parsed JSON is a manifest this Broadsheet wrote: another tool's manifest.json is not."""
    try:
        Manifest.model_validate(data)
    except ValidationError:
        return False
    return True


def damage(exc: ValidationError) -> str:
    """Why a manifest cannot be used, in a few words: the first problem the model found."""
    errors = exc.errors(include_url=False)
    fmt = next((e for e in errors if e["loc"] == ("manifest_format",)), None)
    if fmt is not None and fmt["type"] != "missing":
        return f"manifest_format {fmt['input']!r}, this Broadsheet reads {MANIFEST_FORMAT}"
    first = errors[0]
    if first["type"] == "json_invalid":
        return f"invalid JSON: {first['ctx'].get('error', first['msg'])}"
    missing = [".".join(map(str, e["loc"])) for e in errors if e["type"] == "missing"]
    if missing:
        return f"missing {', '.join(missing)}"
    where = ".".join(map(str, first["loc"])) or "the top level"
    return f"{where}: {first['msg']}"
