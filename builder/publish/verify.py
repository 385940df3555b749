"""`verify`: load a published version with `datasets` and check it against its own manifest.

The commit check matters: offline or with the Hub unreachable, `datasets` can fall back to
the newest cached copy of a repository instead of the requested revision.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from builder.publish.hub import Hub, PublishError
from builder.publish.plan import published_manifest
from builder.rules.removals import Removals
from builder.writers.card import DEFAULT_DATASET_CONFIG, SPLIT
from schema import SCHEMA_VERSION, hf_features


@dataclass
class VerifyReport:
    repo_id: str
    revision: str
    commit: str
    rows: int
    checks: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"verified {self.repo_id} {self.revision} (commit {self.commit})"]
        return "\n".join(lines + [f"  ok  {c}" for c in self.checks])


def verify(repo_id: str, revision: str, removals: Removals | None = None) -> VerifyReport:
    """Raise PublishError on the first mismatch; return what was checked otherwise. With a
    takedown list (`removals`), also that no article it names is in the version."""
    from datasets import load_dataset_builder

    hub = Hub.connect(repo_id, need_write=False)
    commit = hub.call(f"resolving {revision}", hub.api.dataset_info, repo_id, revision=revision).sha
    if commit is None:
        raise PublishError(f"the Hub did not say which commit {repo_id}@{revision} is; retry later")
    manifest = published_manifest(hub, revision, commit)
    report = VerifyReport(repo_id, revision, commit, manifest.accounting.rows)
    report.checks.append(f"{revision} resolves to commit {commit}")

    try:
        builder = hub.call(
            "reading the dataset card",
            load_dataset_builder,
            repo_id,
            DEFAULT_DATASET_CONFIG,
            revision=revision,
            token=hub.token or False,
        )
    except PublishError:
        raise
    except Exception as exc:  # whatever stops `datasets` is the verification's finding
        raise PublishError(
            f"datasets cannot read {repo_id}@{revision}: {type(exc).__name__}: {exc}".splitlines()[
                0
            ]
        ) from exc
    files = [str(f) for files in builder.config.data_files.values() for f in files]
    wrong = [f for f in files if f"@{commit}/" not in f]
    if not files or wrong:
        raise PublishError(
            f"datasets resolved {revision} to other files than commit {commit} "
            f"({wrong[0] if wrong else 'no data files'}); it may be using a stale cache: clear it and retry"
        )
    shards = manifest.shards
    if len(files) != len(shards):
        raise PublishError(
            f"datasets sees {len(files)} data files at {revision}, the manifest lists {len(shards)}"
        )
    report.checks.append(f"{len(files)} data file(s), all from commit {commit}")

    try:
        builder.download_and_prepare()
        dataset = builder.as_dataset(split=SPLIT)
    except Exception as exc:  # e.g. NonMatchingSplitsSizesError from a stale card
        raise PublishError(
            f"datasets cannot load {repo_id}@{revision}: {type(exc).__name__}: {exc}".splitlines()[
                0
            ]
        ) from exc
    if dataset.num_rows != report.rows:
        raise PublishError(
            f"{revision} loads {dataset.num_rows} rows, the manifest says {report.rows}"
        )
    report.checks.append(f"{dataset.num_rows:,} rows, as in the manifest")

    columns = [name for name, _ in manifest.schema_fields]
    if list(dataset.features) != columns:
        raise PublishError(
            f"{revision} has columns {list(dataset.features)}, the manifest lists {columns}"
        )
    schema_version = manifest.versions.schema_version
    if schema_version == SCHEMA_VERSION and dataset.features != hf_features():
        raise PublishError(
            f"{revision} features differ from schema {SCHEMA_VERSION}: {dataset.features}"
        )
    report.checks.append(f"features match schema {schema_version}")

    languages = dict(sorted(Counter(dataset.data.column("language").to_pylist()).items()))
    expected = manifest.stats.by_language
    if languages != expected:
        raise PublishError(
            f"{revision} rows per language {languages} differ from the manifest's {expected}"
        )
    if len(set(dataset.data.column("id").to_pylist())) != dataset.num_rows:
        raise PublishError(f"{revision} has repeated ids")
    report.checks.append(f"rows per language {languages}; ids unique")
    if removals is not None:
        report.checks.append(_takedowns(dataset.data, removals, revision))
    return report


def _takedowns(data, removals: Removals, revision: str) -> str:
    """That no row of the version is named by the takedown list (its URL, id, text or domain)."""
    columns = {name: data.column(name).to_pylist() for name in ("id", "text_sha256", "domain")}
    named = removals.matches(
        columns["id"], columns["text_sha256"], columns["domain"], data.column("url").to_pylist()
    )
    listed = [(id_, entries) for id_, entries in zip(columns["id"], named, strict=True) if entries]
    if listed:
        id_, entries = listed[0]
        raise PublishError(
            f"{revision} holds {len(listed)} article(s) that build.remove ({removals.file}) "
            f"lists, e.g. id {id_} (listed as {' '.join(entries)})"
        )
    return f"no article listed in {removals.file} ({len(removals.entries)} line(s))"


__all__ = ["VerifyReport", "verify"]
