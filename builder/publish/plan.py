"""The publish plan: what the new version's commit adds, changes and deletes, and why it may go.

Planning reads only small things from the Hub: refs, the file tree, the latest version's
manifest, card and changelog, and the `id`/`text_sha256` columns of the previous shards that
differ from local ones (column projection over HTTP range requests, never a full download).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import ValidationError

from builder.config import Config
from builder.digests import file_sha256
from builder.layout import ACCOUNTING_DIR, CARD_FILE, DATA_DIR, MANIFEST_FILE
from builder.publish.hub import Hub, PublishError, RemoteFile, RemoteState
from builder.publish.versions import SchemaChange, Version, required_bump_error, schema_changes
from builder.writers.card import extract_maintainer_notes, render_card
from builder.writers.manifest import (
    GENERATOR,
    Manifest,
    damage,
    manifest_json,
    read_manifest,
)

CHANGELOG_FILE = "changelog.json"
MANAGED_DIRS = (
    f"{DATA_DIR}/",
    f"{ACCOUNTING_DIR}/",
)  # files here that the release lacks are deleted
DIFF_COLUMNS = ["id", "text_sha256"]
_CLAIMS_OURS = re.compile(rf'"generator"\s*:\s*"{GENERATOR}"')


@dataclass
class PublishPlan:
    repo_id: str
    version: Version
    release: Path
    remote: RemoteState
    contents: dict[str, bytes | Path]  # every file of the new version -> its bytes or local path
    adds: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    entry: dict = field(default_factory=dict)  # this version's changelog entry
    noop: bool = False  # the tag exists and holds exactly this content
    previous: tuple[Version, str] | None = None  # latest published version and its commit
    foreign: list[str] = field(
        default_factory=list
    )  # files on main that Broadsheet does not manage
    create_pr: bool = False
    card: str = ""
    ignored_tags: list[str] = field(default_factory=list)  # version-like tags of other tools

    @property
    def tag(self) -> str:
        return self.version.tag

    @property
    def upload_paths(self) -> list[str]:
        return sorted(self.adds + self.changes)

    @property
    def upload_bytes(self) -> int:
        return sum(content_size(self.contents[p]) for p in self.upload_paths)

    @property
    def tag_only(self) -> bool:
        """main already holds this content (e.g. a merged pull request): only the tag is missing."""
        return not (self.noop or self.adds or self.changes or self.deletes)

    def describe(self) -> str:
        """The plan as a user reads it before anything is sent."""
        latest = self.previous[0].tag if self.previous else "none"
        lines = [f"Publish {self.repo_id} {self.tag} (latest published: {latest})"]
        if self.ignored_tags:
            lines.append(
                f"  ignore  tag(s) not made by Broadsheet (no Broadsheet manifest): "
                f"{', '.join(self.ignored_tags)}"
            )
        if self.noop:
            lines.append(f"  {self.tag} is already published with identical content: nothing to do")
            return "\n".join(lines)
        where = f"main at {self.remote.head[:12]}" if self.remote.head else "main"
        missing = "not found: it will be created (if it exists and is private, set HF_TOKEN)"
        lines.append(f"  repository: {'exists, ' + where if self.remote.exists else missing}")
        lines.append(f"  target: {'a pull request against main' if self.create_pr else where}")
        for label, paths in (("add", self.adds), ("change", self.changes)):
            lines.append(
                f"  {label:<7} {len(paths):>5} file(s)  {_human(sum(content_size(self.contents[p]) for p in paths))}"
            )
        lines.append(f"  delete  {len(self.deletes):>5} file(s)")
        lines.append(
            f"  keep    {len(self.unchanged):>5} file(s) already on the Hub (not uploaded)"
        )
        if self.foreign:
            lines.append(
                f"  leave   {len(self.foreign):>5} file(s) not managed by Broadsheet untouched"
            )
        lines.append(
            f"  upload  at most {_human(self.upload_bytes)} ({self.upload_bytes:,} bytes; "
            "blobs the Hub already stores are skipped)"
        )
        e = self.entry
        schema = "; ".join(e["schema_changes"]) or "none"
        lines.append(
            f"  changelog: {e['rows']:,} article(s): +{e['added']:,} added, -{e['removed']:,} removed, ~{e['changed']:,} changed; schema changes: {schema}"
        )
        for mark, paths in (("+", self.adds), ("~", self.changes), ("-", self.deletes)):
            lines += [f"    {mark} {p}" for p in sorted(paths)]
        if self.tag_only:
            lines.append(
                f"  main already holds this content: only the tag {self.tag} will be created"
            )
        return "\n".join(lines)


def make_plan(
    release: Path,
    config: Config,
    hub: Hub,
    version: Version | None = None,
    create_pr: bool = False,
    today: str = "",
) -> PublishPlan:
    """Compare the local release with the Hub and decide what to send; raises PublishError to refuse."""
    manifest = check_release(release)
    version = version or Version.parse(config.dataset.version)
    config = config.model_copy(
        update={
            "dataset": config.dataset.model_copy(
                update={"version": str(version), "repo_id": hub.repo_id}
            )
        }
    )
    remote = hub.state()
    plan = PublishPlan(hub.repo_id, version, release, remote, {}, create_pr=create_pr)

    if plan.tag in remote.tags:
        published = published_manifest(hub, plan.tag, remote.tags[plan.tag])
        if published.content != manifest.content:
            raise PublishError(
                f"{plan.tag} is already published in {hub.repo_id} with different content; "
                "raise dataset.version (or pass --version) to publish this release"
            )
        plan.noop = True
        return plan

    previous_commit: str | None = None
    previous_manifest: Manifest | None = None
    changes: list[SchemaChange] = []
    for tag_version, commit in sorted(remote.versions.items(), reverse=True):
        found = release_manifest(hub, tag_version.tag, commit)
        if found is None:
            plan.ignored_tags.append(tag_version.tag)
            continue
        plan.previous, previous_commit, previous_manifest = (tag_version, commit), commit, found
        changes = schema_changes(dict(found.schema_fields), dict(manifest.schema_fields))
        refusal = required_bump_error(tag_version, version, changes)
        if refusal:
            raise PublishError(refusal)
        break

    # What main holds from an earlier, untagged attempt at this version (a failed tag, a merged
    # pull request): its changelog date is reused, so that re-running changes no bytes.
    head = remote.head
    head_changelog = _changelog(hub, head) if head and CHANGELOG_FILE in remote.tree else []
    earlier = next((e for e in head_changelog if e.get("version") == str(version)), None)
    added, removed, changed = _article_diff(
        release, manifest, hub, previous_commit, previous_manifest
    )
    plan.entry = {
        "version": str(version),
        "date": earlier["date"] if earlier else today,
        "rows": manifest.accounting.rows,
        "added": added,
        "removed": removed,
        "changed": changed,
        "schema_changes": [str(c) for c in changes],
        "input_fingerprint": manifest.input.fingerprint,
    }
    # History comes from the latest published version: entries of versions never tagged are dropped.
    history = _changelog(hub, previous_commit) if previous_commit else []
    changelog = [plan.entry] + [e for e in history if e.get("version") != str(version)]
    old_card = hub.read_text(CARD_FILE, head) if head and CARD_FILE in remote.tree else None
    notes = extract_maintainer_notes(old_card) if old_card else None

    outgoing_manifest = manifest.released_as(hub.repo_id, str(version))
    plan.card = render_card(config, outgoing_manifest, changelog, notes)
    plan.contents = {
        **{rel: release / rel for rel in manifest.files},
        MANIFEST_FILE: manifest_json(outgoing_manifest).encode(),
        CARD_FILE: plan.card.encode(),
        CHANGELOG_FILE: (json.dumps(changelog, indent=2, ensure_ascii=False) + "\n").encode(),
    }
    for path, content in sorted(plan.contents.items()):
        remote_file = remote.tree.get(path)
        if remote_file is None:
            plan.adds.append(path)
        elif same_content(remote_file, content):
            plan.unchanged.append(path)
        else:
            plan.changes.append(path)
    # Only files an earlier Broadsheet release listed are deleted; anything else is left alone.
    managed = set(previous_manifest.files) if previous_manifest else set()
    head_manifest = release_manifest(hub, "main", head) if head else None
    if head_manifest is not None:
        managed |= set(head_manifest.files)
    plan.deletes = sorted(p for p in remote.tree if p in managed and p not in plan.contents)
    plan.foreign = sorted(
        p
        for p in remote.tree
        if p not in plan.contents and p not in managed and p != ".gitattributes"
    )
    return plan


def _changelog(hub: Hub, commit: str) -> list[dict]:
    if not hub.exists(CHANGELOG_FILE, commit):
        return []
    entries = hub.read_json(CHANGELOG_FILE, commit)
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and "version" in e for e in entries
    ):
        raise PublishError(
            f"{hub.repo_id}@{commit[:12]}: {CHANGELOG_FILE} is not a list of version entries; fix or delete it on the Hub"
        )
    return entries


def release_manifest(hub: Hub, revision: str, commit: str) -> Manifest | None:
    """The Broadsheet manifest at `commit`; None when there is none or another tool wrote it.

    A manifest that says Broadsheet wrote it but cannot be read is an error, never ignored.
    """
    if not hub.exists(MANIFEST_FILE, commit):
        return None
    text = hub.read_text(MANIFEST_FILE, commit)
    try:
        return Manifest.model_validate_json(text)
    except ValidationError as exc:
        if not _CLAIMS_OURS.search(text):
            return None
        fix = "fix it on main" if revision == "main" else f"delete the tag {revision} on the Hub"
        raise PublishError(
            f"{hub.repo_id}@{revision}: {MANIFEST_FILE} says Broadsheet wrote it but cannot be "
            f"used ({damage(exc)}); {fix}, or upgrade Broadsheet if a newer one wrote it"
        ) from exc


def published_manifest(hub: Hub, revision: str, commit: str) -> Manifest:
    """The manifest of a published version; a version without one was not made by Broadsheet."""
    manifest = release_manifest(hub, revision, commit)
    if manifest is None:
        raise PublishError(
            f"{hub.repo_id}@{revision} has no {MANIFEST_FILE} written by Broadsheet: another tool "
            "made it; publish under another version"
        )
    return manifest


def check_release(release: Path) -> Manifest:
    """The release's manifest, after checking that every listed file is on disk with its hash."""
    path = release / MANIFEST_FILE
    if not path.is_file():
        raise PublishError(f"{path} not found: build the release first (`make build`)")
    try:
        manifest = read_manifest(path)
    except ValidationError as exc:
        raise PublishError(
            f"{path} is not a manifest this Broadsheet can publish ({damage(exc)}): rebuild with "
            "`make build`"
        ) from exc
    for rel, info in manifest.files.items():
        local = release / rel
        if not local.is_file():
            raise PublishError(
                f"{local} is listed in {path} but missing: rebuild with `make build`"
            )
        if local.stat().st_size != info.size or file_sha256(local) != info.sha256:
            raise PublishError(
                f"{local} does not match its sha256 in {path}: rebuild with `make build`"
            )
    extra = [
        rel
        for rel in _release_files(release)
        if rel.startswith(MANAGED_DIRS) and rel not in manifest.files
    ]
    if extra:
        raise PublishError(
            f"{release / extra[0]} is not listed in {path}: rebuild with `make build`"
        )
    return manifest


