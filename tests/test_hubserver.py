"""Tests of the local Hub (tests/hubserver) with the real clients: huggingface_hub + datasets.

Nothing is mocked, except that one test makes huggingface_hub's retry back-off sleep a no-op
to exhaust its retries quickly (see ``test_upload_dropped_every_time_fails_then_rerun_works``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    DatasetCard,
    HfApi,
    hf_hub_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.hubserver import HubServer
from tests.hubserver.server import git_blob_oid

README = """---
license: mit
pretty_name: Broadsheet hubserver test
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
---
# Test dataset

Rows written by tests/test_hubserver.py.
"""


def parquet_bytes(rows: list[dict]) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return buf.getvalue()


def rows_for(repo_id: str, n: int = 3, start: int = 0) -> list[dict]:
    # the repo id makes the content (hence the LFS oid) unique to each test
    return [{"id": i, "headline": f"{repo_id} headline {i}"} for i in range(start, start + n)]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def http(method: str, url: str, *, headers: dict | None = None, data: bytes | None = None):
    """A raw request: (status, headers, body) without raising on 4xx/5xx."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def head_sha(api: HfApi, repo_id: str, revision: str = "main") -> str:
    return api.dataset_info(repo_id, revision=revision).sha


def publish_v1(api: HfApi, repo_id: str) -> tuple[str, bytes]:
    """Create the repo, commit a parquet (LFS) + README (regular), tag it v1.0.0."""
    api.create_repo(repo_id, repo_type="dataset")
    data = parquet_bytes(rows_for(repo_id))
    info = api.create_commit(
        repo_id,
        repo_type="dataset",
        operations=[
            CommitOperationAdd("data/train-00000.parquet", data),
            CommitOperationAdd("README.md", README.encode()),
        ],
        commit_message="Publish v1",
        parent_commit=head_sha(api, repo_id),
    )
    api.create_tag(repo_id, tag="v1.0.0", revision=info.oid, repo_type="dataset")
    return info.oid, data


# --------------------------------------------------------------------------- repos


def test_create_repo_conflict_and_exist_ok(hub: HubServer, hub_api: HfApi, hub_repo: str):
    url = hub_api.create_repo(hub_repo, repo_type="dataset")
    assert url == f"{hub.url}/datasets/{hub_repo}"
    assert (url.repo_id, url.repo_type) == (hub_repo, "dataset")

    with pytest.raises(HfHubHTTPError) as exc:
        hub_api.create_repo(hub_repo, repo_type="dataset")
    assert exc.value.response.status_code == 409
    assert exc.value.response.json()["url"] == url  # the Hub still returns the url

    assert hub_api.create_repo(hub_repo, repo_type="dataset", exist_ok=True) == url
    info = hub_api.dataset_info(hub_repo)
    assert info.private is False
    assert [s.rfilename for s in info.siblings] == [".gitattributes"]
    refs = hub_api.list_repo_refs(hub_repo, repo_type="dataset")
    assert [b.name for b in refs.branches] == ["main"] and refs.tags == []
    (initial,) = hub_api.list_repo_commits(hub_repo, repo_type="dataset")
    assert initial.commit_id == info.sha and len(info.sha) == 40


def test_model_repos_work_too(hub: HubServer, hub_api: HfApi, hub_repo: str, tmp_path: Path):
    model_id = hub_repo.replace("/ds-", "/model-")
    hub_api.create_repo(model_id)
    hub_api.upload_file(path_or_fileobj=b'{"a": 1}', path_in_repo="config.json", repo_id=model_id)
    assert hub_api.model_info(model_id).siblings[-1].rfilename == "config.json"
    path = hf_hub_download(model_id, "config.json", cache_dir=tmp_path)
    assert json.loads(Path(path).read_text()) == {"a": 1}


# --------------------------------------------------------------------------- publish flow


def test_publish_tag_dedup_and_delete(hub: HubServer, hub_api: HfApi, hub_repo: str):
    v1, data = publish_v1(hub_api, hub_repo)
    assert hub.stats.lfs_bytes_received == len(data)  # the parquet went through LFS once
    assert hub.stats.count("PUT", r"^/_lfs/") == 1
    assert hub.lfs_blob_path(sha256(data)).read_bytes() == data

    files = {
        f.path: f for f in hub_api.list_repo_tree(hub_repo, repo_type="dataset", recursive=True)
    }
    assert files["data/train-00000.parquet"].lfs.sha256 == sha256(data)
    assert files["README.md"].lfs is None  # small text: regular git blob
    assert files["README.md"].blob_id == git_blob_oid(README.encode())
    refs = hub_api.list_repo_refs(hub_repo, repo_type="dataset")
    assert [(t.name, t.ref, t.target_commit) for t in refs.tags] == [
        ("v1.0.0", "refs/tags/v1.0.0", v1)
    ]

    # Re-adding the same parquet: at the same path it is a client-side no-op (the preupload
    # oid matches), at a new path the LFS batch answers "already stored": no bytes re-sent.
    hub.stats.reset()
    v2 = hub_api.create_commit(
        hub_repo,
        repo_type="dataset",
        operations=[
            CommitOperationAdd("data/train-00000.parquet", data),
            CommitOperationAdd("data/copy.parquet", data),
            CommitOperationAdd("notes.txt", b"some notes\n"),
        ],
        commit_message="Re-add",
    ).oid
    assert hub.stats.lfs_bytes_received == 0
    assert hub.stats.count("PUT") == 0
    (copy,) = hub_api.get_paths_info(hub_repo, ["data/copy.parquet"], repo_type="dataset")
    assert copy.lfs.sha256 == sha256(data) and copy.size == len(data)

    v3 = hub_api.create_commit(
        hub_repo,
        repo_type="dataset",
        operations=[CommitOperationDelete("data/copy.parquet"), CommitOperationDelete("notes.txt")],
        commit_message="Delete",
        parent_commit=v2,
    ).oid
    assert sorted(hub_api.list_repo_files(hub_repo, repo_type="dataset")) == [
        ".gitattributes",
        "README.md",
        "data/train-00000.parquet",
    ]
    history = hub_api.list_repo_commits(hub_repo, repo_type="dataset")
    assert [c.commit_id for c in history[:3]] == [v3, v2, v1]
    assert [c.title for c in history] == ["Delete", "Re-add", "Publish v1", "initial commit"]

    # the tag still points at v1, and downloads at the tag see v1
    path = hf_hub_download(
        hub_repo, "data/train-00000.parquet", repo_type="dataset", revision="v1.0.0"
    )
    assert Path(path).read_bytes() == data
    assert Path(path).parent.parent.name == v1  # snapshots/<commit>/data/...
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(hub_repo, "notes.txt", repo_type="dataset", revision=v3)
    assert hf_hub_download(hub_repo, "notes.txt", repo_type="dataset", revision=v2)


def test_load_dataset_at_tag_and_streaming(hub_api: HfApi, hub_repo: str, tmp_path: Path):
    import datasets

    publish_v1(hub_api, hub_repo)
    # a later commit on main must not leak into the tagged version
    hub_api.create_commit(
        hub_repo,
        repo_type="dataset",
        operations=[
            CommitOperationAdd("data/train-00001.parquet", parquet_bytes(rows_for(hub_repo, 2, 3)))
        ],
        commit_message="More rows",
    )
    expected = rows_for(hub_repo)

    ds = datasets.load_dataset(hub_repo, revision="v1.0.0", cache_dir=str(tmp_path / "c1"))
    assert ds["train"].to_list() == expected
    streamed = datasets.load_dataset(hub_repo, revision="v1.0.0", streaming=True)
    assert list(streamed["train"]) == expected
    latest = datasets.load_dataset(hub_repo, cache_dir=str(tmp_path / "c2"))
    assert latest["train"].num_rows == 5

    card = DatasetCard.load(hub_repo, repo_type="dataset")
    assert card.data.license == "mit"
    assert card.data.pretty_name == "Broadsheet hubserver test"
    assert "Rows written by" in card.text


def test_push_to_hub_round_trip(hub_token: str, hub_repo: str, tmp_path: Path):
    import datasets

    ds = datasets.Dataset.from_dict({"id": [1, 2, 3], "headline": ["a", "b", hub_repo]})
    ds.push_to_hub(hub_repo, token=hub_token)
    loaded = datasets.load_dataset(hub_repo, split="train", cache_dir=str(tmp_path))
    assert loaded.to_dict() == ds.to_dict()


