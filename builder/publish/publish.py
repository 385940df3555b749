"""Carrying out a plan: one `create_commit` with a pinned parent, then the tag on that commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete

from builder.config import Config
from builder.layout import CARD_FILE
from builder.publish.hub import REPO_TYPE, Hub, PublishError, RetryPolicy
from builder.publish.plan import PublishPlan, make_plan, same_content
from builder.publish.versions import Version

STALE_PARENT = {409, 412}
RETRY_COMMIT = frozenset({429})  # refused before anything was applied: safe to send again


@dataclass
class PublishResult:
    plan: PublishPlan
    commit: str | None = None  # the commit the tag points at (or the PR's head)
    pr_url: str | None = None
    dry_run: bool = False

    def summary(self) -> str:
        if self.dry_run:
            return "dry run: nothing was sent"
        if self.plan.noop:
            return f"{self.plan.tag} was already published: nothing to do"
        if self.pr_url:
            return f"opened {self.pr_url}; after it is merged, run publish again to tag {self.plan.tag}"
        return f"published {self.plan.repo_id} {self.plan.tag} at commit {self.commit} ({self.plan.upload_bytes:,} bytes uploaded)"


def publish(
    release: Path,
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
    try:
        target = Version.parse(version) if version else None
    except ValueError as exc:
        raise PublishError(f"--version: {exc}") from None
    hub = Hub.connect(repo_id or config.dataset.repo_id, need_write=not dry_run, retry=retry)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    plan = make_plan(release, config, hub, target, create_pr=create_pr, today=today)
    if show is not None:
        show(plan.describe())
    if dry_run or plan.noop:
        return PublishResult(plan, dry_run=dry_run)
    return execute(plan, hub, private=config.dataset.private)


def execute(plan: PublishPlan, hub: Hub, private: bool = False) -> PublishResult:
    """Send the plan: create the repo if missing, commit on the planned parent, tag the commit."""
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
        commit = parent
    else:
        operations = [CommitOperationAdd(p, plan.contents[p]) for p in plan.upload_paths]
        operations += [CommitOperationDelete(p) for p in plan.deletes]
        try:
            info = hub.call(
                "committing",
                hub.api.create_commit,
                plan.repo_id,
                operations,
                commit_message=f"Release {plan.tag}",
                commit_description=_description(plan),
                repo_type=REPO_TYPE,
                revision="main",
                parent_commit=parent,
                create_pr=plan.create_pr,
                retry_status=RETRY_COMMIT,
            )
        except PublishError as exc:
            # A commit that failed after the server applied it (a 5xx, a lost answer) must not
            # be reported as lost: if main now holds exactly the planned files, it landed.
            commit = None if plan.create_pr else _landed(plan, hub, parent)
            if commit is None and exc.status in STALE_PARENT:
                raise PublishError(
                    f"main changed since the plan was made (expected parent {str(parent)[:12]}); "
                    "nothing was committed: re-run publish to plan against the new state",
                    exc.status,
                ) from None
            if commit is None:
                raise
        except RuntimeError as exc:  # the upload itself failed after the client's own retries
            raise PublishError(
                f"uploading to {hub.endpoint} failed: {exc}; nothing was committed, re-run publish"
            ) from None
        else:
            if plan.create_pr:
                return PublishResult(plan, commit=info.oid, pr_url=info.pr_url)
            commit = info.oid
    _tag(plan, hub, commit)
    if plan.card:  # the local release now shows what was published (changelog, notes)
        card = plan.release / CARD_FILE
        card.with_suffix(".tmp").write_text(plan.card, encoding="utf-8")
        card.with_suffix(".tmp").replace(card)
    return PublishResult(plan, commit=commit)


def _tag(plan: PublishPlan, hub: Hub, commit: str) -> None:
    """Tag `commit`; a tag that already points there (an earlier answer was lost) is success."""
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
        ) from None


def _landed(plan: PublishPlan, hub: Hub, parent: str | None) -> str | None:
    """The head of main if it moved past `parent` and holds exactly the planned files, else None."""
    state = hub.state()
    if state.head in (None, parent):
        return None
    holds = all(
        p in state.tree and same_content(state.tree[p], c) for p, c in plan.contents.items()
    )
    return state.head if holds and not any(p in state.tree for p in plan.deletes) else None


def _description(plan: PublishPlan) -> str:
    e = plan.entry
    lines = [
        f"{e['rows']:,} articles: +{e['added']:,} added, -{e['removed']:,} removed, ~{e['changed']:,} changed."
    ]
    if e["schema_changes"]:
        lines.append("Schema changes: " + "; ".join(e["schema_changes"]))
    lines.append(f"Input fingerprint: {e['input_fingerprint']}")
    return "\n".join(lines)
