"""The reference tables of the docs, generated from the models they describe: the schema's fields
(`docs/schema.md`) and the config's keys (`docs/config.md`). `python -m builder schema` rewrites
them in a source checkout; a test fails when one is stale."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from builder.config import config_table
from builder.writers.card import schema_table

# docs file -> (the name in its markers, the generator)
TABLES: dict[str, tuple[str, Callable[[], str]]] = {
    "docs/schema.md": ("schema-table", schema_table),
    "docs/config.md": ("config-table", config_table),
}


def _span(text: str, name: str) -> tuple[int, int]:
    """Where the generated block sits: after `<!-- NAME: ... -->`, before `<!-- /NAME -->`."""
    opening = text.index(f"<!-- {name}:")
    start = text.index("-->", opening) + len("-->")
    return start, text.index(f"<!-- /{name} -->", start)


def generated_block(text: str, name: str) -> str:
    """The text between `<!-- NAME: ... -->` and `<!-- /NAME -->`."""
    start, stop = _span(text, name)
    return text[start:stop]


def refresh(checkout: Path) -> list[Path]:
    """Rewrite every generated table of the docs under `checkout`; the files changed."""
    changed = []
    for rel, (name, generate) in TABLES.items():
        path = checkout / rel
        text = path.read_text(encoding="utf-8")
        start, stop = _span(text, name)
        new = text[:start] + "\n" + generate() + "\n" + text[stop:]
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed
