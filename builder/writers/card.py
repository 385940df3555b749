"""The dataset card (`README.md`): Hub metadata and a body generated from schema, manifest and config.

The YAML `configs` point at the stable shard globs; `dataset_info` carries exact row counts
per config, computed from the written files (a stale count fails `load_dataset`).
"""

from __future__ import annotations

from collections import Counter

import yaml
from huggingface_hub import DatasetCardData

from builder.config import Config
from builder.layout import ALL_SHARDS_GLOB, DATA_DIR, language_glob
from schema import field_table, hf_features

SPLIT = "train"
DEFAULT_CONFIG = "default"
_SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
]


def shard_entries(manifest: dict) -> dict[str, dict]:
    return {
        path: info for path, info in manifest["files"].items() if path.startswith(f"{DATA_DIR}/")
    }


def languages_of(manifest: dict) -> list[str]:
    return sorted({path.split("/")[1] for path in shard_entries(manifest)})


def size_category(rows: int) -> str:
    return next((label for bound, label in _SIZE_CATEGORIES if rows < bound), "n>100M")


def config_splits(manifest: dict) -> dict[str, dict[str, int]]:
    """Per config name: rows, in-memory bytes and file bytes of its single split."""
    totals: dict[str, Counter] = {DEFAULT_CONFIG: Counter()}
    for path, info in shard_entries(manifest).items():
        for name in (DEFAULT_CONFIG, path.split("/")[1]):
            totals.setdefault(name, Counter()).update(
                {"rows": info["rows"], "nbytes": info["nbytes"], "size": info["size"]}
            )
    return {name: dict(t) for name, t in totals.items()}


def card_metadata(config: Config, manifest: dict) -> dict:
    """The YAML header, as a plain dict in a stable key order."""
    languages = languages_of(manifest)
    splits = config_splits(manifest)
    configs = [
        {
            "config_name": DEFAULT_CONFIG,
            "data_files": [{"split": SPLIT, "path": ALL_SHARDS_GLOB}],
            "default": True,
        }
    ]
    configs += [
        {"config_name": lang, "data_files": [{"split": SPLIT, "path": language_glob(lang)}]}
        for lang in languages
    ]
    features = hf_features()._to_yaml_list()
    dataset_info = [
        {
            "config_name": name,
            "features": features,
            "splits": [
                {
                    "name": SPLIT,
                    "num_bytes": splits.get(name, {}).get("nbytes", 0),
                    "num_examples": splits.get(name, {}).get("rows", 0),
                }
            ],
            "download_size": splits.get(name, {}).get("size", 0),
            "dataset_size": splits.get(name, {}).get("nbytes", 0),
        }
        for name in [DEFAULT_CONFIG, *languages]
    ]
    data = DatasetCardData(
        pretty_name=config.dataset.pretty_name or config.dataset.name,
        license=config.dataset.license,
        language=sorted(set(languages) | set(config.dataset.languages)),
        task_categories=["text-generation", "text-classification"],
        size_categories=[size_category(manifest["accounting"]["rows"])],
        tags=["news", "broadsheet"],
        configs=configs,
        dataset_info=dataset_info,
    )
    return data.to_dict()


class _NoAliasDumper(yaml.SafeDumper):
    """Writes repeated values (each config's features) in full: anchors confuse readers of the card."""

    def ignore_aliases(self, data) -> bool:
        return True


def render_card(config: Config, manifest: dict, body: str) -> str:
    header = yaml.dump(
        card_metadata(config, manifest),
        Dumper=_NoAliasDumper,
        sort_keys=False,
        allow_unicode=True,
        width=1000,
    )
    return f"---\n{header}---\n\n{body}"


def schema_table() -> str:
    lines = ["| field | type | description |", "|---|---|---|"]
    for name, type_name, desc in field_table():
        cell = desc.replace("|", "\\|")
        lines.append(f"| `{name}` | {type_name} | {cell} |")
    return "\n".join(lines)


def basic_body(config: Config, manifest: dict) -> str:
    """What the dataset is, how to load it, its schema and its accounting."""
    ds = config.dataset
    acc = manifest["accounting"]
    reasons = (
        ", ".join(
            f"{r}: {n}"
            for r, n in {**acc["rejects_by_reason"], **acc["duplicates_by_reason"]}.items()
        )
        or "none"
    )
    return f"""# {ds.pretty_name or ds.name}

{ds.description}

## Loading

```python
from datasets import load_dataset

ds = load_dataset("{ds.repo_id}", "{DEFAULT_CONFIG}", revision="v{ds.version}")
```

Configs: `{DEFAULT_CONFIG}` (all languages){"".join(f", `{lang}`" for lang in languages_of(manifest))}.

## Schema (version {manifest["versions"]["schema"]})

{schema_table()}

## Provenance

Built by Broadsheet {manifest["versions"]["builder"]} with pyarrow {manifest["versions"]["pyarrow"]} from
{manifest["input"]["files"]} input files (fingerprint `{manifest["input"]["fingerprint"]}`).
Records read: {acc["records_read"]}; rows: {acc["rows"]}; rejected: {acc["rejected"]}; duplicates: {acc["duplicates"]} ({reasons}).

## License

{ds.license}
"""
