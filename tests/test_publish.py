"""Publishing end to end against the local Hub (tests/hubserver): versions, uploads, faults, secrecy."""

import json
import os
import types
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from builder.layout import CARD_FILE
from builder.publish import make_plan, publish, verify
from builder.publish.hub import Hub, PublishError, RetryPolicy
from builder.publish.plan import CHANGELOG_FILE, same_content
from builder.publish.versions import Version
from builder.writers.card import MAINTAINER_END, MAINTAINER_START
from schema import hf_features
from tests.support import (
    ENGLISH,
    ITALIAN,
    cli,
    config,
    jsonl,
    make_config,
    rows,
    run_build,
    seed_text,
    write,
)

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)


def add_month(raw, month, n=6):
    for i in range(n):
        write(
            raw / month / f"{i:02d}.txt",
            seed_text(month, f"{ITALIAN if i % 2 else ENGLISH} Numero {i}, {month}."),
        )
    write(
        raw / f"crawl-{month}.jsonl",
        jsonl(
            [
                {
                    "maintext": f"{ENGLISH} Crawled {j} in {month}.",
                    "date_publish": f"{month}-1{j}",
                    "url": f"https://n.example/{month}/{j}",
                }
                for j in range(4)
            ]
        ),
    )


@pytest.fixture
def no_client_backoff(monkeypatch):
    """huggingface_hub's own retries wait 1+2+4+8+8 s; the tests need their outcome, not the wait."""
    import huggingface_hub.utils._http as hf_http

    monkeypatch.setattr(hf_http, "time", types.SimpleNamespace(sleep=lambda seconds: None))


@pytest.fixture
def env_token(monkeypatch, hub_token):
    monkeypatch.setenv("HF_TOKEN", hub_token)
    return hub_token


@pytest.fixture
def release(tmp_path):
    raw = tmp_path / "raw"
    add_month(raw, "2021-01")
    add_month(raw, "2021-02")
    # Bytes of its own: the local Hub shares blob storage between repos, and a blob another
    # test stored already would not be sent again, which would make byte counts depend on order.
    write(raw / "unique.txt", seed_text("2021-01", f"{ENGLISH} {uuid.uuid4()}"))
    return types.SimpleNamespace(
        raw=raw, out=tmp_path / "dist", build=lambda: run_build(raw, tmp_path / "dist")
    )


def v1_then_a_new_month(release, repo):
    """Publish v1.0.0, then add March 2021 to the raw folder and rebuild."""
    release.build()
    do_publish(release, repo, "1.0.0")
    add_month(release.raw, "2021-03")
    release.build()


def do_publish(release, repo, version, **kw):
    cfg = config()
    return publish(release.out, cfg, repo_id=repo, version=version, retry=FAST, **kw)


def load(repo, revision, name="default", **kw):
    from datasets import load_dataset

    return load_dataset(repo, name, revision=revision, split="train", **kw)


def by_id(records):
    return sorted(records, key=lambda r: r["id"])


