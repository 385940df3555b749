"""`manifest.json`: what a release contains and how it was made, with hashes to check it by."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa

import builder
from builder.accounting import Accounting
from builder.config import Config
from builder.layout import DATA_DIR
from schema import SCHEMA_VERSION, arrow_schema

MANIFEST_FORMAT = 1
# With MANIFEST_FORMAT, the marker that makes a folder or a Hub tag one of ours.
GENERATOR = "broadsheet"


def input_fingerprint(files: list[tuple[str, str]]) -> str:
    """sha256 over the sorted (relative path, sha256 of the stored bytes) of every input file."""
    digest = hashlib.sha256()
    for rel, sha in sorted(files):
        digest.update(f"{rel}\t{sha}\n".encode())
    return digest.hexdigest()


def schema_fields() -> list[list[str]]:
    """[column, Arrow type] in column order, for telling breaking from additive changes between versions."""
    return [[f.name, f"{f.type}{'' if f.nullable else ' not null'}"] for f in arrow_schema()]


def build_manifest(
    config: Config,
    accounting: Accounting,
    files: dict[str, dict],
    fingerprint: str,
    input_files: int,
    stats: dict,
) -> dict:
    """The manifest as a dict; `files` maps release paths to {sha256, size, rows, ...}."""
    return {
        "generator": GENERATOR,
        "manifest_format": MANIFEST_FORMAT,
        "dataset": {
            "name": config.dataset.name,
            "repo_id": config.dataset.repo_id,
            "version": config.dataset.version,
        },
        "versions": {
            "builder": builder.__version__,
            "pyarrow": pa.__version__,
            "schema": SCHEMA_VERSION,
        },
        "input": {"fingerprint": fingerprint, "files": input_files},
        "build_settings": config.build.model_dump(),
        "accounting": accounting.to_dict(),
        "schema_fields": schema_fields(),
        "stats": stats,
        "files": dict(sorted(files.items())),
    }


def is_broadsheet_manifest(data: object) -> bool:
    """Whether parsed JSON is a manifest Broadsheet wrote: another tool's manifest.json is not."""
    return (
        isinstance(data, dict)
        and data.get("generator") == GENERATOR
        and data.get("manifest_format") == MANIFEST_FORMAT
        and isinstance(data.get("files"), dict)
    )


def shard_entries(manifest: dict) -> dict[str, dict]:
    """The data shards a manifest lists (path -> sha256, size, rows, nbytes)."""
    return {
        path: info for path, info in manifest["files"].items() if path.startswith(f"{DATA_DIR}/")
    }


def write_manifest(manifest: dict, path: Path) -> None:
    path.write_text(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def read_manifest(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