def _release_files(release: Path) -> list[str]:
    return sorted(
        p.relative_to(release).as_posix()
        for p in release.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(release).parts)
    )


def content_size(content: bytes | Path) -> int:
    return len(content) if isinstance(content, bytes) else content.stat().st_size


def same_content(remote: RemoteFile, content: bytes | Path) -> bool:
    """Whether a file on the Hub holds these bytes (LFS files by sha256, others by git blob id)."""
    if remote.sha256 is not None:
        local_sha = (
            hashlib.sha256(content).hexdigest()
            if isinstance(content, bytes)
            else file_sha256(content)
        )
        return local_sha == remote.sha256
    data = content if isinstance(content, bytes) else content.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == remote.git_oid


def _article_diff(
    release: Path,
    manifest: Manifest,
    hub: Hub,
    previous_commit: str | None,
    previous_manifest: Manifest | None,
) -> tuple[int, int, int]:
    """(added, removed, changed) articles between the latest published version and this release.

    Previous shards identical to a local one are read locally; the others by column from the Hub.
    """
    new = _key_table([pq.read_table(release / p, columns=DIFF_COLUMNS) for p in manifest.shards])
    if previous_commit is None or previous_manifest is None:
        return len(new), 0, 0
    fs = None
    tables = []
    for path, info in previous_manifest.shards.items():
        local = manifest.files.get(path)
        if local is not None and local.sha256 == info.sha256:
            tables.append(pq.read_table(release / path, columns=DIFF_COLUMNS))
            continue
        fs = fs or hub.filesystem()
        remote = hub.remote_path(path, previous_commit)
        tables.append(
            hub.call(
                f"reading ids of {path}", pq.read_table, remote, columns=DIFF_COLUMNS, filesystem=fs
            )
        )
    old = _key_table(tables)
    added = new.filter(pc.invert(pc.is_in(new["id"], value_set=old["id"])))
    removed = old.filter(pc.invert(pc.is_in(old["id"], value_set=new["id"])))
    both = new.join(old, "id", join_type="inner", right_suffix="_old")
    changed = both.filter(pc.not_equal(both["text_sha256"], both["text_sha256_old"]))
    return len(added), len(removed), len(changed)


def _key_table(tables: list[pa.Table]) -> pa.Table:
    schema = pa.schema([("id", pa.string()), ("text_sha256", pa.string())])
    return (
        pa.concat_tables([t.select(DIFF_COLUMNS).cast(schema) for t in tables])
        if tables
        else schema.empty_table()
    )


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB"):
        if size < 1000:
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{size:,.1f} GB"