def test_publish_load_add_a_month_and_republish(hub, hub_repo, env_token, release, tmp_path):
    release.build()
    v1_rows = rows(release.out)
    first = do_publish(release, hub_repo, "1.0.0")
    assert first.commit and hub.stats.lfs_bytes_received > 0
    v1_upload, v1_lfs = hub.stats.bytes_received, hub.stats.lfs_bytes_received

    # v1.0.0 loads exactly: rows, features, per-language config, streaming, card metadata
    ds = load(hub_repo, "v1.0.0")
    assert ds.features == hf_features()
    assert by_id(ds.to_list()) == v1_rows
    assert sorted(load(hub_repo, "v1.0.0", "it")["id"]) == sorted(
        r["id"] for r in v1_rows if r["language"] == "it"
    )
    assert sorted(r["id"] for r in load(hub_repo, "v1.0.0", streaming=True)) == [
        r["id"] for r in v1_rows
    ]
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(hub_repo, repo_type="dataset")
    info = {c["config_name"]: c for c in card.data.dataset_info}
    assert info["default"]["splits"][0]["num_examples"] == len(v1_rows)
    assert {c["config_name"] for c in card.data.configs} == {"default", "en", "it"}
    assert verify(hub_repo, "v1.0.0").rows == len(v1_rows)

    # v1.1.0 adds a month: only new and changed files travel
    add_month(release.raw, "2021-03")
    release.build()
    v2_rows = rows(release.out)
    hub.stats.reset()
    second = do_publish(release, hub_repo, "1.1.0")
    plan = second.plan
    assert {"data/en/2021-03/0000.parquet", "data/it/2021-03/0000.parquet"} <= set(plan.adds)
    assert not any(p.startswith("data/") for p in plan.changes + plan.deletes)
    old_shards = [p for p in plan.unchanged if p.startswith("data/")]
    assert len(old_shards) == 4
    lfs_files = [
        p for p in plan.upload_paths if p.endswith((".parquet", ".png"))
    ]  # per .gitattributes
    assert hub.stats.lfs_bytes_received == sum(os.path.getsize(release.out / p) for p in lfs_files)
    print(
        f"\nbytes received by the Hub: v1.0.0 {v1_upload:,} ({v1_lfs:,} LFS); "
        f"v1.1.0 {hub.stats.bytes_received:,} ({hub.stats.lfs_bytes_received:,} LFS)"
    )
    assert (
        plan.entry["added"] == len(v2_rows) - len(v1_rows)
        and plan.entry["removed"] == plan.entry["changed"] == 0
    )

    assert by_id(load(hub_repo, "v1.1.0").to_list()) == v2_rows
    assert by_id(load(hub_repo, "v1.0.0").to_list()) == v1_rows
    changelog = json.loads(hub_file(hub_repo, CHANGELOG_FILE, "v1.1.0"))
    assert [e["version"] for e in changelog] == ["1.1.0", "1.0.0"]
    assert "| v1.1.0 |" in (release.out / CARD_FILE).read_text()

    # publishing v1.1.0 again is a no-op that sends nothing
    refs_before = Hub(hub_repo).state()
    hub.stats.reset()
    again = do_publish(release, hub_repo, "1.1.0")
    assert again.plan.noop and again.commit is None
    assert hub.stats.lfs_bytes_received == 0 and not hub.stats.count("POST", r"/commit/")
    assert Hub(hub_repo).state().head == refs_before.head


def hub_file(repo, path, revision="main"):
    from huggingface_hub import hf_hub_download

    with open(
        hf_hub_download(repo, path, repo_type="dataset", revision=revision), encoding="utf-8"
    ) as f:
        return f.read()


def test_same_tag_with_different_content_is_refused(hub, hub_repo, env_token, release):
    v1_then_a_new_month(release, hub_repo)
    with pytest.raises(PublishError, match="already published .* different content"):
        do_publish(release, hub_repo, "1.0.0")
    with pytest.raises(PublishError, match="not after the latest published v1.0.0"):
        do_publish(release, hub_repo, "0.9.0")


def edit_schema(release_dir, change):
    manifest_path = release_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["schema_fields"] = change(manifest["schema_fields"])
    manifest_path.write_text(json.dumps(manifest))


def test_schema_changes_need_the_right_bump(hub, hub_repo, env_token, release):
    release.build()
    do_publish(release, hub_repo, "1.0.0")
    edit_schema(release.out, lambda fields: [f for f in fields if f[0] != "domain"])
    with pytest.raises(
        PublishError,
        match=r"column `domain` removed: a breaking schema change needs a major bump \(to 2.0.0",
    ):
        do_publish(release, hub_repo, "1.1.0")
    edit_schema(release.out, lambda fields: [*fields, ["domain", "string"], ["section", "string"]])
    with pytest.raises(
        PublishError, match=r"column `section` added.*at least a minor bump \(to 1.1.0\)"
    ):
        do_publish(release, hub_repo, "1.0.1")


