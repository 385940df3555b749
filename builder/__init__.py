"""Broadsheet: raw news articles in, a validated, versioned dataset on the Hugging Face Hub out.

The library API, which the command line (`python -m builder`) is a thin layer over:

    from builder import build, load_config, publish, verify

    config = load_config("dataset.toml")
    report = build(config, "raw", "dist", workers=2)      # a release folder
    print(report.accounting.table())
    result = publish("dist", config)                      # one commit and a vX.Y.Z tag
    print(verify(config.dataset.repo_id, "v1.0.0").summary())

Names are imported on first use, so `import builder` (as every worker process does) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from builder.version import __version__

if TYPE_CHECKING:
    from builder.build import BuildReport, build
    from builder.config import Config, load_config
    from builder.errors import BroadsheetError
    from builder.publish import PublishResult, publish, verify

_HOMES = {
    "build": "builder.build",
    "BuildReport": "builder.build",
    "load_config": "builder.config",
    "Config": "builder.config",
    "BroadsheetError": "builder.errors",
    "publish": "builder.publish",
    "PublishResult": "builder.publish",
    "verify": "builder.publish",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'builder' has no attribute {name!r}")


__all__ = [
    "BroadsheetError",
    "BuildReport",
    "Config",
    "PublishResult",
    "__version__",
    "build",
    "load_config",
    "publish",
    "verify",
]
