"""Carrying out a plan: one `create_commit` with a pinned parent, then the tag on that commit."""

from __future__ import annotations

import datetime as dt
import fnmatch
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete

from builder.config import Config
from builder.layout import CARD_FILE
from builder.publish.hub import REPO_TYPE, Hub, PublishError, RetryPolicy
from builder.publish.plan import PublishPlan, content_size, make_plan, same_content
from builder.publish.versions import Version

STALE_PARENT = {409, 412}
RETRY_COMMIT = frozenset({429})  # refused before anything was applied: safe to send again
MARKER = "Broadsheet-Publish-Id"  # a line of the commit description: `MARKER: <tag> <random id>`
GITIGNORE = ".gitignore"


@dataclass
class PublishResult:
    plan: PublishPlan
    commit: str | None = None  # the commit the tag points at (or the PR's head)
    pr_url: str | None = None
    dry_run: bool = False
    bytes_sent: int = 0  # request bodies the Hub received while carrying out the plan

    def summary(self) -> str:
        if self.dry_run:
            return "dry run: nothing was sent"
        if self.plan.noop:
            return f"{self.plan.tag} was already published: nothing to do"
        if self.pr_url:
            return f"opened {self.pr_url}; after it is merged, run publish again to tag {self.plan.tag}"
        return f"published {self.plan.repo_id} {self.plan.tag} at commit {self.commit} ({_sent(self.bytes_sent)})"


def publish(
    release: Path | str,
    config: Config,
    repo_id: str | None = None,
    version: str | None = None,
    dry_run: bool = False,
    create_pr: bool = False,
    retry: RetryPolicy | None = None,
    show: Callable[[str], None] | None = None,
) -> PublishResult:
    """Plan, show the plan, then (unless `dry_run`) commit and tag.

    Refusals and Hub failures raise PublishError; `show` receives the plan before anything is sent.
    """
    release = Path(release)
    try:
        target = Version.parse(version) if version else None
    except ValueError as exc:
        raise PublishError(f"--version: {exc}") from exc
    hub = Hub.connect(repo_id or config.dataset.repo_id, need_write=not dry_run, retry=retry)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    plan = make_plan(release, config, hub, target, create_pr=create_pr, today=today)
    if show is not None:
        show(plan.describe())
    if dry_run or plan.noop:
        return PublishResult(plan, dry_run=dry_run)
    return execute(plan, hub, private=config.dataset.private)


def execute(plan: PublishPlan, hub: Hub, private: bool = False) -> PublishResult:
    """Send the plan: create the repo if missing, commit on the planned parent, tag the commit.

    The commit carries a marker of this run, so that a commit whose answer was lost is found
    by what it is, even when main has moved on since.
    """
    sent_before = hub.ledger.bytes_sent
    marker = f"{MARKER}: {plan.tag} {uuid.uuid4().hex}"
    parent = plan.remote.head
    if not plan.remote.exists:
        hub.call(
            "creating the repository",
            hub.api.create_repo,
            plan.repo_id,
            repo_type=REPO_TYPE,
            private=private,
            exist_ok=True,
        )
        parent = hub.state().head
    if plan.tag_only:
        assert parent is not None, "a plan that sends nothing compares against an existing main"
        commit = parent
    else:
        operations: list[CommitOperationAdd | CommitOperationDelete] = [
            CommitOperationAdd(p, plan.contents[p]) for p in plan.upload_paths
        ]
        operations += [CommitOperationDelete(p) for p in plan.deletes]
        try:
            info = hub.call(
                "committing",
                hub.api.create_commit,
                plan.repo_id,
                operations,
                commit_message=f"Release {plan.tag}",
                commit_description=f"{_description(plan)}\n\n{marker}",
                repo_type=REPO_TYPE,
                revision="main",
                parent_commit=parent,
                create_pr=plan.create_pr,
                retry_status=RETRY_COMMIT,
            )
        except PublishError as exc:
            # A commit that failed after the server applied it (a 5xx, a lost answer) must not
            # be reported as lost: look for it on main by its marker.
            try:
                landed = None if plan.create_pr else _landed(hub, parent, marker)
            except PublishError as check:
                raise PublishError(
                    f"{exc}; whether the commit landed could not be checked ({check}); "
                    "re-run publish: it tags the commit if it landed",
                    exc.status,
                ) from check
            if landed is None and exc.status in STALE_PARENT:
                raise PublishError(
                    f"main changed since the plan was made (expected parent {str(parent)[:12]}); "
                    "nothing was committed: re-run publish to plan against the new state",
                    exc.status,
                ) from exc
            if landed is None:
                raise
            commit = landed
        except RuntimeError as exc:  # the upload itself failed after the client's own retries
            raise PublishError(
                f"uploading to {hub.endpoint} failed: {exc}; nothing was committed, re-run publish"
            ) from exc
        else:
            if plan.create_pr:
                return PublishResult(
                    plan,
                    commit=info.oid,
                    pr_url=info.pr_url,
                    bytes_sent=hub.ledger.bytes_sent - sent_before,
                )
            commit = info.oid
    _tag(plan, hub, commit)
    if plan.card:  # the local release now shows what was published (changelog, notes)
        card = plan.release / CARD_FILE
        card.with_suffix(".tmp").write_text(plan.card, encoding="utf-8")
        card.with_suffix(".tmp").replace(card)
    return PublishResult(plan, commit=commit, bytes_sent=hub.ledger.bytes_sent - sent_before)