def test_dry_run_sends_and_writes_nothing(hub, hub_repo, release, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    release.build()
    card_before = (release.out / CARD_FILE).read_bytes()
    result = do_publish(release, hub_repo, "1.0.0", dry_run=True)
    assert result.dry_run and "will be created" in result.plan.describe()
    assert "data/en/2021-01/0000.parquet" in result.plan.adds
    assert all(method in ("GET", "HEAD") for method, _ in hub.stats.requests)
    assert hub.stats.bytes_received == 0
    assert not Hub(hub_repo).state().exists
    assert (release.out / CARD_FILE).read_bytes() == card_before


def test_interrupted_upload_completes_on_rerun(
    hub, hub_repo, env_token, release, no_client_backoff
):
    release.build()
    hub.faults.drop_upload_after(500, count=50)  # outlasts the client's own 5 retries per file
    with pytest.raises(PublishError, match="nothing was committed, re-run publish"):
        do_publish(release, hub_repo, "1.0.0")
    state = Hub(hub_repo).state()
    assert "v1.0.0" not in state.tags and not any(p.startswith("data/") for p in state.tree)
    assert not hub.list_partial_uploads()

    hub.faults.clear()  # the connection is back
    result = do_publish(release, hub_repo, "1.0.0")
    state = Hub(hub_repo).state()
    assert state.tags["v1.0.0"] == result.commit == state.head
    tree = Hub(hub_repo).tree(result.commit)
    manifest = json.loads(hub_file(hub_repo, "manifest.json", "v1.0.0"))
    for path in manifest["files"]:
        assert same_content(tree[path], release.out / path), path
    commits = Hub(hub_repo).api.list_repo_commits(hub_repo, repo_type="dataset")
    assert (
        len(commits) == 2
    )  # the repository's first commit and the release: the failed run left none


def test_concurrent_commit_between_plan_and_commit_is_refused(
    hub, hub_repo, env_token, release, hub_api
):
    from builder.publish import execute

    v1_then_a_new_month(release, hub_repo)
    remote = Hub(hub_repo, env_token, FAST)
    plan = make_plan(release.out, config(), remote, version=Version.parse("1.1.0"))
    hub_api.upload_file(
        path_or_fileobj=b"someone else\n",
        path_in_repo="NOTES.md",
        repo_id=hub_repo,
        repo_type="dataset",
    )
    with pytest.raises(PublishError, match="main changed since the plan"):
        execute(plan, remote)
    assert "v1.1.0" not in Hub(hub_repo).state().tags


def test_maintainer_notes_survive_a_new_version(hub, hub_repo, env_token, release, hub_api):
    release.build()
    do_publish(release, hub_repo, "1.0.0")
    card = hub_file(hub_repo, CARD_FILE)
    before, rest = card.split(MAINTAINER_START)
    edited = f"{before}{MAINTAINER_START}\nCollected by the Tuesday crew. Contact: data@example.org\n{MAINTAINER_END}{rest.split(MAINTAINER_END)[1]}"
    hub_api.upload_file(
        path_or_fileobj=edited.encode(),
        path_in_repo=CARD_FILE,
        repo_id=hub_repo,
        repo_type="dataset",
    )
    add_month(release.raw, "2021-03")
    release.build()
    do_publish(release, hub_repo, "1.1.0")
    assert "Collected by the Tuesday crew." in hub_file(hub_repo, CARD_FILE, "v1.1.0")


def test_create_pr_leaves_main_and_tags_alone(hub, hub_repo, env_token, release):
    release.build()
    do_publish(release, hub_repo, "1.0.0")
    head = Hub(hub_repo).state().head
    add_month(release.raw, "2021-03")
    release.build()
    result = do_publish(release, hub_repo, "1.1.0", create_pr=True)
    assert result.pr_url and result.commit
    refs = Hub(hub_repo).api.list_repo_refs(
        hub_repo, repo_type="dataset", include_pull_requests=True
    )
    assert [r.target_commit for r in refs.pull_requests] == [result.commit]
    assert "data/en/2021-03/0000.parquet" in Hub(hub_repo).tree(result.commit)
    state = Hub(hub_repo).state()
    assert state.head == head and "v1.1.0" not in state.tags


def test_429_storm_is_retried_then_reported(hub, hub_repo, env_token, release):
    release.build()
    hub.faults.fail_matching(r"/commit/", 429, count=2)
    assert do_publish(release, hub_repo, "1.0.0").commit  # a short storm is ridden out
    add_month(release.raw, "2021-03")
    release.build()
    hub.stats.reset()
    hub.faults.fail_matching(r"/commit/", 429, count=100)
    with pytest.raises(PublishError, match=r"kept answering 429 .* after 4 attempts"):
        do_publish(release, hub_repo, "1.1.0")
    assert hub.stats.count("POST", r"/commit/") == 4
    assert "v1.1.0" not in Hub(hub_repo).state().tags


def test_missing_or_rejected_token(hub, hub_repo, release, monkeypatch):
    release.build()
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(PublishError, match="no Hugging Face token"):
        do_publish(release, hub_repo, "1.0.0")
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_valid_token_for_this_hub")
    with pytest.raises(PublishError, match=r"rejected the token \(401\)") as err:
        do_publish(release, hub_repo, "1.0.0")
    assert "hf_not_a_valid" not in str(err.value)


def test_token_never_appears_in_output_or_files(hub, hub_repo, hub_token, tmp_path):
    make_config(tmp_path)
    add_month(tmp_path / "raw", "2021-01")
    assert cli("build", "--workers", "1", cwd=tmp_path, env_extra={}).returncode == 0
    env = {"HF_TOKEN": hub_token, "HF_HUB_VERBOSITY": "debug"}
    outputs = [
        cli("publish", "--repo", hub_repo, "--dry-run", cwd=tmp_path, env_extra=env),
        cli("publish", "--repo", hub_repo, cwd=tmp_path, env_extra=env),
        cli("verify", "--repo", hub_repo, "--revision", "v1.0.0", cwd=tmp_path, env_extra=env),
    ]
    assert [o.returncode for o in outputs] == [0, 0, 0], [o.stderr[-2000:] for o in outputs]
    for out in outputs:
        assert hub_token not in out.stdout + out.stderr
    hf_home = Path(os.environ["HF_HOME"])  # where the subprocesses cached what they downloaded
    for path in [*tmp_path.rglob("*"), *hf_home.rglob("*")]:
        if path.is_file():
            assert hub_token.encode() not in path.read_bytes(), path


def test_unreachable_hub_is_one_line(tmp_path):
    make_config(tmp_path)
    add_month(tmp_path / "raw", "2021-01")
    assert cli("build", "--workers", "1", cwd=tmp_path, env_extra={}).returncode == 0
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = cli(
        "publish", "--dry-run", cwd=tmp_path, env_extra={"HF_ENDPOINT": f"http://127.0.0.1:{port}"}
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the Hub"), result.stderr
    assert "Traceback" not in result.stderr


def test_release_that_does_not_match_its_manifest_is_not_sent(hub, hub_repo, env_token, release):
    release.build()
    shard = release.out / "data" / "en" / "2021-01" / "0000.parquet"
    table = pq.read_table(shard)
    pq.write_table(table.slice(1), shard)
    with pytest.raises(PublishError, match="does not match its sha256"):
        do_publish(release, hub_repo, "1.0.0")
    assert not Hub(hub_repo).state().exists


def test_a_commit_applied_despite_a_500_is_tagged_not_retried(hub, hub_repo, env_token, release):
    release.build()
    hub.faults.fail_matching(r"/commit/", 500, count=1, after=True)
    result = do_publish(release, hub_repo, "1.0.0")
    assert hub.stats.count("POST", r"/commit/") == 1  # not sent twice
    state = Hub(hub_repo).state()
    assert state.tags["v1.0.0"] == result.commit == state.head


def test_a_500_before_the_commit_applies_is_reported_and_nothing_lands(
    hub, hub_repo, env_token, release
):
    release.build()
    hub.faults.fail_matching(r"/commit/", 500, count=1)
    with pytest.raises(PublishError, match="answered 500 while committing"):
        do_publish(release, hub_repo, "1.0.0")
    assert hub.stats.count("POST", r"/commit/") == 1
    assert "v1.0.0" not in Hub(hub_repo).state().tags


def test_failing_downloads_while_planning_are_not_taken_for_missing_files(
    hub, hub_repo, env_token, release, no_client_backoff
):
    v1_then_a_new_month(release, hub_repo)
    hub.faults.fail_matching(r"/resolve/.*(README|changelog)", 500, count=1000)
    with pytest.raises(PublishError, match="while downloading"):
        do_publish(release, hub_repo, "1.1.0")
    assert "v1.1.0" not in Hub(hub_repo).state().tags


def test_cli_prints_the_plan_before_sending_and_refuses_a_bad_version(
    hub, hub_repo, hub_token, tmp_path
):
    make_config(tmp_path)
    add_month(tmp_path / "raw", "2021-01")
    assert cli("build", "--workers", "1", cwd=tmp_path).returncode == 0
    bad = cli(
        "publish",
        "--repo",
        hub_repo,
        "--version",
        "1.0",
        cwd=tmp_path,
        env_extra={"HF_TOKEN": hub_token},
    )
    assert bad.returncode == 5 and bad.stderr.strip().splitlines() == [
        "error: --version: '1.0' is not a semantic version X.Y.Z"
    ]
    good = cli("publish", "--repo", hub_repo, cwd=tmp_path, env_extra={"HF_TOKEN": hub_token})
    assert good.returncode == 0, good.stderr
    assert good.stdout.index("Publish " + hub_repo) < good.stdout.index("published " + hub_repo)


def test_changelog_counts_changed_and_removed_articles_read_from_the_hub(
    hub, hub_repo, env_token, release
):
    release.build()
    do_publish(release, hub_repo, "1.0.0")
    (release.raw / "2021-01" / "00.txt").write_text(
        seed_text("2021-01", f"{ENGLISH} Corrected."), encoding="utf-8"
    )
    (release.raw / "2021-02" / "01.txt").unlink()
    release.build()
    hub.stats.reset()
    plan = do_publish(release, hub_repo, "1.0.1").plan
    assert (plan.entry["added"], plan.entry["removed"], plan.entry["changed"]) == (0, 1, 1)
    # the previous version of the changed shards was read by column over ranges, not downloaded
    shard_reads = [
        status
        for method, path, status in hub.stats.responses
        if method == "GET" and "/data/" in path
    ]
    assert shard_reads and set(shard_reads) == {206}
    changed = [p for p in plan.changes if p.startswith("data/")]
    assert sorted(changed) == ["data/en/2021-01/0000.parquet", "data/it/2021-02/0000.parquet"]


def test_private_repository_from_the_config(hub, hub_repo, env_token, release, monkeypatch):
    release.build()
    cfg = config()
    cfg = cfg.model_copy(update={"dataset": cfg.dataset.model_copy(update={"private": True})})
    publish(release.out, cfg, repo_id=hub_repo, retry=FAST)
    assert Hub(hub_repo, env_token).state().exists
    monkeypatch.delenv("HF_TOKEN")
    assert not Hub(hub_repo).state().exists  # invisible without a token, as on the Hub


def commit_to_main(hub_api, repo, plan):
    """Apply a plan's files to main by hand, as merging its pull request would."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    operations = [CommitOperationAdd(p, plan.contents[p]) for p in plan.upload_paths]
    operations += [CommitOperationDelete(p) for p in plan.deletes]
    hub_api.create_commit(repo, operations, commit_message="Merge", repo_type="dataset")


def test_after_a_merged_pull_request_a_later_run_only_tags(
    hub, hub_repo, env_token, release, hub_api
):
    from builder.publish import execute

    v1_then_a_new_month(release, hub_repo)
    remote = Hub(hub_repo, env_token, FAST)
    pr_plan = make_plan(
        release.out, config(), remote, Version.parse("1.1.0"), create_pr=True, today="2026-11-26"
    )
    execute(pr_plan, remote)
    commit_to_main(hub_api, hub_repo, pr_plan)
    head = Hub(hub_repo).state().head
    hub.stats.reset()
    plan = make_plan(
        release.out, config(), remote, Version.parse("1.1.0"), today="2026-11-27"
    )  # a day later
    assert plan.tag_only, plan.describe()
    assert execute(plan, remote).commit == head == Hub(hub_repo).state().tags["v1.1.0"]
    assert hub.stats.lfs_bytes_received == 0 and not hub.stats.count("POST", r"/commit/")


def test_a_failed_tag_is_made_by_rerunning_and_untagged_versions_leave_no_changelog(
    hub, hub_repo, env_token, release
):
    v1_then_a_new_month(release, hub_repo)
    hub.faults.fail_matching(r"/tag/", 403, count=1)
    with pytest.raises(
        PublishError, match="committed .* but tagging v1.1.0 failed.*re-run publish"
    ):
        do_publish(release, hub_repo, "1.1.0")
    head = Hub(hub_repo).state().head
    assert do_publish(release, hub_repo, "1.1.0").commit == head  # the re-run only tags

    hub.faults.fail_matching(r"/tag/", 403, count=1)
    add_month(release.raw, "2021-04")
    release.build()
    with pytest.raises(PublishError):
        do_publish(release, hub_repo, "1.2.0")  # committed, never tagged
    add_month(release.raw, "2021-05")
    release.build()
    plan = do_publish(release, hub_repo, "1.3.0").plan
    changelog = json.loads(hub_file(hub_repo, CHANGELOG_FILE, "v1.3.0"))
    assert [e["version"] for e in changelog] == ["1.3.0", "1.1.0", "1.0.0"]
    assert (
        plan.entry["added"] == 20
    )  # two months of 10 articles since v1.1.0, the last tagged version


def test_foreign_tags_and_files_are_left_alone(hub, hub_repo, env_token, release, hub_api):
    hub_api.create_repo(hub_repo, repo_type="dataset")
    hub_api.upload_file(
        path_or_fileobj=b"a,b\n",
        path_in_repo="data/train.csv",
        repo_id=hub_repo,
        repo_type="dataset",
    )
    hub_api.create_tag(hub_repo, tag="v0.5.0", repo_type="dataset")
    release.build()
    result = do_publish(
        release, hub_repo, "0.1.0"
    )  # v0.5.0 is no Broadsheet release: nothing to be after
    assert result.plan.previous is None and result.plan.foreign == ["data/train.csv"]
    assert "data/train.csv" in Hub(hub_repo).tree(result.commit)
    with pytest.raises(PublishError, match="v0.5.0 has no manifest.json"):
        do_publish(release, hub_repo, "0.5.0")


def test_bad_repo_id_is_one_clear_error(release):
    release.build()
    with pytest.raises(PublishError, match="not a Hub repository id"):
        do_publish(release, "bad//repo", "1.0.0", dry_run=True)
