"""The dataset card (`README.md`): Hub metadata and a body generated from schema, manifest and config.

The YAML `configs` point at the stable shard globs; `dataset_info` carries exact row counts
per config, computed from the written files (a stale count fails `load_dataset`).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import yaml
from huggingface_hub import DatasetCardData

from builder.config import Config
from builder.layout import ALL_SHARDS_GLOB, UNDATED, language_glob, language_of
from builder.writers.manifest import Manifest, Stats
from builder.writers.stats import CHART_FILE
from schema import field_table
from schema.article import QUALITY_MEASURED_CHARS, QUALITY_SIGNALS
from schema.derive import features_yaml

SPLIT = "train"
DEFAULT_DATASET_CONFIG = "default"  # the card's config of every language (load_dataset's `name`)
_SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
]


def languages_of(manifest: Manifest) -> list[str]:
    """The languages that have rows: the card's configs and its `language:` tags."""
    return sorted({language_of(path) for path in manifest.shards})


def missing_languages(config: Config, manifest: Manifest) -> list[str]:
    """Languages `dataset.languages` names that have no row: the build warns of them, and the
    card does not tag them (a tag promises rows in that language)."""
    present = set(languages_of(manifest))
    return sorted(set(config.dataset.languages) - present)


def size_category(rows: int) -> str:
    return next((label for bound, label in _SIZE_CATEGORIES if rows < bound), "n>100M")


def config_splits(manifest: Manifest) -> defaultdict[str, Counter[str]]:
    """Per config name: rows, in-memory bytes and file bytes of its single split (0 when none)."""
    totals: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for path, info in manifest.shards.items():
        for name in (DEFAULT_DATASET_CONFIG, language_of(path)):
            totals[name].update(rows=info.rows or 0, nbytes=info.nbytes or 0, size=info.size)
    return totals


def card_metadata(config: Config, manifest: Manifest) -> dict:
    """The YAML header, as a plain dict in a stable key order."""
    languages = languages_of(manifest)
    splits = config_splits(manifest)
    configs = [
        {
            "config_name": DEFAULT_DATASET_CONFIG,
            "data_files": [{"split": SPLIT, "path": ALL_SHARDS_GLOB}],
            "default": True,
        }
    ]
    configs += [
        {"config_name": lang, "data_files": [{"split": SPLIT, "path": language_glob(lang)}]}
        for lang in languages
    ]
    features = features_yaml()
    dataset_info = [
        {
            "config_name": name,
            "features": features,
            "splits": [
                {
                    "name": SPLIT,
                    "num_bytes": splits[name]["nbytes"],
                    "num_examples": splits[name]["rows"],
                }
            ],
            "download_size": splits[name]["size"],
            "dataset_size": splits[name]["nbytes"],
        }
        for name in [DEFAULT_DATASET_CONFIG, *languages]
    ]
    data = DatasetCardData(
        pretty_name=config.dataset.pretty_name or config.dataset.name,
        license=config.dataset.license,
        language=languages,
        task_categories=["text-generation", "text-classification"],
        size_categories=[size_category(manifest.accounting.rows)],
        tags=["news", "broadsheet"],
        configs=configs,
        dataset_info=dataset_info,
    )
    return data.to_dict()


class _NoAliasDumper(yaml.SafeDumper):
    """Writes repeated values (each config's features) in full: anchors confuse readers of the card."""

    def ignore_aliases(self, data) -> bool:
        return True


def schema_table() -> str:
    lines = ["| field | type | description |", "|---|---|---|"]
    for name, type_name, desc in field_table():
        cell = desc.replace("|", "\\|")
        lines.append(f"| `{name}` | {type_name} | {cell} |")
    return "\n".join(lines)


MAINTAINER_START = "<!-- broadsheet:maintainer-notes:start -->"
MAINTAINER_END = "<!-- broadsheet:maintainer-notes:end -->"
DEFAULT_NOTES = (
    "_Maintainers: write here. This block is kept from the published card into every new "
    "version; everything else in this card is generated._"
)


def extract_maintainer_notes(card: str) -> str | None:
    """The maintainer-written block of a card, or None when the card has none."""
    if MAINTAINER_START not in card or MAINTAINER_END not in card:
        return None
    return card.split(MAINTAINER_START, 1)[1].split(MAINTAINER_END, 1)[0].strip("\n")


