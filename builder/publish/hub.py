"""The Hub as Broadsheet sees it: retried calls, one-line errors, and the state of a repository.

Every call goes through `Hub.call`, which retries 429 and 5xx answers and dropped connections
with exponential backoff, then turns what is left into a `PublishError` that never shows the token.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from httpx2 import ConnectError
from huggingface_hub import HfApi, constants, get_token
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    HTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile

from builder.config import REPO_ID_PATTERN
from builder.errors import BroadsheetError
from builder.publish.http import RETRY_STATUS, Guard, HubGaveUp, Ledger, RetryPolicy, retry_after
from builder.publish.versions import Version

__all__ = ["RETRY_STATUS", "Hub", "PublishError", "RemoteFile", "RemoteState", "RetryPolicy"]

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)
REPO_TYPE = "dataset"


class PublishError(BroadsheetError):
    exit_code = 5

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status  # the Hub's HTTP status, when the failure was an answer from it


@dataclass
class RemoteFile:
    path: str
    size: int
    git_oid: str
    sha256: str | None  # set for LFS files


@dataclass
class RemoteState:
    """What the repository holds now: its main branch, its tags and the files at main."""

    exists: bool
    head: str | None = None
    tags: dict[str, str] = field(default_factory=dict)  # tag -> commit
    tree: dict[str, RemoteFile] = field(default_factory=dict)  # files at head

    @property
    def versions(self) -> dict[Version, str]:
        out = {}
        for tag, commit in self.tags.items():
            version = Version.from_tag(tag)
            if version is not None:
                out[version] = commit
        return out


class Hub:
    def __init__(self, repo_id: str, token: str | None = None, retry: RetryPolicy | None = None):
        self.repo_id = repo_id
        self.token = token
        self.endpoint = constants.ENDPOINT
        self.api = HfApi(endpoint=self.endpoint, token=token or False)
        self.retry = retry or RetryPolicy()
        self.guard = Guard()  # this Hub's hooks on huggingface_hub's client, during its calls

    @property
    def ledger(self) -> Ledger:
        """What this Hub's calls sent and spent failing."""
        return self.guard.ledger

    @classmethod
    def connect(cls, repo_id: str, need_write: bool, retry: RetryPolicy | None = None) -> Hub:
        """A Hub client with the token from HF_TOKEN or the cached login (required for writes)."""
        if not re.match(REPO_ID_PATTERN, repo_id):
            raise PublishError(f"{repo_id!r} is not a Hub repository id of the form 'org/name'")
        token = get_token()
        if need_write and not token:
            raise PublishError("no Hugging Face token: set HF_TOKEN or log in with `hf auth login`")
        return cls(repo_id, token, retry)

    def call(
        self,
        what: str,
        fn: Callable[..., T],
        *args,
        passthrough: tuple[type[Exception], ...] = (),
        retry_status: frozenset[int] = RETRY_STATUS,
        **kwargs,
    ) -> T:
        """Run one Hub call with retries; `what` names it in the error ("reading refs").

        Exceptions in `passthrough` reach the caller untouched. `retry_status` narrows which
        answers are retried: a commit is not retried after a 5xx, which may have applied it.
        Waits honour `Retry-After`; all retrying ends when the policy's budget is spent.
        """
        started = time.monotonic()
        with self.guard.calling(self.retry):
            for attempt in range(1, self.retry.attempts + 1):
                try:
                    return fn(*args, **kwargs)
                except passthrough:
                    raise
                except Exception as exc:
                    wait = self._retry_wait(what, exc, attempt, started, retry_status)
                    if wait is None:
                        raise
                time.sleep(wait)
        raise AssertionError("unreachable")

    def _retry_wait(
        self, what: str, exc: Exception, attempt: int, started: float, retry_status: frozenset[int]
    ) -> float | None:
        """Seconds to wait before the next attempt; raises PublishError when there is none.

        None means the exception is not a Hub failure and goes to the caller as it is.
        """
        self.guard.settle()
        gave_up = _cause(exc, HubGaveUp)
        if gave_up is not None:
            raise PublishError(
                f"gave up on the Hub at {self.endpoint} while {what}: {gave_up}; "
                "check the connection or the Hub status and re-run publish"
            ) from exc
        status, response = None, None
        if isinstance(exc, RepositoryNotFoundError):
            raise PublishError(
                f"repository {self.repo_id} not found at {self.endpoint} while {what} "
                "(if it is private, set HF_TOKEN)",
                404,
            ) from exc
        if isinstance(exc, RevisionNotFoundError):
            raise PublishError(f"no such revision in {self.repo_id} while {what}", 404) from exc
        if isinstance(exc, EntryNotFoundError) and not isinstance(exc, LocalEntryNotFoundError):
            raise PublishError(f"no such file in {self.repo_id} while {what}", 404) from exc
        if isinstance(exc, HfHubHTTPError):
            response = exc.response
            status = response.status_code if response is not None else None
            retryable = status in retry_status
        elif isinstance(exc, ConnectError):  # nothing listens there: retrying will not help
            retryable = attempt < 2
        elif isinstance(exc, (LocalEntryNotFoundError, HTTPError)):
            retryable = True  # a download that got no answer; an answer cut short or timed out
        else:
            return None
        if not retryable or attempt >= self.retry.attempts:
            raise self._error(what, exc, status, attempt, started) from exc
        wait = min(self.retry.base_delay * 2 ** (attempt - 1), self.retry.max_delay)
        asked = retry_after(response)
        wait = asked if asked is not None else wait
        left = self.ledger.left()
        if wait > left:
            asked_for = f" asked to wait {asked:g}s (Retry-After), but" if asked is not None else ""
            message = (
                f"the Hub at {self.endpoint} failed ({status or _first_line(exc)}) while {what};{asked_for} "
                f"only {max(left, 0):.0f}s of the {self.retry.budget:g}s retry budget are left: "
                "re-run publish later"
            )
            raise PublishError(
                message.replace(self.token, "***") if self.token else message, status
            ) from exc
        return wait

    def _error(
        self, what: str, exc: Exception, status: int | None, attempts: int, started: float
    ) -> PublishError:
        waited = (
            f" after {attempts} attempts over {time.monotonic() - started:.1f}s"
            if attempts > 1
            else ""
        )
        if status is None:
            message = (
                f"cannot reach the Hub at {self.endpoint} while {what}{waited}: {_first_line(exc)}"
            )
        elif status == 401:
            message = f"the Hub at {self.endpoint} rejected the token (401) while {what}: check HF_TOKEN or `hf auth login`"
        elif status == 403:
            message = f"the token may not write to {self.repo_id} (403) while {what}: use a token with write access"
        elif status == 429:
            message = f"the Hub kept answering 429 Too Many Requests while {what}{waited}; wait and re-run publish"
        else:
            message = f"the Hub answered {status} while {what}{waited}: {_first_line(exc)}"
        if self.token:
            message = message.replace(self.token, "***")
        return PublishError(message, status)

    def state(self) -> RemoteState:
        """Refs and the file tree at main; `exists=False` when the repository is missing."""
        try:
            refs = self.call(
                "reading refs",
                self.api.list_repo_refs,
                self.repo_id,
                repo_type=REPO_TYPE,
                passthrough=(RepositoryNotFoundError,),
            )
        except RepositoryNotFoundError:
            return RemoteState(exists=False)
        head = next((b.target_commit for b in refs.branches if b.name == "main"), None)
        tags = {t.name: t.target_commit for t in refs.tags}
        return RemoteState(True, head, tags, self.tree(head) if head else {})

    def tree(self, revision: str) -> dict[str, RemoteFile]:
        entries = self.call(
            "listing files",
            lambda: list(
                self.api.list_repo_tree(
                    self.repo_id, recursive=True, revision=revision, repo_type=REPO_TYPE
                )
            ),
        )
        return {
            e.path: RemoteFile(e.path, e.size, e.blob_id, e.lfs.sha256 if e.lfs else None)
            for e in entries
            if isinstance(e, RepoFile)
        }

    def commits_since(self, parent: str | None, limit: int = 100) -> list[dict]:
        """Commits of main newer than `parent`, newest first: a walk of at most `limit` commits.

        Each is the Hub's JSON (`id`, `title`, `message`, ...), read page by page only as far
        as needed.
        """
        from huggingface_hub.utils import build_hf_headers, paginate

        def walk() -> list[dict]:
            url = f"{self.endpoint}/api/{REPO_TYPE}s/{self.repo_id}/commits/main"
            found: list[dict] = []
            for item in paginate(url, params={}, headers=build_hf_headers(token=self.token)):
                if item.get("id") == parent or len(found) >= limit:
                    break
                found.append(item)
            return found

        return self.call("reading the commits of main", walk)

    def read_text(self, path: str, revision: str) -> str:
        """A small file's text at a revision; callers check it exists (in a tree) first."""
        from huggingface_hub import hf_hub_download

        local = self.call(
            f"downloading {path} at {revision[:12]}",
            hf_hub_download,
            self.repo_id,
            path,
            repo_type=REPO_TYPE,
            revision=revision,
            token=self.token or False,
            endpoint=self.endpoint,
        )
        with open(local, encoding="utf-8") as f:
            return f.read()

    def read_json(self, path: str, revision: str) -> dict | list:
        text = self.read_text(path, revision)
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise PublishError(
                f"{self.repo_id}@{revision[:12]}: {path} is not valid JSON ({exc}); fix or delete it on the Hub"
            ) from exc

    def exists(self, path: str, revision: str) -> bool:
        """Whether a file exists at a revision (one small request, no download)."""
        found = self.call(
            f"looking for {path} at {revision[:12]}",
            self.api.get_paths_info,
            self.repo_id,
            [path],
            revision=revision,
            repo_type=REPO_TYPE,
        )
        return any(getattr(f, "path", None) == path for f in found)

    def filesystem(self):
        from huggingface_hub import HfFileSystem

        return HfFileSystem(
            endpoint=self.endpoint, token=self.token or False, skip_instance_cache=True
        )

    def remote_path(self, path: str, revision: str) -> str:
        return f"datasets/{self.repo_id}@{revision}/{path}"


def _cause(exc: BaseException, kind: type[E]) -> E | None:
    """`exc` or the first exception of its cause/context chain that is a `kind` (bounded walk)."""
    seen: BaseException | None = exc
    for _ in range(20):
        if seen is None or isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
