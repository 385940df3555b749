"""The builder's own version, as installed (the manifest records it beside the schema's), and the
fingerprint of its code and libraries that the build cache keys its entries by."""

from __future__ import annotations

import hashlib
import os
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("broadsheet")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"


@cache
def fingerprint() -> str:
    """A sha256 of everything that can change what this program makes of the same input besides
    its settings: its own code and data files (builder/, schema/), and the name and version of
    every installed distribution. The build cache keys its entries by it, so that a change of
    code or of any pinned library never reuses results made before it."""
    digest = hashlib.sha256()
    for package in ("builder", "schema"):
        root = Path(__file__).resolve().parent.parent / package
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".toml", ".json"):
                digest.update(path.relative_to(root.parent).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    digest.update("\n".join(_installed()).encode())
    return digest.hexdigest()


def _installed() -> list[str]:
    """The installed distributions as their metadata folders name them ('pyarrow-26.0.1.dist-info'):
    listing the folders is much faster than reading each one's metadata."""
    found: set[str] = set()
    for entry in sys.path:
        if os.path.isdir(entry):
            found.update(n for n in os.listdir(entry) if n.endswith((".dist-info", ".egg-info")))
    return sorted(found)