def render_card(
    config: Config,
    manifest: Manifest,
    changelog: list[dict] | None = None,
    maintainer_notes: str | None = None,
) -> str:
    """The whole card; `changelog` (newest first) and the notes come from the Hub at publish time."""
    header = yaml.dump(
        card_metadata(config, manifest),
        Dumper=_NoAliasDumper,
        sort_keys=False,
        allow_unicode=True,
        width=1000,
    )
    return f"---\n{header}---\n\n{_body(config, manifest, changelog or [], maintainer_notes)}"


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _stats_section(stats: Stats) -> str:
    languages = list(stats.by_language)
    per_language = _table(
        ["language", "articles"], [[lang, f"{n:,}"] for lang, n in stats.by_language.items()]
    )
    per_month = _table(
        ["month", *languages, "total"],
        [
            [m, *(f"{counts.get(lang, 0):,}" for lang in languages), f"{sum(counts.values()):,}"]
            for m, counts in stats.by_month.items()
        ],
    )
    precisions = ["day", "month", "year", UNDATED]
    dates = _table(
        ["date found in", *precisions],
        [
            [source, *(f"{counts.get(p, 0):,}" for p in precisions)]
            for source, counts in stats.dates.items()
        ],
    )
    keys = list(stats.num_words)
    lengths = (
        _table(
            ["", *keys],
            [
                [name, *(f"{values[k]:,}" for k in keys)]
                for name, values in (("num_words", stats.num_words), ("num_chars", stats.num_chars))
            ],
        )
        if keys
        else "_No articles._"
    )
    return f"""## Statistics

Articles: {stats.articles:,}.

{per_language}

![Articles per month and language]({CHART_FILE})

<details><summary>Articles per month</summary>

{per_month}

</details>

Where each date was found, and at what precision (a date is never more precise than its source):

{dates}

Text length (percentiles):

{lengths}
"""


def _share(n: int, total: int) -> str:
    return f"{n / total:.0%}" if total else "-"


def _counted(total: int, by_reason: dict[str, int]) -> str:
    """'3 (too_short 2, no_text 1)': a total and its reasons, the most first."""
    if not total:
        return "0"
    reasons = sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
    return f"{total:,} (" + ", ".join(f"{r} {n:,}" for r, n in reasons) + ")"


def _domains_section(stats: Stats) -> str:
    """The domains that gave the most records, from the manifest's statistics."""
    if not stats.domains:
        return ""
    rows = []
    for d in stats.domains:
        dated = [_share(d.dated.get(p, 0), d.articles) for p in ("day", "month", "year", UNDATED)]
        rows.append(
            [
                f"`{d.domain}`" if d.domain is not None else "_(none)_",
                f"{d.records:,}",
                f"{d.articles:,}",
                _counted(sum(d.rejected.values()), d.rejected),
                _counted(sum(d.duplicates.values()), d.duplicates),
                " / ".join(dated),
                ", ".join(d.languages),
                f"{d.near_copies:,} in {d.near_copy_clusters:,}" if d.near_copy_clusters else "0",
            ]
        )
    table = _table(
        [
            "domain",
            "records",
            "articles",
            "rejected",
            "duplicates",
            "dated: day / month / year / undated",
            "languages",
            "near-copies (clusters)",
        ],
        rows,
    )
    shown = len(stats.domains)
    which = (
        f"All {shown:,} domains"
        if shown == stats.domain_count
        else f"The {shown:,} domains (of {stats.domain_count:,}) that gave the most records"
    )
    return f"""## Domains

{which}. Every record read counts for one domain: an article's `domain`, a reject's or a
duplicate's own (from its URL where it has no domain field); _(none)_ is the records that name
neither. Each column sums to the totals under Provenance. Every domain, with a column per
reject and duplicate reason, is in `accounting/domains.parquet`.

{table}
"""