def test_tree_pagination_and_paths_info(hub: HubServer, hub_api: HfApi, hub_repo: str):
    hub_api.create_repo(hub_repo, repo_type="dataset")
    ops = [CommitOperationAdd(f"many/f{i:03d}.txt", f"file {i}\n".encode()) for i in range(120)]
    ops.append(CommitOperationAdd("many/sub/deep.txt", b"deep\n"))
    commit = hub_api.create_commit(
        hub_repo, repo_type="dataset", operations=ops, commit_message="m"
    )

    hub.stats.reset()
    entries = list(hub_api.list_repo_tree(hub_repo, repo_type="dataset", recursive=True))
    assert hub.stats.count("GET", "/tree/") == 3  # 124 entries, pages of 50
    paths = [e.path for e in entries]
    assert len(paths) == len(set(paths)) == 124  # .gitattributes, many/, many/sub/, 121 files
    assert {"many", "many/sub", "many/sub/deep.txt", "many/f119.txt"} <= set(paths)

    top = list(hub_api.list_repo_tree(hub_repo, repo_type="dataset"))
    assert [(type(e).__name__, e.path) for e in top] == [
        ("RepoFile", ".gitattributes"),
        ("RepoFolder", "many"),
    ]
    sub = list(hub_api.list_repo_tree(hub_repo, "many/sub", repo_type="dataset"))
    assert [e.path for e in sub] == ["many/sub/deep.txt"]

    infos = hub_api.get_paths_info(
        hub_repo, ["many/f007.txt", "many/sub", "missing.txt"], repo_type="dataset", expand=True
    )
    assert [i.path for i in infos] == ["many/f007.txt", "many/sub"]  # missing paths are skipped
    assert infos[0].size == len(b"file 7\n") and infos[0].blob_id == git_blob_oid(b"file 7\n")
    assert infos[0].last_commit.oid == commit.oid and infos[1].last_commit.oid == commit.oid


def test_commit_history_pagination_and_short_shas(tmp_path: Path):
    with HubServer(tmp_path / "store", page_size=3, tokens={"hf_small"}) as server:
        api = HfApi(endpoint=server.url, token="hf_small")
        api.create_repo("org/history", repo_type="dataset")
        oids = []
        for i in range(5):
            op = CommitOperationAdd("log.txt", f"{i}\n".encode())
            oids.append(
                api.create_commit(
                    "org/history", repo_type="dataset", operations=[op], commit_message=f"c{i}"
                ).oid
            )
        server.stats.reset()
        history = api.list_repo_commits("org/history", repo_type="dataset")
        assert server.stats.count("GET", "/commits/") == 2
        assert [c.commit_id for c in history[:5]] == oids[::-1]
        # a short sha is a valid revision, also as parent_commit
        assert api.dataset_info("org/history", revision=oids[2][:8]).sha == oids[2]
        api.create_commit(
            "org/history",
            repo_type="dataset",
            operations=[CommitOperationAdd("log.txt", b"x\n")],
            commit_message="short parent",
            parent_commit=oids[-1][:7],
        )


# --------------------------------------------------------------------------- conflicts & PRs


def test_stale_parent_commit_is_refused(hub: HubServer, hub_api: HfApi, hub_repo: str):
    hub_api.create_repo(hub_repo, repo_type="dataset")
    initial = head_sha(hub_api, hub_repo)
    current = hub_api.create_commit(
        hub_repo,
        repo_type="dataset",
        operations=[CommitOperationAdd("a.txt", b"a\n")],
        commit_message="a",
    ).oid
    with pytest.raises(HfHubHTTPError) as exc:
        hub_api.create_commit(
            hub_repo,
            repo_type="dataset",
            operations=[CommitOperationAdd("b.txt", b"b\n")],
            commit_message="b",
            parent_commit=initial,
        )
    assert exc.value.response.status_code == 412
    assert "parentCommit" in str(exc.value)
    assert head_sha(hub_api, hub_repo) == current
    assert len(hub_api.list_repo_commits(hub_repo, repo_type="dataset")) == 2
    assert "b.txt" not in hub_api.list_repo_files(hub_repo, repo_type="dataset")


