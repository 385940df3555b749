# ruff: noqa: F811  (the fixtures imported from tests.test_publish are parameters here)
"""Publishing against a Hub that misbehaves: every scenario ends in a correct tag or in no tag.

The faults come from the local Hub (tests/hubserver): lost answers with a concurrent commit,
a `.gitignore` that makes the Hub skip files, stalls, 429 with `Retry-After`, foreign tags.
"""

import json
import time

import pytest

from builder.publish import execute, make_plan
from builder.publish.hub import Hub, PublishError, RetryPolicy
from builder.publish.plan import same_content
from builder.publish.versions import Version
from tests.hubserver import DROP
from tests.support import cli, config, make_config
from tests.test_publish import (  # noqa: F401  (fixtures)
    FAST,
    add_month,
    do_publish,
    env_token,
    no_client_backoff,
    release,
)

STALLING = RetryPolicy(attempts=20, base_delay=0.01, max_delay=0.05, timeout=0.5, budget=2.0)


def commit_notes(hub_api, repo):
    """Another client's commit to main."""
    hub_api.upload_file(
        path_or_fileobj=b"someone else\n",
        path_in_repo="NOTES.md",
        repo_id=repo,
        repo_type="dataset",
    )


def assert_tag_is_the_release(repo, tag, release_dir):
    """The tag's commit holds every file of the release manifest, byte for byte."""
    remote = Hub(repo)
    commit = remote.state().tags[tag]
    tree = remote.tree(commit)
    manifest = json.loads((release_dir / "manifest.json").read_text())
    for path in manifest["files"]:
        assert path in tree and same_content(tree[path], release_dir / path), path
    return commit, tree


@pytest.mark.parametrize("lost", [500, DROP], ids=["500-after-commit", "dropped-answer"])
def test_lost_commit_answer_and_a_concurrent_commit_tag_the_release(
    hub, hub_repo, env_token, release, hub_api, lost
):
    release.build()
    hub_api.create_repo(hub_repo, repo_type="dataset")
    hub.faults.fail_matching(
        r"/commit/", lost, after=True, then=lambda: commit_notes(hub_api, hub_repo)
    )
    result = do_publish(release, hub_repo, "1.0.0")
    commit, tree = assert_tag_is_the_release(hub_repo, "v1.0.0", release.out)
    assert commit == result.commit
    assert "NOTES.md" not in tree  # not the other client's commit, which is main's head now
    assert "NOTES.md" in Hub(hub_repo).tree(Hub(hub_repo).state().head)


def test_a_commit_that_never_landed_is_not_found_on_a_moved_main(
    hub, hub_repo, env_token, release, hub_api
):
    release.build()
    hub_api.create_repo(hub_repo, repo_type="dataset")
    hub.faults.fail_matching(r"/commit/", 500, then=lambda: commit_notes(hub_api, hub_repo))
    with pytest.raises(PublishError, match="answered 500 while committing"):
        do_publish(release, hub_repo, "1.0.0")
    assert not Hub(hub_repo).state().tags


def test_files_the_hub_ignores_are_refused_before_tagging(hub, hub_repo, hub_token, tmp_path):
    make_config(tmp_path)
    add_month(tmp_path / "raw", "2021-01")
    assert cli("build", "--workers", "1", cwd=tmp_path).returncode == 0
    from huggingface_hub import HfApi

    api = HfApi(token=hub_token)
    api.create_repo(hub_repo, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"# ours\ndata/it/\n",
        path_in_repo=".gitignore",
        repo_id=hub_repo,
        repo_type="dataset",
    )
    result = cli("publish", "--repo", hub_repo, cwd=tmp_path, env_extra={"HF_TOKEN": hub_token})
    assert result.returncode == 5, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert (
        lines[0].startswith("error: commit ")
        and "data/it/2021-01/0000.parquet is missing" in lines[0]
    )
    assert "ignores it (pattern 'data/it/')" in lines[0] and "v1.0.0 was not tagged" in lines[0]
    assert not Hub(hub_repo).state().tags


def test_gitignored_chart_is_named(hub, hub_repo, env_token, release, hub_api):
    release.build()
    hub_api.create_repo(hub_repo, repo_type="dataset")
    hub_api.upload_file(
        path_or_fileobj=b"*.png\n", path_in_repo=".gitignore", repo_id=hub_repo, repo_type="dataset"
    )
    with pytest.raises(PublishError, match=r"\.png is missing: .*pattern '\*\.png'"):
        do_publish(release, hub_repo, "1.0.0")
    assert not Hub(hub_repo).state().tags