def _quality_section(stats: Stats, thresholds: dict[str, dict[str, float]]) -> str:
    """Each quality signal's percentiles per language, and the thresholds this build applied."""
    applied = (
        "Articles outside these thresholds were rejected as `low_quality`: "
        + "; ".join(
            f"`{language}`: " + ", ".join(f"{key} = {value:g}" for key, value in rules.items())
            for language, rules in thresholds.items()
        )
        + " ('*' applies to every language without a rule of that name)."
        if thresholds
        else "No article was dropped on them: the build set no thresholds (`build.quality`)."
    )
    tables = []
    for language, signals in stats.quality.items():
        keys = list(next(iter(signals.values())))
        rows = [
            [f"`{name}`", *(f"{signals[name][k]:g}" for k in keys)]
            if name in signals
            else [f"`{name}`", *(["n/a"] * len(keys))]
            for name in QUALITY_SIGNALS
        ]
        tables.append(
            f"<details><summary>Quality signals: {language}</summary>\n\n"
            f"{_table(['signal', *keys], rows)}\n\n</details>"
        )
    body = "\n\n".join(tables) if tables else "_No articles._"
    return f"""## Quality signals

Every article carries the quality signals of the schema above (Gopher, C4 and dolma style), so
that you can filter by your own thresholds (a text longer than {QUALITY_MEASURED_CHARS:,} characters
is measured on its beginning). Their percentiles per language, over the articles where a signal
is defined (n/a: undefined for every article, e.g. `stop_word_share` for a language without a
stop-word list):

{body}

{applied}
"""


def _changelog_section(changelog: list[dict]) -> str:
    if not changelog:
        return "## Changelog\n\n_Not published yet._\n"
    rows = [
        [
            f"v{e['version']}",
            e.get("date", ""),
            f"{e['rows']:,}",
            f"+{e['added']:,}",
            f"-{e['removed']:,}",
            f"~{e['changed']:,}",
            "; ".join(e.get("schema_changes", [])) or "none",
        ]
        for e in changelog
    ]
    table = _table(
        ["version", "date", "articles", "added", "removed", "changed", "schema changes"], rows
    )
    return f"## Changelog\n\n{table}\n"


def _body(config: Config, manifest: Manifest, changelog: list[dict], notes: str | None) -> str:
    ds = config.dataset
    acc = manifest.accounting
    versions = manifest.versions
    configs = ", ".join(f"`{lang}`" for lang in languages_of(manifest))
    reasons: list[list] = [[f"reject: `{r}`", n] for r, n in acc.rejects_by_reason.items()]
    reasons += [[f"duplicate: `{r}`", n] for r, n in acc.duplicates_by_reason.items()]
    citation = ds.citation or (
        f"@misc{{{ds.name.replace('-', '_')},\n  title = {{{ds.pretty_name or ds.name}}},\n"
        f"  howpublished = {{\\url{{https://huggingface.co/datasets/{ds.repo_id}}}}},\n  note = {{Version {ds.version}}}\n}}"
    )
    return f"""# {ds.pretty_name or ds.name}

{ds.description}

## Loading a version

Every release is a tag `vX.Y.Z` on the Hub; load exactly this one with:

```python
from datasets import load_dataset

ds = load_dataset("{ds.repo_id}", "{DEFAULT_DATASET_CONFIG}", revision="v{ds.version}", split="{SPLIT}")
```

Configs: `{DEFAULT_DATASET_CONFIG}` (all languages){", " + configs if configs else ""}, one per language.
Files are `data/<language>/<YYYY-MM>/NNNN.parquet`; dates keep the precision their source gave
(`date_precision` says whether `date` is a year, a month or a day).

## Schema

Schema version {versions.schema_version}; the JSON Schema is in `article.schema.json`.

{schema_table()}

{_stats_section(manifest.stats)}
{_domains_section(manifest.stats)}
{_quality_section(manifest.stats, manifest.build_settings.quality)}
{_changelog_section(changelog)}
## Provenance

Built by Broadsheet {versions.builder} with pyarrow {versions.pyarrow} from
{manifest.input.files:,} input files; input fingerprint `{manifest.input.fingerprint}`.
Every record read is accounted for: {acc.records_read:,} read = {acc.rows:,} rows +
{acc.rejected:,} rejected + {acc.duplicates:,} duplicates. The rejects and duplicates,
with their source and reason, are in `accounting/`.

{_table(["outcome", "records"], reasons) if reasons else "No record was rejected or dropped as a duplicate."}

## Maintainer notes

{MAINTAINER_START}
{notes if notes is not None else DEFAULT_NOTES}
{MAINTAINER_END}

## License

`{ds.license}`. The articles remain the work of their publishers.

## Citation

```bibtex
{citation}
```
"""