def test_create_pr_makes_a_pr_ref(hub_api: HfApi, hub_repo: str):
    hub_api.create_repo(hub_repo, repo_type="dataset")
    main_head = head_sha(hub_api, hub_repo)
    pr = hub_api.create_commit(
        hub_repo,
        repo_type="dataset",
        operations=[CommitOperationAdd("proposal.txt", b"please merge\n")],
        commit_message="Proposal",
        create_pr=True,
    )
    assert (pr.pr_num, pr.pr_revision) == (1, "refs/pr/1")
    assert pr.pr_url.endswith(f"/datasets/{hub_repo}/discussions/1")
    refs = hub_api.list_repo_refs(hub_repo, repo_type="dataset", include_pull_requests=True)
    assert [(p.ref, p.target_commit) for p in refs.pull_requests] == [("refs/pr/1", pr.oid)]
    assert head_sha(hub_api, hub_repo) == main_head  # main untouched
    assert "proposal.txt" not in hub_api.list_repo_files(hub_repo, repo_type="dataset")
    path = hf_hub_download(hub_repo, "proposal.txt", repo_type="dataset", revision="refs/pr/1")
    assert Path(path).read_bytes() == b"please merge\n"

    # commit on top of the PR, then a second PR
    on_pr = hub_api.create_commit(
        hub_repo,
        repo_type="dataset",
        operations=[CommitOperationAdd("proposal.txt", b"v2\n")],
        commit_message="Update proposal",
        revision="refs/pr/1",
    )
    second = hub_api.create_commit(
        hub_repo,
        repo_type="dataset",
        operations=[CommitOperationAdd("other.txt", b"o\n")],
        commit_message="Other",
        create_pr=True,
    )
    assert second.pr_revision == "refs/pr/2"
    assert head_sha(hub_api, hub_repo, "refs/pr/1") == on_pr.oid


def test_branches_and_tags(hub_api: HfApi, hub_repo: str):
    v1, _ = publish_v1(hub_api, hub_repo)
    with pytest.raises(HfHubHTTPError) as exc:
        hub_api.create_tag(hub_repo, tag="v1.0.0", revision="main", repo_type="dataset")
    assert exc.value.response.status_code == 409
    hub_api.create_tag(hub_repo, tag="v1.0.0", repo_type="dataset", exist_ok=True)

    hub_api.create_branch(hub_repo, branch="staging", revision="v1.0.0", repo_type="dataset")
    with pytest.raises(HfHubHTTPError) as exc:
        hub_api.create_branch(hub_repo, branch="staging", repo_type="dataset")
    assert exc.value.response.status_code == 409
    assert head_sha(hub_api, hub_repo, "staging") == v1

    hub_api.delete_tag(hub_repo, tag="v1.0.0", repo_type="dataset")
    with pytest.raises(RevisionNotFoundError):
        hub_api.dataset_info(hub_repo, revision="v1.0.0")
    with pytest.raises(RevisionNotFoundError):
        hub_api.delete_tag(hub_repo, tag="v1.0.0", repo_type="dataset")
    hub_api.delete_branch(hub_repo, branch="staging", repo_type="dataset")
    assert [b.name for b in hub_api.list_repo_refs(hub_repo, repo_type="dataset").branches] == [
        "main"
    ]


# --------------------------------------------------------------------------- errors & auth


