"""The house points one way: the layer contracts hold, registries match the names the config
accepts, and no typing escape hatch hides a bent interface."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import get_args

from builder.config import STEP_NAMES, ExecutorName, StepName
from builder.executors import EXECUTORS
from builder.readers import READERS
from builder.rows import ROW_MAKERS
from builder.steps import STEPS

ROOT = Path(__file__).resolve().parent.parent


def test_imports_keep_the_layers_and_make_no_cycle():
    """import-linter's contracts (pyproject.toml): layers, independent steps and row makers, a
    schema that imports nothing of the builder, no cycle among the modules of any package."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_the_step_names_the_config_accepts_are_the_registrys():
    assert set(STEPS) == set(get_args(StepName)) == set(STEP_NAMES)
    assert all(cls.name == name for name, cls in STEPS.items())


def test_every_reader_names_a_row_maker_and_every_row_maker_is_named():
    assert {reader.rows for reader in READERS.values()} == set(ROW_MAKERS)


def test_the_executor_names_are_the_registrys():
    assert set(EXECUTORS) == set(get_args(ExecutorName)) == {"local", "ray"}


def test_no_type_checking_escape_hatch_in_the_package():
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ("builder", "schema")
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "type: ignore" in line
    ]
    assert not found, found


def _third_party_imports() -> set[str]:
    """The top-level names of what builder/ and schema/ import from outside the project and the
    standard library (at any depth: a lazy import inside a function counts too)."""
    names: set[str] = set()
    for path in [*ROOT.joinpath("builder").rglob("*.py"), *ROOT.joinpath("schema").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"builder", "schema", "__future__"}


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_package_the_builder_imports_is_a_pinned_runtime_dependency():
    """`make build` installs only requirements.lock: a module imported by the builder whose
    package is pinned for the tests alone works under `make test` and fails a user's build.
    Ray is the one optional import (the `ray` extra, `--executor ray`)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = {
        _key(re.split(r"[ ;<>=!~\[]", d, maxsplit=1)[0])
        for d in pyproject["project"]["dependencies"]
    }
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
    pinned = {_key(line.split("==")[0]) for line in lock if "==" in line}
    distributions = importlib.metadata.packages_distributions()
    for module in sorted(_third_party_imports() - {"ray"}):
        packages = {_key(d) for d in distributions.get(module, [])}
        assert packages, f"{module}: imported by the builder, installed by no package here"
        assert packages & declared, f"{module} ({packages}): not in pyproject's dependencies"
        assert packages & pinned, f"{module} ({packages}): not pinned in requirements.lock"
