"""sha256 of the files this program writes (shards, tables, the chart), for the manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """sha256 of a file as stored on disk, for files this program wrote (shards, tables)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