@pytest.mark.parametrize(
    "where", [r"/refs$", r"^/_lfs/", r"/commit/"], ids=["ref-read", "lfs-upload", "commit"]
)
def test_a_hub_that_never_answers_ends_in_one_line(hub, hub_repo, env_token, release, where):
    release.build()
    hub.faults.stall(where, count=1000)
    started = time.monotonic()
    with pytest.raises(PublishError) as err:
        publish_with(release, hub_repo, "1.0.0", STALLING)
    assert time.monotonic() - started < 20
    assert "\n" not in str(err.value)
    hub.faults.clear()  # releases the stalled requests too
    assert "v1.0.0" not in Hub(hub_repo).state().tags


def publish_with(release, repo, version, policy):
    from builder.publish import publish

    return publish(release.out, config(), repo_id=repo, version=version, retry=policy)


def test_retry_after_is_honoured_on_the_commit(hub, hub_repo, env_token, release):
    release.build()
    hub.faults.fail_matching(r"/commit/", 429, headers={"Retry-After": "2"})
    result = do_publish(release, hub_repo, "1.0.0")  # FAST alone would wait 0.01 s
    first, second = hub.stats.arrivals("POST", r"/commit/")
    assert 1.9 <= second - first < 6
    assert Hub(hub_repo).state().tags["v1.0.0"] == result.commit


def test_retry_after_beyond_the_budget_gives_up_at_once(hub, hub_repo, env_token, release):
    release.build()
    hub.faults.fail_matching(r"/refs$", 429, count=10, headers={"Retry-After": "3600"})
    started = time.monotonic()
    with pytest.raises(PublishError, match=r"asked to wait 3600s \(Retry-After\)"):
        publish_with(release, hub_repo, "1.0.0", STALLING)
    assert time.monotonic() - started < 5


def tag_with_manifest(hub_api, repo, tag, text):
    hub_api.upload_file(
        path_or_fileobj=text.encode(),
        path_in_repo="manifest.json",
        repo_id=repo,
        repo_type="dataset",
    )
    hub_api.create_tag(repo, tag=tag, repo_type="dataset")


def test_another_tools_higher_tag_is_ignored_and_said_so(
    hub, hub_repo, env_token, release, hub_api
):
    hub_api.create_repo(hub_repo, repo_type="dataset")
    other = {"name": "their-dataset", "version": "9.0.0", "files": ["train.csv"]}
    tag_with_manifest(hub_api, hub_repo, "v9.0.0", json.dumps(other))
    tag_with_manifest(hub_api, hub_repo, "v8.0.0", "not json at all")
    release.build()
    result = do_publish(release, hub_repo, "1.0.0")
    assert result.plan.previous is None and result.plan.ignored_tags == ["v9.0.0", "v8.0.0"]
    assert "not made by Broadsheet" in result.plan.describe() and "v9.0.0" in result.plan.describe()
    assert_tag_is_the_release(hub_repo, "v1.0.0", release.out)
    add_month(release.raw, "2022-07")  # months of their own: blobs differ from other tests
    release.build()
    assert do_publish(release, hub_repo, "1.1.0").plan.previous[0] == Version(1, 0, 0)


@pytest.mark.parametrize(
    "text",
    [
        '{"generator": "broadsheet", "manifest_format": 1, "files": {}}',
        '{"generator": "broadsheet", ',
    ],
    ids=["missing-keys", "invalid-json"],
)
def test_a_damaged_manifest_of_ours_is_one_line(hub, hub_repo, env_token, release, hub_api, text):
    release.build()
    do_publish(release, hub_repo, "1.0.0")
    tag_with_manifest(hub_api, hub_repo, "v1.5.0", text)
    add_month(release.raw, "2022-07")  # months of their own: blobs differ from other tests
    release.build()
    with pytest.raises(
        PublishError, match=r"v1.5.0: manifest.json says Broadsheet wrote it but cannot be used"
    ):
        do_publish(release, hub_repo, "2.0.0")
    assert "v2.0.0" not in Hub(hub_repo).state().tags


def test_the_summary_reports_the_bytes_a_rerun_sent(hub, hub_repo, env_token, release):
    release.build()
    hub.faults.fail_matching(r"/commit/", 500)  # every blob is uploaded, then the commit fails
    with pytest.raises(PublishError):
        do_publish(release, hub_repo, "1.0.0")
    remote = Hub(hub_repo, env_token, FAST)
    plan = make_plan(release.out, config(), remote, Version.parse("1.0.0"))
    hub.stats.reset()
    result = execute(plan, remote)
    assert hub.stats.lfs_bytes_received == 0  # the blobs were on the Hub already
    assert result.bytes_sent == hub.stats.bytes_received < plan.upload_bytes
    assert f"({hub.stats.bytes_received:,} bytes sent" in result.summary()