def test_missing_repo_revision_and_file(hub_api: HfApi, hub_repo: str, tmp_path: Path):
    with pytest.raises(RepositoryNotFoundError):
        hub_api.dataset_info(hub_repo)
    hub_api.create_repo(hub_repo, repo_type="dataset")
    with pytest.raises(RevisionNotFoundError):
        hub_api.dataset_info(hub_repo, revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        hub_api.list_repo_tree(hub_repo, repo_type="dataset", revision="nope").__next__()
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(hub_repo, "nope.txt", repo_type="dataset", cache_dir=tmp_path)
    with pytest.raises(EntryNotFoundError):
        hub_api.create_commit(
            hub_repo,
            repo_type="dataset",
            operations=[CommitOperationDelete("nope.txt")],
            commit_message="delete what is not there",
        )


def test_commit_of_never_uploaded_lfs_object_is_rejected(
    hub: HubServer, hub_token: str, hub_repo: str
):
    HfApi(endpoint=hub.url, token=hub_token).create_repo(hub_repo, repo_type="dataset")
    lines = [
        {"key": "header", "value": {"summary": "ghost", "description": ""}},
        {
            "key": "lfsFile",
            "value": {"path": "ghost.parquet", "algo": "sha256", "oid": "ab" * 32, "size": 3},
        },
    ]
    status, headers, body = http(
        "POST",
        f"{hub.url}/api/datasets/{hub_repo}/commit/main",
        headers={"Authorization": f"Bearer {hub_token}", "Content-Type": "application/x-ndjson"},
        data=b"".join(json.dumps(line).encode() + b"\n" for line in lines),
    )
    assert status == 400 and "never uploaded" in json.loads(body)["error"]
    assert len(HfApi(endpoint=hub.url).list_repo_commits(hub_repo, repo_type="dataset")) == 1


def test_auth_failures_write_nothing(hub: HubServer, hub_api: HfApi, hub_repo: str):
    anonymous = HfApi(endpoint=hub.url, token=False)
    impostor = HfApi(endpoint=hub.url, token="hf_not_a_valid_token")
    for api in (anonymous, impostor):
        with pytest.raises(HfHubHTTPError) as exc:
            api.create_repo(hub_repo, repo_type="dataset")
        assert exc.value.response.status_code == 401
        assert "Invalid credentials in Authorization header" in str(exc.value)
    with pytest.raises(RepositoryNotFoundError):
        hub_api.dataset_info(hub_repo)

    hub_api.create_repo(hub_repo, repo_type="dataset")
    head = head_sha(hub_api, hub_repo)
    hub.stats.reset()
    for api in (anonymous, impostor):
        with pytest.raises(HfHubHTTPError) as exc:
            api.create_commit(
                hub_repo,
                repo_type="dataset",
                operations=[CommitOperationAdd("x.parquet", parquet_bytes(rows_for(hub_repo)))],
                commit_message="should fail",
            )
        assert exc.value.response.status_code == 401
        with pytest.raises(HfHubHTTPError) as exc:
            api.create_tag(hub_repo, tag="evil", repo_type="dataset")
        assert exc.value.response.status_code == 401
    assert hub.stats.lfs_bytes_received == 0
    assert head_sha(hub_api, hub_repo) == head
    assert hub_api.list_repo_refs(hub_repo, repo_type="dataset").tags == []


def test_private_repo_needs_a_token(hub: HubServer, hub_api: HfApi, hub_repo: str, tmp_path: Path):
    hub_api.create_repo(hub_repo, repo_type="dataset", private=True)
    hub_api.upload_file(
        path_or_fileobj=b"secret\n", path_in_repo="s.txt", repo_id=hub_repo, repo_type="dataset"
    )
    assert hub_api.dataset_info(hub_repo).private is True
    anonymous = HfApi(endpoint=hub.url, token=False)
    with pytest.raises(RepositoryNotFoundError):
        anonymous.dataset_info(hub_repo)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(hub_repo, "s.txt", repo_type="dataset", token=False, cache_dir=tmp_path)
    path = hf_hub_download(
        hub_repo, "s.txt", repo_type="dataset", token=hub_api.token, cache_dir=tmp_path
    )
    assert Path(path).read_bytes() == b"secret\n"


def test_lfs_upload_href_is_signed(hub: HubServer, hub_token: str, hub_repo: str):
    HfApi(endpoint=hub.url, token=hub_token).create_repo(hub_repo, repo_type="dataset")
    data = b"\x00binary payload " + hub_repo.encode()
    auth = {"Authorization": f"Bearer {hub_token}", "Content-Type": "application/vnd.git-lfs+json"}
    batch = {"operation": "upload", "objects": [{"oid": sha256(data), "size": len(data)}]}
    status, _, body = http(
        "POST",
        f"{hub.url}/datasets/{hub_repo}.git/info/lfs/objects/batch",
        headers=auth,
        data=json.dumps(batch).encode(),
    )
    assert status == 200
    href = json.loads(body)["objects"][0]["actions"]["upload"]["href"]
    tampered = href.replace("sig=", "sig=00")
    assert http("PUT", tampered, data=data)[0] == 403
    assert http("PUT", href, data=b"not the announced content")[0] == 400
    assert hub.list_partial_uploads() == [] and sha256(data) not in hub.list_lfs_blobs()
    assert http("PUT", href, data=data)[0] == 200  # no Authorization header needed
    assert sha256(data) in hub.list_lfs_blobs()


def test_chunked_upload_body_is_accepted(hub: HubServer, hub_token: str, hub_repo: str):
    from http.client import HTTPConnection
    from urllib.parse import urlsplit

    HfApi(endpoint=hub.url, token=hub_token).create_repo(hub_repo, repo_type="dataset")
    data = os.urandom(100_000)
    batch = {"operation": "upload", "objects": [{"oid": sha256(data), "size": len(data)}]}
    _, _, body = http(
        "POST",
        f"{hub.url}/datasets/{hub_repo}.git/info/lfs/objects/batch",
        headers={"Authorization": f"Bearer {hub_token}"},
        data=json.dumps(batch).encode(),
    )
    href = urlsplit(json.loads(body)["objects"][0]["actions"]["upload"]["href"])
    conn = HTTPConnection(href.hostname, href.port, timeout=10)
    chunks = (data[i : i + 30_000] for i in range(0, len(data), 30_000))
    conn.request("PUT", f"{href.path}?{href.query}", body=chunks, encode_chunked=True)
    assert conn.getresponse().status == 200
    assert hub.lfs_blob_path(sha256(data)).read_bytes() == data


def test_resolve_headers_and_ranges(hub: HubServer, hub_api: HfApi, hub_repo: str):
    v1, data = publish_v1(hub_api, hub_repo)
    url = f"{hub.url}/datasets/{hub_repo}/resolve/v1.0.0/data/train-00000.parquet"
    status, headers, body = http("HEAD", url)
    assert status == 200 and body == b""
    assert headers["X-Repo-Commit"] == v1
    assert headers["ETag"] == headers["X-Linked-Etag"] == f'"{sha256(data)}"'
    assert int(headers["Content-Length"]) == int(headers["X-Linked-Size"]) == len(data)

    status, headers, body = http("GET", url, headers={"Range": "bytes=4-11"})
    assert status == 206 and body == data[4:12]
    assert headers["Content-Range"] == f"bytes 4-11/{len(data)}"
    status, _, body = http("GET", url, headers={"Range": "bytes=-4"})
    assert status == 206 and body == data[-4:] == b"PAR1"
    assert http("GET", url, headers={"Range": f"bytes={len(data)}-"})[0] == 416

    status, headers, body = http("GET", f"{hub.url}/datasets/{hub_repo}/resolve/main/README.md")
    assert status == 200 and body == README.encode()
    assert (
        headers["ETag"] == f'"{git_blob_oid(README.encode())}"' and "X-Linked-Etag" not in headers
    )

    status, headers, _ = http("HEAD", f"{hub.url}/datasets/{hub_repo}/resolve/main/nope")
    assert (status, headers["X-Error-Code"], headers["X-Repo-Commit"]) == (404, "EntryNotFound", v1)
    status, headers, _ = http("HEAD", f"{hub.url}/datasets/{hub_repo}/resolve/nope/README.md")
    assert (status, headers["X-Error-Code"]) == (404, "RevisionNotFound")
    status, headers, _ = http("HEAD", f"{hub.url}/datasets/test-org/missing/resolve/main/README.md")
    assert (status, headers["X-Error-Code"]) == (404, "RepoNotFound")


# --------------------------------------------------------------------------- faults


def test_fail_requests_counts_from_now(hub: HubServer):
    url = f"{hub.url}/api/datasets/test-org/does-not-exist"
    hub.faults.fail_requests(2, 503, count=2)
    assert [http("GET", url)[0] for _ in range(4)] == [404, 503, 503, 404]
    assert not hub.faults.pending


def test_injected_500_on_commit_surfaces(hub: HubServer, hub_api: HfApi, hub_repo: str):
    # huggingface_hub does NOT retry the commit POST (a retry could duplicate the commit)
    hub_api.create_repo(hub_repo, repo_type="dataset")
    head = head_sha(hub_api, hub_repo)
    hub.faults.fail_matching(r"/commit/main$", 500, count=1)
    with pytest.raises(HfHubHTTPError) as exc:
        hub_api.create_commit(
            hub_repo,
            repo_type="dataset",
            operations=[CommitOperationAdd("a.txt", b"a\n")],
            commit_message="a",
        )
    assert exc.value.response.status_code == 500
    assert hub.stats.count("POST", "/commit/") == 1
    assert head_sha(hub_api, hub_repo) == head
    hub_api.create_commit(
        hub_repo,
        repo_type="dataset",
        operations=[CommitOperationAdd("a.txt", b"a\n")],
        commit_message="a",
    )
    assert head_sha(hub_api, hub_repo) != head


def test_429_on_preupload_is_retried(hub: HubServer, hub_api: HfApi, hub_repo: str):
    hub_api.create_repo(hub_repo, repo_type="dataset")
    hub.faults.fail_matching(r"/preupload/", 429, count=1)
    hub_api.create_commit(
        hub_repo,
        repo_type="dataset",
        operations=[CommitOperationAdd("a.txt", b"a\n")],
        commit_message="a",
    )
    statuses = [s for m, p, s in hub.stats.responses if "/preupload/" in p]
    assert statuses == [429, 200]  # retried by http_backoff after ~1 s
    assert "a.txt" in hub_api.list_repo_files(hub_repo, repo_type="dataset")


def test_dropped_upload_is_retried_by_the_client(hub: HubServer, hub_api: HfApi, hub_repo: str):
    hub_api.create_repo(hub_repo, repo_type="dataset")
    data = os.urandom(300_000)
    hub.faults.drop_upload_after(64 * 1024)
    hub_api.create_commit(
        hub_repo,
        repo_type="dataset",
        operations=[CommitOperationAdd("blob.bin", data)],
        commit_message="m",
    )
    puts = [s for m, p, s in hub.stats.responses if m == "PUT"]
    assert puts == [0, 200]  # 0 = connection reset by the server, then the client's retry
    assert hub.stats.lfs_bytes_received == 64 * 1024 + len(data)
    assert hub.list_lfs_blobs().count(sha256(data)) == 1 and hub.list_partial_uploads() == []


def test_upload_dropped_every_time_fails_then_rerun_works(
    hub: HubServer, hub_api: HfApi, hub_repo: str, monkeypatch: pytest.MonkeyPatch
):
    import huggingface_hub.utils._http as hf_http

    # 6 drops exhaust huggingface_hub's 5 retries; skip its 1+2+4+8+8 s back-off sleeps
    monkeypatch.setattr(hf_http, "time", types.SimpleNamespace(sleep=lambda seconds: None))
    hub_api.create_repo(hub_repo, repo_type="dataset")
    head = head_sha(hub_api, hub_repo)
    data = os.urandom(200_000)
    hub.faults.drop_upload_after(10_000, count=6)
    with pytest.raises(RuntimeError, match="Error while uploading 'blob.bin'"):
        hub_api.create_commit(
            hub_repo,
            repo_type="dataset",
            operations=[CommitOperationAdd("blob.bin", data)],
            commit_message="m",
        )
    assert not hub.faults.pending
    assert head_sha(hub_api, hub_repo) == head
    assert sha256(data) not in hub.list_lfs_blobs() and hub.list_partial_uploads() == []

    hub_api.create_commit(  # the same commit again, with fresh operations
        hub_repo,
        repo_type="dataset",
        operations=[CommitOperationAdd("blob.bin", data)],
        commit_message="m",
    )
    assert hub.list_lfs_blobs().count(sha256(data)) == 1
    (info,) = hub_api.get_paths_info(hub_repo, ["blob.bin"], repo_type="dataset")
    assert info.lfs.sha256 == sha256(data)


def test_gitignore_makes_the_client_skip_files(hub: HubServer, hub_api: HfApi, hub_repo: str):
    hub_api.create_repo(hub_repo, repo_type="dataset")
    hub_api.upload_file(
        path_or_fileobj=b"*.png\ndata/zh/\n/top.txt\n",
        path_in_repo=".gitignore",
        repo_id=hub_repo,
        repo_type="dataset",
    )
    names = ["chart.png", "img/a.png", "data/zh/x.txt", "data/zhx/y.txt", "top.txt", "a/top.txt"]
    hub_api.create_commit(
        hub_repo,
        repo_type="dataset",
        operations=[CommitOperationAdd(n, n.encode()) for n in names],
        commit_message="m",
    )
    files = set(hub_api.list_repo_files(hub_repo, repo_type="dataset"))
    assert files & set(names) == {"data/zhx/y.txt", "a/top.txt"}  # the rest: shouldIgnore


def test_retry_after_header_and_request_times(hub: HubServer, hub_api: HfApi, hub_repo: str):
    hub_api.create_repo(hub_repo, repo_type="dataset")
    hub.faults.fail_matching(r"/refs$", 429, headers={"Retry-After": "7"})
    url = f"{hub.url}/api/datasets/{hub_repo}/refs"
    status, headers, _ = http("GET", url)
    assert (status, headers["Retry-After"]) == (429, "7")
    assert http("GET", url)[0] == 200
    first, second = hub.stats.arrivals("GET", r"/refs$")
    assert 0 <= second - first < 5


def test_dropped_answer_after_the_change_and_a_callback(
    hub: HubServer, hub_api: HfApi, hub_repo: str
):
    from tests.hubserver import DROP

    hub_api.create_repo(hub_repo, repo_type="dataset")
    meanwhile = []
    hub.faults.fail_matching(
        r"/commit/", DROP, after=True, then=lambda: meanwhile.append(head_sha(hub_api, hub_repo))
    )
    with pytest.raises(Exception, match="(?i)disconnect|reset|closed"):
        hub_api.create_commit(
            hub_repo,
            repo_type="dataset",
            operations=[CommitOperationAdd("a.txt", b"a\n")],
            commit_message="lost",
        )
    assert meanwhile == [head_sha(hub_api, hub_repo)]  # the commit had landed before the drop
    assert hub.stats.count("POST", r"/commit/") == 1  # huggingface_hub did not resend it


def test_stalled_requests_end_when_released_or_stopped(tmp_path: Path):
    import threading

    import httpx2

    with HubServer(tmp_path / "store") as server:
        server.faults.stall(r"/api/whoami", count=2)
        url = f"{server.url}/api/whoami-v2"
        with pytest.raises(httpx2.ReadTimeout):
            httpx2.get(url, timeout=0.3)
        server.faults.release_stalled()
        errors = []
        waiting = threading.Thread(target=lambda: errors.append(_request_error(url)))
        waiting.start()
        time.sleep(0.3)
    waiting.join(timeout=5)  # stop() released the second stall: the client is not left hanging
    assert not waiting.is_alive() and errors[0] is not None


def _request_error(url: str) -> Exception | None:
    import httpx2

    try:
        httpx2.get(url, timeout=30)
    except httpx2.HTTPError as exc:
        return exc
    return None


# --------------------------------------------------------------------------- persistence & logs


def test_state_survives_a_restart(tmp_path: Path):
    storage = tmp_path / "store"
    with HubServer(storage, tokens={"hf_persist"}) as first:
        api = HfApi(endpoint=first.url, token="hf_persist")
        v1, data = publish_v1(api, "org/persist")
        api.create_branch("org/persist", branch="dev", repo_type="dataset")
        pr = api.create_commit(
            "org/persist",
            repo_type="dataset",
            operations=[CommitOperationAdd("pr.txt", b"pr\n")],
            commit_message="pr",
            create_pr=True,
        )
        refs_before = api.list_repo_refs(
            "org/persist", repo_type="dataset", include_pull_requests=True
        )

    with HubServer(storage, tokens={"hf_persist"}) as second:
        api = HfApi(endpoint=second.url, token="hf_persist")
        refs_after = api.list_repo_refs(
            "org/persist", repo_type="dataset", include_pull_requests=True
        )
        assert refs_after == refs_before
        assert refs_after.pull_requests[0].target_commit == pr.oid
        path = hf_hub_download(
            "org/persist",
            "data/train-00000.parquet",
            repo_type="dataset",
            revision="v1.0.0",
            endpoint=second.url,
            cache_dir=tmp_path / "cache",
        )
        assert Path(path).read_bytes() == data
        next_commit = api.create_commit(
            "org/persist",
            repo_type="dataset",
            operations=[CommitOperationAdd("more.txt", b"more\n")],
            commit_message="after restart",
            parent_commit=v1,
        )
        assert api.list_repo_commits("org/persist", repo_type="dataset")[1].commit_id == v1
        assert next_commit.pr_url is None
        with pytest.raises(HfHubHTTPError) as exc:
            api.create_repo("org/persist", repo_type="dataset")
        assert exc.value.response.status_code == 409


def test_logs_are_compact_and_secret_free(
    hub: HubServer, hub_api: HfApi, hub_repo: str, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.DEBUG, logger="hubserver"):
        publish_v1(hub_api, hub_repo)
    text = caplog.text
    assert f"POST /api/datasets/{hub_repo}/commit/main 200" in text
    assert "PUT /_lfs/datasets/" in text
    assert hub_api.token not in text and "sig=" not in text and "Bearer" not in text