def _tag(plan: PublishPlan, hub: Hub, commit: str) -> None:
    """Tag `commit` once it is checked to hold the release; a tag already there is success."""
    check_commit(plan, hub, commit)
    try:
        hub.call(
            f"tagging {plan.tag}",
            hub.api.create_tag,
            plan.repo_id,
            tag=plan.tag,
            revision=commit,
            repo_type=REPO_TYPE,
            tag_message=f"Release {plan.tag}",
        )
    except PublishError as exc:
        if hub.state().tags.get(plan.tag) == commit:
            return
        raise PublishError(
            f"committed {commit[:12]} to main, but tagging {plan.tag} failed: {exc}; "
            "re-run publish to tag it (nothing will be uploaded again)",
            exc.status,
        ) from exc


def check_commit(plan: PublishPlan, hub: Hub, commit: str) -> None:
    """Refuse (tagging nothing) unless `commit` holds every file of the release, byte for byte."""
    tree = hub.tree(commit)
    for path, content in sorted(plan.contents.items()):
        remote, size = tree.get(path), content_size(content)
        if remote is None:
            why = "is missing"
            pattern = _ignored_by(hub, tree, commit, path)
            if pattern is not None:
                why += (
                    f": the repository's {GITIGNORE} ignores it (pattern {pattern!r}), so the Hub "
                    f"skipped it; remove that pattern from {GITIGNORE} on the Hub and re-run publish"
                )
        elif remote.size != size or not same_content(remote, content):
            why = f"holds other bytes ({remote.size:,} bytes, the release has {size:,})"
        else:
            continue
        raise PublishError(
            f"commit {commit[:12]} does not hold the release: {path} {why}; {plan.tag} was not tagged"
        )
    kept = [p for p in plan.deletes if p in tree]
    if kept:
        raise PublishError(
            f"commit {commit[:12]} does not hold the release: it still has {kept[0]}, which the "
            f"release deletes; {plan.tag} was not tagged"
        )


def _ignored_by(hub: Hub, tree: dict, commit: str, path: str) -> str | None:
    """The line of the commit's .gitignore that matches `path` (simple glob patterns), if any."""
    if GITIGNORE not in tree:
        return None
    for line in hub.read_text(GITIGNORE, commit).splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith(("#", "!")):
            continue
        glob = pattern.rstrip("/").lstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        names = prefixes if "/" in pattern.rstrip("/") else parts
        if pattern.endswith("/"):
            names = names[:-1]  # a directory pattern: not the file itself
        if any(fnmatch.fnmatchcase(n, glob) for n in names):
            return pattern
    return None


def _landed(hub: Hub, parent: str | None, marker: str) -> str | None:
    """The commit of this run on main (found by its marker, newest first), or None."""
    for item in hub.commits_since(parent):
        text = f"{item.get('title') or ''}\n{item.get('message') or ''}"
        if marker in text.splitlines():
            return item["id"]
    return None


def _sent(n: int) -> str:
    from importlib.util import find_spec

    from huggingface_hub import constants

    xet = not constants.HF_HUB_DISABLE_XET and find_spec("hf_xet") is not None
    return f"{n:,} bytes sent{'; Xet transfers are not counted' if xet else ''}"


def _description(plan: PublishPlan) -> str:
    e = plan.entry
    lines = [
        f"{e['rows']:,} articles: +{e['added']:,} added, -{e['removed']:,} removed, ~{e['changed']:,} changed."
    ]
    if e["schema_changes"]:
        lines.append("Schema changes: " + "; ".join(e["schema_changes"]))
    lines.append(f"Input fingerprint: {e['input_fingerprint']}")
    return "\n".join(lines)
