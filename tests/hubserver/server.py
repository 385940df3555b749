"""A local, Hugging Face Hub-compatible HTTP server for tests (standard library only).

It implements the subset of the Hub HTTP API that ``huggingface_hub`` (2.x, legacy LFS
upload path, i.e. ``HF_HUB_DISABLE_XET=1``) and ``datasets`` use to publish and load a
dataset: repo creation, preupload, the git-LFS batch/upload/verify protocol, NDJSON
commits (optionally as pull requests), branches, tags, refs, tree listings, paths-info,
commit history, repo info and ``resolve`` downloads (with ``Range``).

Storage is real and on disk, in the folder given by the caller::

    STORAGE/
      secret.key                      HMAC key for signed LFS upload hrefs
      lfs/ab/cd/<sha256>              LFS objects, content addressed (sha256)
      git/ab/<sha1>                   regular file contents, keyed by git blob sha1
      tmp/                            partial LFS uploads (removed on failure)
      repos/<type>s/<ns>/<name>/
        repo.json                     id, type, private, createdAt
        refs.json                     branches, tags, pull requests (refs/pr/N)
        commits/<oid>.json            parents, message, date, full file map

Everything is re-read from disk, so a new ``HubServer`` on the same folder sees the same
repos, refs and commits (the in-memory caches only hold immutable commits).

See ``tests/hubserver/README.md`` for usage and for the fault-injection switches.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import socket
import struct
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

logger = logging.getLogger("hubserver")

DEFAULT_TOKEN = "hf_broadsheet_local_test_token"
DEFAULT_USER = "test-user"
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"

# URL segment -> repo type, as used in `/api/{segment}/...`
API_REPO_TYPES = {"datasets": "dataset", "models": "model", "spaces": "space"}
# repo type -> prefix of the web / git / resolve URLs (models have none)
URL_PREFIXES = {"dataset": "datasets/", "model": "", "space": "spaces/"}

LFS_CONTENT_TYPE = "application/vnd.git-lfs+json"
_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_HEX_RE = re.compile(r"^[0-9a-f]{4,40}$")
_PR_RE = re.compile(r"^refs/pr/(\d+)$")
_SECRET_QUERY_RE = re.compile(r"(sig|token)=[^&\s\"']+")
_CHUNK = 1024 * 1024

# Close to the `.gitattributes` the Hub writes in the initial commit of a new repo.
_LFS_PATTERNS = (
    "*.7z *.arrow *.avro *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.lz4 *.mds "
    "*.mlmodel *.model *.msgpack *.npy *.npz *.onnx *.ot *.parquet *.pb *.pickle *.pkl *.pt "
    "*.pth *.rar *.safetensors saved_model/**/* *.tar.* *.tar *.tflite *.tgz *.wasm *.xz "
    "*.zip *.zst *tfevents* *.db *.sqlite "
    "*.pcm *.sam *.raw *.aac *.flac *.mp3 *.ogg *.wav "
    "*.bmp *.gif *.png *.tiff *.jpg *.jpeg *.webp *.mp4 *.webm"
)
DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in _LFS_PATTERNS.split(" ")
)


# --------------------------------------------------------------------------- helpers


def _now_iso() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _git_object_hash(kind: str, data: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()


def git_blob_oid(data: bytes) -> str:
    """The git blob sha1 of ``data`` (what the Hub reports as ``oid`` for regular files)."""
    return _git_object_hash("blob", data)


def lfs_pointer(sha256: str, size: int) -> bytes:
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()
    )


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "yes", "on")


def _write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    for cut in range(4):  # the 512-byte sample may end inside a multi-byte character
        try:
            sample[: len(sample) - cut].decode("utf-8")
            return False
        except UnicodeDecodeError:
            continue
    return True


def _validate_repo_path(path: Any) -> str:
    if not isinstance(path, str) or not path:
        raise HubError(400, f"Invalid path in repository: {path!r}")
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts) or parts[0] == ".git":
        raise HubError(400, f"Invalid path in repository: {path!r}")
    return path


class HubError(Exception):
    """An error answered to the client as ``{"error": message}`` with an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def _repo_not_found() -> HubError:
    return HubError(404, "Repository not found", code="RepoNotFound")


def _revision_not_found(rev: str) -> HubError:
    return HubError(404, f"Invalid rev id: {rev}", code="RevisionNotFound")


def _entry_not_found(path: str) -> HubError:
    return HubError(404, f"Entry not found: {path}", code="EntryNotFound")


class _ConnectionAborted(Exception):
    """The connection was (deliberately or not) torn down: send nothing more."""


# --------------------------------------------------------------------------- faults & stats


DROP = 0  # as a fault's status: reset the connection instead of answering


@dataclass
class _Action:
    """What a fault does to one request."""

    status: int | None = None  # answer this instead (DROP: reset the connection, no answer)
    after: bool = False  # carry the request out first (a change whose answer was lost)
    then: Callable[[], Any] | None = None  # run after carrying it out, before the answer
    headers: dict[str, str] = field(default_factory=dict)  # sent with the `status` answer
    stall: threading.Event | None = None  # read the request, answer nothing until this is set


@dataclass
class _MatchRule:
    pattern: re.Pattern[str]
    remaining: int
    method: str | None
    action: _Action


class Faults:
    """Switches to make the server misbehave. All are one-shot (or ``count``-shot)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen = 0  # requests seen so far
        self._windows: list[tuple[int, int, int]] = []  # (first, last, status), 1-based
        self._rules: list[_MatchRule] = []
        self._drops: list[int] = []
        self._release = threading.Event()  # set to end every stall armed before it

    def fail_requests(self, n_th: int, status: int, count: int = 1) -> None:
        """The ``n_th`` request from now (1 = the very next one) and the ``count - 1``
        following ones are answered with ``status`` (e.g. 500, 503, 429)."""
        if n_th < 1 or count < 1:
            raise ValueError("n_th and count must be >= 1")
        with self._lock:
            first = self._seen + n_th
            self._windows.append((first, first + count - 1, status))

    def fail_matching(
        self,
        path_regex: str,
        status: int,
        count: int = 1,
        *,
        method: str | None = None,
        after: bool = False,
        then: Callable[[], Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next ``count`` requests whose path (no query) matches ``path_regex``
        (``re.search``), optionally only for ``method``, are answered with ``status``
        (``DROP``: the connection is reset without an answer) and ``headers``
        (e.g. ``{"Retry-After": "2"}`` with 429).
        With ``after=True`` the request is carried out first and only its answer is replaced,
        as when a server applies a commit and then fails to say so; ``then`` runs after it
        is carried out and before the answer (e.g. another client commits meanwhile)."""
        action = _Action(status, after, then, dict(headers or {}))
        self._add_rule(path_regex, count, method, action)

    def stall(self, path_regex: str, count: int = 1, *, method: str | None = None) -> None:
        """The next ``count`` matching requests are read and never answered, until
        ``release_stalled()``, ``clear()`` or the server stops (then the connection is reset)."""
        with self._lock:
            release = self._release
        self._add_rule(path_regex, count, method, _Action(stall=release))

    def release_stalled(self) -> None:
        """End every stall armed so far (their connections are reset); later ones stall anew."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()

    def _add_rule(self, path_regex: str, count: int, method: str | None, action: _Action) -> None:
        with self._lock:
            self._rules.append(
                _MatchRule(
                    re.compile(path_regex), count, method.upper() if method else None, action
                )
            )

    def drop_upload_after(self, nbytes: int, count: int = 1) -> None:
        """The next ``count`` LFS upload PUTs: read ``nbytes`` of the body, then reset the
        connection (no response). The partial upload is discarded."""
        with self._lock:
            self._drops.extend([nbytes] * count)

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()
            self._rules.clear()
            self._drops.clear()
        self.release_stalled()

    reset = clear

    @property
    def pending(self) -> bool:
        """True while some armed fault has not fired yet."""
        with self._lock:
            return bool(
                self._drops
                or any(r.remaining > 0 for r in self._rules)
                or any(last > self._seen for _, last, _ in self._windows)
            )

    # -- used by the server
    def _on_request(self, method: str, path: str) -> _Action | None:
        """What to do to this request instead of answering it normally, if anything."""
        with self._lock:
            self._seen += 1
            n = self._seen
            action = None
            for first, last, st in self._windows:
                if first <= n <= last:
                    action = _Action(st)
                    break
            self._windows = [w for w in self._windows if w[1] > n]
            if action is not None:
                return action
            for rule in self._rules:
                if rule.remaining <= 0:
                    continue
                if rule.method and rule.method != method:
                    continue
                if rule.pattern.search(path):
                    rule.remaining -= 1
                    action = rule.action
                    break
            self._rules = [r for r in self._rules if r.remaining > 0]
            return action

    def _take_drop(self) -> int | None:
        with self._lock:
            return self._drops.pop(0) if self._drops else None


class Stats:
    """Traffic counters. ``requests`` is a list of ``(method, path)`` (path without query),
    ``responses`` a list of ``(method, path, status)`` where status 0 means the connection
    was torn down without an answer (``drop_upload_after``, client gone)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.bytes_received = 0
            self.lfs_bytes_received = 0
            self.lfs_uploads = 0  # LFS PUTs that stored a new object
            self.requests: list[tuple[str, str]] = []
            self.responses: list[tuple[str, str, int]] = []
            self.times: list[float] = []  # time.monotonic() of each of `requests`

    def count(self, method: str | None = None, path_regex: str | None = None) -> int:
        """Number of requests recorded with this method and/or path (``re.search``)."""
        with self._lock:
            return sum(
                1
                for m, p in self.requests
                if (method is None or m == method)
                and (path_regex is None or re.search(path_regex, p))
            )

    def arrivals(self, method: str | None = None, path_regex: str | None = None) -> list[float]:
        """``time.monotonic()`` of the requests recorded with this method and/or path."""
        with self._lock:
            return [
                t
                for (m, p), t in zip(self.requests, self.times, strict=True)
                if (method is None or m == method)
                and (path_regex is None or re.search(path_regex, p))
            ]

    def _add_request(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))
            self.times.append(time.monotonic())

    def _add_response(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.responses.append((method, path, status))

    def _add_bytes(self, n: int, lfs: bool) -> None:
        with self._lock:
            self.bytes_received += n
            if lfs:
                self.lfs_bytes_received += n

    def _add_lfs_upload(self) -> None:
        with self._lock:
            self.lfs_uploads += 1


# --------------------------------------------------------------------------- HTTP plumbing


@dataclass
class _Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    file: Path | None = None  # stream [offset, offset + length) of this file instead of body
    offset: int = 0
    length: int = 0


def _json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> _Response:
    body = json.dumps(obj).encode()
    return _Response(
        status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body
    )


class _Request:
    def __init__(self, handler: _Handler, method: str):
        self.handler = handler
        self.method = method
        split = urlsplit(handler.path)
        self.raw_path = split.path
        self.query = parse_qs(split.query, keep_blank_values=True)
        self.headers = handler.headers
        self.segs = [s for s in split.path.split("/")][1:]
        self._body: bytes | None = None
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        # a request without body is "consumed" from the start (keep-alive stays possible)
        self.consumed = not chunked and int(self.headers.get("Content-Length") or 0) == 0

    def q(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def base_url(self) -> str:
        host = self.headers.get("Host")
        if host:
            return f"http://{host}"
        return self.handler.server.hub.url

    def iter_body(self, *, lfs: bool = False, limit: int | None = None):
        """Yield the request body in chunks (Content-Length or chunked), counting bytes.
        With ``limit``, stop after that many bytes (the body is then NOT fully consumed)."""
        rfile = self.handler.rfile
        stats = self.handler.server.hub.stats
        got = 0

        def _read(n: int) -> bytes:
            nonlocal got
            if limit is not None:
                n = min(n, limit - got)
            data = rfile.read(n) if n > 0 else b""
            if n > 0 and not data:
                raise _ConnectionAborted("client closed the connection mid-body")
            got += len(data)
            stats._add_bytes(len(data), lfs)
            return data

        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                line = rfile.readline(65537)
                if not line:
                    raise _ConnectionAborted("client closed the connection mid-body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                remaining = size
                while remaining:
                    if limit is not None and got >= limit:
                        return
                    data = _read(min(remaining, _CHUNK))
                    remaining -= len(data)
                    yield data
                rfile.readline(3)
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining:
                if limit is not None and got >= limit:
                    return
                data = _read(min(remaining, _CHUNK))
                remaining -= len(data)
                yield data
        self.consumed = True

    def body(self) -> bytes:
        if self._body is None:
            self._body = b"".join(self.iter_body())
        return self._body

    def drain(self) -> None:
        if not self.consumed:
            for _ in self.iter_body():
                pass

    def json(self) -> Any:
        raw = self.body()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError as e:
            raise HubError(400, f"Invalid JSON body: {e}") from None

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body().decode("utf-8", "replace"), keep_blank_values=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BroadsheetLocalHub/1.0"
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server: _HTTPServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        hub = self.server.hub
        req = _Request(self, method)
        hub.stats._add_request(method, req.raw_path)
        try:
            try:
                action = hub.faults._on_request(method, req.raw_path)
                if action is not None:
                    self._fault(req, action)
                resp = hub._route(req)
            except HubError as e:
                resp = _json_response({"error": e.message, **e.extra}, e.status)
                if e.code:
                    resp.headers["X-Error-Code"] = e.code
                resp.headers.update(e.headers)
            except _ConnectionAborted:
                raise
            except (ConnectionError, TimeoutError) as e:
                raise _ConnectionAborted(str(e)) from e
            except Exception as e:  # a bug in the server: answer it loudly
                logger.exception("hubserver: unhandled error on %s %s", method, req.raw_path)
                resp = _json_response({"error": f"hubserver internal error: {e!r}"}, 500)
            if not req.consumed:
                # we did not read the whole body: the connection cannot be reused
                self.close_connection = True
                resp.headers["Connection"] = "close"
            self._send(req, resp)
        except _ConnectionAborted as e:
            logger.debug("%s %s aborted (%s)", method, req.raw_path, e)
            hub.stats._add_response(method, req.raw_path, 0)
            self.close_connection = True

    def _fault(self, req: _Request, action: _Action) -> None:
        """Carry out an injected fault: it raises what the client gets instead of the answer."""
        hub = self.server.hub
        if action.stall is not None:
            req.drain()
            action.stall.wait()
            self.abort_connection()
            raise _ConnectionAborted("stall released")
        if action.after:
            hub._route(req)
        if action.then is not None:
            action.then()
        req.drain()
        if action.status == DROP:
            self.abort_connection()
            raise _ConnectionAborted("injected drop")
        raise HubError(
            action.status or 500,
            f"Injected fault: HTTP {action.status}",
            code="InjectedFault",
            headers=action.headers,
        )

    def _send(self, req: _Request, resp: _Response) -> None:
        self._log_path = req.raw_path
        self.server.hub.stats._add_response(req.method, req.raw_path, resp.status)
        length = resp.length if resp.file is not None else len(resp.body)
        self.send_response(resp.status)
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(length))
        if req.method == "HEAD" or resp.status in (204, 304):
            self.end_headers()
            return
        if resp.file is None and len(resp.body) <= 64 * 1024:
            # headers + small body in one write
            self._headers_buffer.append(b"\r\n")
            self._headers_buffer.append(resp.body)
            self.flush_headers()
            return
        self.end_headers()
        if resp.file is not None:
            with open(resp.file, "rb") as f:
                f.seek(resp.offset)
                remaining = resp.length
                while remaining:
                    data = f.read(min(remaining, _CHUNK))
                    if not data:
                        break
                    self.wfile.write(data)
                    remaining -= len(data)
        else:
            self.wfile.write(resp.body)

    def abort_connection(self) -> None:
        """Reset the TCP connection (RST), without answering."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.rfile.close()
        with contextlib.suppress(OSError):
            self.connection.close()

    # -- logging: compact, never the query string (signed hrefs) nor headers (tokens)
    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        logger.debug("%s %s %s", self.command, getattr(self, "_log_path", "?"), code)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("hubserver: %s", _SECRET_QUERY_RE.sub(r"\1=<redacted>", format % args))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    hub: HubServer

    def __init__(self, address: tuple[str, int], hub: HubServer):
        self.hub = hub
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # no Nagle: on keep-alive connections it stalls small responses by ~40 ms
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
            self._conns.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------------------- the Hub


@dataclass(frozen=True)
class _RepoKey:
    type: str  # "dataset" | "model" | "space"
    ns: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.ns}/{self.name}"

    @property
    def url_prefix(self) -> str:
        return URL_PREFIXES[self.type]


class HubServer:
    """Hugging Face Hub-compatible server on 127.0.0.1, storing everything under ``storage``.

    >>> with HubServer(tmp_path, tokens={"hf_x"}) as hub:
    ...     HfApi(endpoint=hub.url, token="hf_x").create_repo("org/ds", repo_type="dataset")

    ``faults`` (:class:`Faults`) makes it misbehave; ``stats`` (:class:`Stats`) counts traffic.
    """

    def __init__(
        self,
        storage: str | os.PathLike[str],
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: set[str] | frozenset[str] | list[str] | None = None,
        *,
        user: str = DEFAULT_USER,
        page_size: int = 50,
        lfs_threshold: int = 10 * 1024 * 1024,
    ):
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("HubServer only binds to the loopback interface (127.0.0.1)")
        self.storage = Path(storage)
        self.host = "127.0.0.1"
        self.port = port
        self.tokens = frozenset(tokens if tokens is not None else {DEFAULT_TOKEN})
        self.user = user
        self.page_size = page_size
        self.lfs_threshold = lfs_threshold
        self.faults = Faults()
        self.stats = Stats()
        self._lock = threading.RLock()  # serialises every change to refs / repos
        self._commit_cache: dict[str, dict[str, Any]] = {}
        self._dir_cache: dict[str, dict[str, str]] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        for sub in ("lfs", "git", "tmp", "repos"):
            (self.storage / sub).mkdir(parents=True, exist_ok=True)
        for leftover in (self.storage / "tmp").iterdir():  # partial uploads of a previous run
            with contextlib.suppress(OSError):
                leftover.unlink()
        secret_file = self.storage / "secret.key"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_hex(32))
        self._secret = bytes.fromhex(secret_file.read_text().strip())

    # -- lifecycle
    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("HubServer is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> HubServer:
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"hubserver:{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.debug("hubserver listening on %s (storage %s)", self.url, self.storage)
        return self

    def stop(self) -> None:
        self.faults.release_stalled()
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.close_all_connections()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Start and block until KeyboardInterrupt (used by ``python -m tests.hubserver``)."""
        self.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    # -- white-box helpers for tests
    def lfs_blob_path(self, sha256: str) -> Path:
        return self.storage / "lfs" / sha256[:2] / sha256[2:4] / sha256

    def list_lfs_blobs(self) -> list[str]:
        """sha256 of every stored LFS object."""
        return sorted(p.name for p in (self.storage / "lfs").glob("*/*/*") if p.is_file())

    def list_partial_uploads(self) -> list[str]:
        return sorted(p.name for p in (self.storage / "tmp").iterdir())

    # ------------------------------------------------------------------ storage
    def _git_blob_path(self, oid: str) -> Path:
        return self.storage / "git" / oid[:2] / oid

    def _repo_dir(self, key: _RepoKey) -> Path:
        return self.storage / "repos" / f"{key.type}s" / key.ns / key.name

    def _load_repo(self, key: _RepoKey) -> dict[str, Any] | None:
        return _read_json(self._repo_dir(key) / "repo.json")

    def _load_refs(self, key: _RepoKey) -> dict[str, Any]:
        refs = _read_json(self._repo_dir(key) / "refs.json")
        if refs is None:
            raise _repo_not_found()
        return refs

    def _save_refs(self, key: _RepoKey, refs: dict[str, Any]) -> None:
        _write_json_atomic(self._repo_dir(key) / "refs.json", refs)

    def _load_commit(self, key: _RepoKey, oid: str) -> dict[str, Any]:
        cache_key = f"{key.type}/{key.id}/{oid}"
        commit = self._commit_cache.get(cache_key)
        if commit is None:
            commit = _read_json(self._repo_dir(key) / "commits" / f"{oid}.json")
            if commit is None:
                raise _revision_not_found(oid)
            self._commit_cache[cache_key] = commit
        return commit

    def _store_git_blob(self, data: bytes) -> str:
        oid = git_blob_oid(data)
        path = self._git_blob_path(oid)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.storage / "tmp" / f"git-{uuid.uuid4().hex}"
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return oid

    def _write_commit(
        self,
        key: _RepoKey,
        parents: list[str],
        files: dict[str, Any],
        title: str,
        message: str,
        author: str,
    ) -> str:
        date = _now_iso()
        tree = self._dir_oids_for(files)[""]
        material = json.dumps(
            {
                "tree": tree,
                "parents": parents,
                "title": title,
                "message": message,
                "date": date,
                "author": author,
                "nonce": uuid.uuid4().hex,
            },
            sort_keys=True,
        )
        oid = hashlib.sha1(material.encode()).hexdigest()
        commit = {
            "id": oid,
            "parents": parents,
            "title": title,
            "message": message,
            "date": date,
            "authors": [author],
            "tree": tree,
            "files": files,
        }
        _write_json_atomic(self._repo_dir(key) / "commits" / f"{oid}.json", commit)
        return oid

    @staticmethod
    def _dir_oids_for(files: dict[str, Any]) -> dict[str, str]:
        """git-like tree oid of every directory ("" is the root)."""
        children: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
        dirs = {""}
        for path, meta in files.items():
            parts = path.split("/")
            for i in range(1, len(parts)):
                dirs.add("/".join(parts[:i]))
            parent, _, name = path.rpartition("/")
            children[parent][name] = ("100644", meta["oid"])
        result: dict[str, str] = {}
        for d in sorted(dirs, key=lambda d: d.count("/") + 1 if d else 0, reverse=True):
            data = "".join(
                f"{mode} {name}\0{oid}" for name, (mode, oid) in sorted(children[d].items())
            )
            oid = _git_object_hash("tree", data.encode())
            result[d] = oid
            if d:
                parent, _, name = d.rpartition("/")
                children[parent][name] = ("40000", oid)
        return result

    def _dir_oids(self, key: _RepoKey, commit: dict[str, Any]) -> dict[str, str]:
        cache_key = f"{key.type}/{key.id}/{commit['id']}"
        if cache_key not in self._dir_cache:
            self._dir_cache[cache_key] = self._dir_oids_for(commit["files"])
        return self._dir_cache[cache_key]

    # ------------------------------------------------------------------ auth & lookup
    def _auth(self, req: _Request) -> str | None:
        """The user of a valid token, None without token; 401 for an invalid token."""
        header = req.headers.get("Authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self.tokens:
            raise HubError(
                401, INVALID_CREDENTIALS, headers={"X-Error-Message": INVALID_CREDENTIALS}
            )
        return self.user

    def _require_write(self, req: _Request) -> str:
        user = self._auth(req)
        if user is None:
            raise HubError(
                401, INVALID_CREDENTIALS, headers={"X-Error-Message": INVALID_CREDENTIALS}
            )
        return user

    def _repo(self, key: _RepoKey, user: str | None) -> dict[str, Any]:
        repo = self._load_repo(key)
        if repo is None or (repo.get("private") and user is None):
            raise _repo_not_found()
        return repo

    def _resolve(self, key: _RepoKey, rev: str) -> str | None:
        refs = self._load_refs(key)
        if rev in refs["branches"]:
            return refs["branches"][rev]
        if rev.startswith("refs/heads/") and rev[11:] in refs["branches"]:
            return refs["branches"][rev[11:]]
        if rev in refs["tags"]:
            return refs["tags"][rev]["commit"]
        if rev.startswith("refs/tags/") and rev[10:] in refs["tags"]:
            return refs["tags"][rev[10:]]["commit"]
        m = _PR_RE.match(rev)
        if m and m.group(1) in refs["prs"]:
            return refs["prs"][m.group(1)]
        low = rev.lower()
        if _HEX_RE.match(low):
            commits_dir = self._repo_dir(key) / "commits"
            if len(low) == 40:
                return low if (commits_dir / f"{low}.json").exists() else None
            matches = [p.stem for p in commits_dir.glob(f"{low}*.json")]
            if len(matches) == 1:
                return matches[0]
        return None

    def _resolve_commit(self, key: _RepoKey, rev: str) -> dict[str, Any]:
        oid = self._resolve(key, rev)
        if oid is None:
            raise _revision_not_found(rev)
        return self._load_commit(key, oid)

    # ------------------------------------------------------------------ routing
    def _route(self, req: _Request) -> _Response:
        segs = req.segs
        method = req.method
        if segs and segs[0] == "api":
            return self._route_api(req, segs[1:])
        if segs and segs[0] == "_lfs" and method == "PUT":
            return self._lfs_put(req, segs[1:])
        # web / git / resolve URLs: /[datasets/|spaces/]{ns}/{name}/...
        rtype = "model"
        rest = segs
        if segs and segs[0] in ("datasets", "spaces"):
            rtype, rest = API_REPO_TYPES[segs[0]], segs[1:]
        if len(rest) >= 2:
            ns, name = unquote(rest[0]), unquote(rest[1])
            if (
                name.endswith(".git")
                and rest[2:6] == ["info", "lfs", "objects", "batch"]
                and method == "POST"
            ):
                return self._lfs_batch(req, _RepoKey(rtype, ns, name[:-4]))
            if (
                name.endswith(".git")
                and rest[2:6] == ["info", "lfs", "objects", "verify"]
                and method == "POST"
            ):
                return self._lfs_verify(req, _RepoKey(rtype, ns, name[:-4]))
            if len(rest) >= 5 and rest[2] == "resolve" and method in ("GET", "HEAD"):
                rev, path_segs = self._split_rev(rest[3:])
                return self._resolve_file(
                    req, _RepoKey(rtype, ns, name), rev, "/".join(map(unquote, path_segs))
                )
        raise HubError(404, f"hubserver: no route for {method} {req.raw_path}")

    @staticmethod
    def _split_rev(segs: list[str]) -> tuple[str, list[str]]:
        """Revision segment + the rest. Tolerates an unquoted ``refs/pr/N`` / ``refs/convert/x``."""
        if len(segs) >= 3 and segs[0] == "refs" and segs[1] in ("pr", "convert", "heads", "tags"):
            return "/".join(segs[:3]), segs[3:]
        return unquote(segs[0]) if segs else "", segs[1:]

    def _route_api(self, req: _Request, segs: list[str]) -> _Response:
        method = req.method
        if segs == ["whoami-v2"] and method == "GET":
            return self._whoami(req)
        if segs == ["validate-yaml"] and method == "POST":
            req.body()
            return _json_response({"errors": [], "warnings": []})
        if segs == ["agent-harnesses"] and method == "GET":
            return _json_response({"standardEnvVars": [], "harnesses": {}})
        if segs == ["repos", "create"] and method == "POST":
            return self._create_repo(req)
        if segs == ["repos", "delete"] and method == "DELETE":
            return self._delete_repo(req)
        if len(segs) == 1 and segs[0] in API_REPO_TYPES and method == "GET":
            return self._list_repos(req, API_REPO_TYPES[segs[0]])
        if len(segs) < 3 or segs[0] not in API_REPO_TYPES:
            raise HubError(404, f"hubserver: no route for {method} {req.raw_path}")
        key = _RepoKey(API_REPO_TYPES[segs[0]], unquote(segs[1]), unquote(segs[2]))
        rest = segs[3:]
        action = rest[0] if rest else ""
        if not rest and method == "GET":
            return self._repo_info(req, key, None)
        if action == "revision" and len(rest) >= 2 and method == "GET":
            rev, _ = self._split_rev(rest[1:])
            return self._repo_info(req, key, rev)
        if action == "refs" and method == "GET":
            return self._refs(req, key)
        if action == "tree" and len(rest) >= 2 and method == "GET":
            rev, path_segs = self._split_rev(rest[1:])
            return self._tree(req, key, rev, "/".join(unquote(s) for s in path_segs).strip("/"))
        if action == "paths-info" and len(rest) >= 2 and method == "POST":
            rev, _ = self._split_rev(rest[1:])
            return self._paths_info(req, key, rev)
        if action == "commits" and len(rest) >= 2 and method == "GET":
            rev, _ = self._split_rev(rest[1:])
            return self._commits(req, key, rev)
        if action == "preupload" and len(rest) >= 2 and method == "POST":
            rev, _ = self._split_rev(rest[1:])
            return self._preupload(req, key, rev)
        if action == "commit" and len(rest) >= 2 and method == "POST":
            rev, _ = self._split_rev(rest[1:])
            return self._commit(req, key, rev)
        if action == "tag" and len(rest) >= 2 and method in ("POST", "DELETE"):
            rev, _ = self._split_rev(rest[1:])
            return (
                self._create_tag(req, key, rev)
                if method == "POST"
                else self._delete_tag(req, key, rev)
            )
        if action == "branch" and len(rest) >= 2 and method in ("POST", "DELETE"):
            branch, _ = self._split_rev(rest[1:])
            if method == "POST":
                return self._create_branch(req, key, branch)
            return self._delete_branch(req, key, branch)
        if action == "settings" and method == "PUT":
            return self._settings(req, key)
        raise HubError(404, f"hubserver: no route for {method} {req.raw_path}")

    # ------------------------------------------------------------------ account
    def _whoami(self, req: _Request) -> _Response:
        user = self._require_write(req)
        return _json_response(
            {
                "type": "user",
                "id": hashlib.sha1(user.encode()).hexdigest()[:24],
                "name": user,
                "fullname": "Local Test User",
                "email": None,
                "emailVerified": False,
                "isPro": False,
                "orgs": [],
                "auth": {
                    "type": "access_token",
                    "accessToken": {"displayName": "local", "role": "write"},
                },
            }
        )

    # ------------------------------------------------------------------ repos
    def _create_repo(self, req: _Request) -> _Response:
        user = self._require_write(req)
        payload = req.json()
        name = payload.get("name")
        ns = payload.get("organization") or user
        rtype = payload.get("type") or "model"
        if rtype not in URL_PREFIXES:
            raise HubError(400, f"Invalid repo type: {rtype!r}")
        if not isinstance(name, str) or not _NAME_RE.match(name) or "--" in name or ".." in name:
            raise HubError(400, f"Invalid repo name: {name!r}")
        if not _NAME_RE.match(ns):
            raise HubError(400, f"Invalid namespace: {ns!r}")
        private = bool(payload.get("private")) or payload.get("visibility") in (
            "private",
            "protected",
        )
        key = _RepoKey(rtype, ns, name)
        url = f"{req.base_url()}/{key.url_prefix}{key.id}"
        with self._lock:
            if self._load_repo(key) is not None:
                raise HubError(409, f"You already created this {rtype} repo", extra={"url": url})
            files = {}
            oid = self._store_git_blob(DEFAULT_GITATTRIBUTES.encode())
            files[".gitattributes"] = {"oid": oid, "size": len(DEFAULT_GITATTRIBUTES), "lfs": None}
            commit = self._write_commit(key, [], files, "initial commit", "", "system")
            self._save_refs(
                key, {"branches": {"main": commit}, "tags": {}, "prs": {}, "nextNum": 1}
            )
            _write_json_atomic(
                self._repo_dir(key) / "repo.json",
                {"id": key.id, "type": rtype, "private": private, "createdAt": _now_iso()},
            )
        return _json_response({"url": url, "name": key.id, "id": key.id})

    def _delete_repo(self, req: _Request) -> _Response:
        user = self._require_write(req)
        payload = req.json()
        key = _RepoKey(
            payload.get("type") or "model",
            payload.get("organization") or user,
            payload.get("name") or "",
        )
        if key.type not in URL_PREFIXES:
            raise HubError(400, f"Invalid repo type: {key.type!r}")
        with self._lock:
            self._repo(key, user)
            repo_dir = self._repo_dir(key)
            graveyard = self.storage / "tmp" / f"deleted-{uuid.uuid4().hex}"
            os.replace(repo_dir, graveyard)
            for p in sorted(graveyard.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                p.rmdir() if p.is_dir() else p.unlink()
            graveyard.rmdir()
            for cache in (self._commit_cache, self._dir_cache):
                for k in [k for k in cache if k.startswith(f"{key.type}/{key.id}/")]:
                    del cache[k]
        return _json_response({})

    def _settings(self, req: _Request, key: _RepoKey) -> _Response:
        user = self._require_write(req)
        payload = req.json()
        with self._lock:
            repo = self._repo(key, user)
            if "private" in payload:
                repo["private"] = bool(payload["private"])
            if "visibility" in payload:
                repo["private"] = payload["visibility"] in ("private", "protected")
            if "gated" in payload:
                repo["gated"] = payload["gated"]
            _write_json_atomic(self._repo_dir(key) / "repo.json", repo)
        return _json_response({})

    def _list_repos(self, req: _Request, rtype: str) -> _Response:
        user = self._auth(req)
        author, search = req.q("author"), (req.q("search") or "").lower()
        out = []
        base = self.storage / "repos" / f"{rtype}s"
        for repo_json in sorted(base.glob("*/*/repo.json")):
            repo = _read_json(repo_json)
            if repo is None or (repo.get("private") and user is None):
                continue
            ns = repo["id"].split("/")[0]
            if (author and ns != author) or (search and search not in repo["id"].lower()):
                continue
            key = _RepoKey(rtype, ns, repo["id"].split("/")[1])
            head = self._load_commit(key, self._load_refs(key)["branches"]["main"])
            out.append(
                {
                    "id": repo["id"],
                    "_id": repo["id"],
                    "author": ns,
                    "private": repo["private"],
                    "sha": head["id"],
                    "lastModified": head["date"],
                    "createdAt": repo["createdAt"],
                    "downloads": 0,
                    "likes": 0,
                    "tags": [],
                }
            )
        return _json_response(out)

    def _repo_info(self, req: _Request, key: _RepoKey, rev: str | None) -> _Response:
        user = self._auth(req)
        repo = self._repo(key, user)
        commit = self._resolve_commit(key, rev or "main")
        with_blobs = _truthy(req.q("blobs"))
        siblings = []
        for path in sorted(commit["files"]):
            meta = commit["files"][path]
            sib: dict[str, Any] = {"rfilename": path}
            if with_blobs:
                sib["size"] = meta["size"]
                sib["blobId"] = meta["oid"]
                if meta["lfs"]:
                    sib["lfs"] = {
                        "sha256": meta["lfs"]["oid"],
                        "size": meta["lfs"]["size"],
                        "pointerSize": meta["lfs"]["pointerSize"],
                    }
            siblings.append(sib)
        info: dict[str, Any] = {
            "_id": hashlib.sha1(f"{key.type}/{key.id}".encode()).hexdigest()[:24],
            "id": key.id,
            "author": key.ns,
            "sha": commit["id"],
            "lastModified": commit["date"],
            "createdAt": repo["createdAt"],
            "private": bool(repo.get("private")),
            "gated": repo.get("gated", False),
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": siblings,
            "usedStorage": sum(m["size"] for m in commit["files"].values()),
        }
        if key.type == "model":
            info["modelId"] = key.id
        expand = req.query.get("expand", []) + req.query.get("expand[]", [])
        if expand:
            info = {k: v for k, v in info.items() if k in expand or k in ("id", "_id")}
        return _json_response(info)

    # ------------------------------------------------------------------ refs / tree / commits
    def _refs(self, req: _Request, key: _RepoKey) -> _Response:
        self._repo(key, self._auth(req))
        refs = self._load_refs(key)
        out: dict[str, Any] = {
            "branches": [
                {"name": b, "ref": f"refs/heads/{b}", "targetCommit": c}
                for b, c in sorted(refs["branches"].items())
            ],
            "tags": [
                {"name": t, "ref": f"refs/tags/{t}", "targetCommit": v["commit"]}
                for t, v in sorted(refs["tags"].items())
            ],
            "converts": [],
        }
        if _truthy(req.q("include_prs")):
            out["pullRequests"] = [
                {"name": f"refs/pr/{n}", "ref": f"refs/pr/{n}", "targetCommit": c}
                for n, c in sorted(refs["prs"].items(), key=lambda kv: int(kv[0]))
            ]
        return _json_response(out)

    def _file_entry(self, path: str, meta: dict[str, Any]) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": "file",
            "oid": meta["oid"],
            "size": meta["size"],
            "path": path,
        }
        if meta["lfs"]:
            entry["lfs"] = dict(meta["lfs"])
        return entry

    def _last_commit(
        self, key: _RepoKey, commit: dict[str, Any], path: str, is_dir: bool
    ) -> dict[str, Any]:
        def value(c: dict[str, Any]) -> Any:
            if is_dir:
                return self._dir_oids(key, c).get(path)
            meta = c["files"].get(path)
            return meta["oid"] if meta else None

        current, v = commit, value(commit)
        while current["parents"]:
            parent = self._load_commit(key, current["parents"][0])
            if value(parent) != v:
                break
            current = parent
        return {"id": current["id"], "title": current["title"], "date": current["date"]}

    def _entries(
        self, key: _RepoKey, commit: dict[str, Any], base: str, recursive: bool, expand: bool
    ) -> list[dict[str, Any]]:
        files = commit["files"]
        dir_oids = self._dir_oids(key, commit)
        if base and base not in dir_oids:
            raise _entry_not_found(base)
        prefix = f"{base}/" if base else ""
        out: list[dict[str, Any]] = []
        for d, oid in dir_oids.items():
            if d and d.startswith(prefix) and (recursive or "/" not in d[len(prefix) :]):
                out.append({"type": "directory", "oid": oid, "size": 0, "path": d})
        for path, meta in files.items():
            if path.startswith(prefix) and (recursive or "/" not in path[len(prefix) :]):
                out.append(self._file_entry(path, meta))
        out.sort(key=lambda e: e["path"])
        if expand:
            for e in out:
                e["lastCommit"] = self._last_commit(
                    key, commit, e["path"], e["type"] == "directory"
                )
        return out

    def _tree(self, req: _Request, key: _RepoKey, rev: str, path: str) -> _Response:
        self._repo(key, self._auth(req))
        commit = self._resolve_commit(key, rev)
        recursive, expand = _truthy(req.q("recursive")), _truthy(req.q("expand"))
        entries = self._entries(key, commit, path, recursive, expand)
        try:
            start = max(0, int(req.q("cursor") or 0))
            limit = max(1, min(int(req.q("limit") or self.page_size), self.page_size))
        except ValueError:
            raise HubError(400, "Invalid cursor or limit") from None
        page = entries[start : start + limit]
        headers = {}
        if start + limit < len(entries):
            # the next page is pinned to the commit, so a concurrent commit cannot shift it
            query = urlencode(
                {
                    "recursive": str(recursive).lower(),
                    "expand": str(expand).lower(),
                    "cursor": start + limit,
                    "limit": limit,
                }
            )
            path_part = f"/{quote(path, safe='')}" if path else ""
            url = (
                f"{req.base_url()}/api/{key.type}s/{key.id}/tree/{commit['id']}{path_part}?{query}"
            )
            headers["Link"] = f'<{url}>; rel="next"'
        return _json_response(page, headers=headers)

    def _paths_info(self, req: _Request, key: _RepoKey, rev: str) -> _Response:
        self._repo(key, self._auth(req))
        commit = self._resolve_commit(key, rev)
        form = req.form()
        if not form and (req.headers.get("Content-Type") or "").startswith("application/json"):
            payload = json.loads(req.body() or b"{}")
            form = {
                "paths": payload.get("paths", []),
                "expand": [str(payload.get("expand", False))],
            }
        expand = _truthy((form.get("expand") or ["false"])[-1])
        dir_oids = self._dir_oids(key, commit)
        out = []
        for raw in form.get("paths", []):
            path = raw.strip("/")
            if path in commit["files"]:
                entry = self._file_entry(path, commit["files"][path])
            elif path and path in dir_oids:
                entry = {"type": "directory", "oid": dir_oids[path], "size": 0, "path": path}
            else:
                continue
            if expand:
                entry["lastCommit"] = self._last_commit(
                    key, commit, path, entry["type"] == "directory"
                )
            out.append(entry)
        return _json_response(out)

    def _commits(self, req: _Request, key: _RepoKey, rev: str) -> _Response:
        self._repo(key, self._auth(req))
        commit = self._resolve_commit(key, rev)
        history = []
        current: dict[str, Any] | None = commit
        while current is not None:
            history.append(current)
            current = self._load_commit(key, current["parents"][0]) if current["parents"] else None
        try:
            page_num = max(0, int(req.q("p") or 0))
            limit = max(1, min(int(req.q("limit") or self.page_size), self.page_size))
        except ValueError:
            raise HubError(400, "Invalid page or limit") from None
        page = history[page_num * limit : (page_num + 1) * limit]
        out = [
            {
                "id": c["id"],
                "title": c["title"],
                "message": c["message"],
                "date": c["date"],
                "authors": [{"user": a, "avatar": None} for a in c["authors"]],
                "parents": c["parents"],
            }
            for c in page
        ]
        headers = {}
        if (page_num + 1) * limit < len(history):
            url = (
                f"{req.base_url()}/api/{key.type}s/{key.id}/commits/{commit['id']}"
                f"?{urlencode({'p': page_num + 1, 'limit': limit})}"
            )
            headers["Link"] = f'<{url}>; rel="next"'
        return _json_response(out, headers=headers)

    # ------------------------------------------------------------------ tags & branches
    def _create_tag(self, req: _Request, key: _RepoKey, rev: str) -> _Response:
        user = self._require_write(req)
        payload = req.json()
        tag = payload.get("tag")
        if (
            not isinstance(tag, str)
            or not tag
            or any(c.isspace() for c in tag)
            or tag.startswith("refs/")
        ):
            raise HubError(400, f"Invalid tag name: {tag!r}")
        with self._lock:
            self._repo(key, user)
            oid = self._resolve(key, rev)
            if oid is None:
                raise _revision_not_found(rev)
            refs = self._load_refs(key)
            if tag in refs["tags"]:
                raise HubError(409, f"Tag {tag} already exists")
            refs["tags"][tag] = {"commit": oid, "message": payload.get("message")}
            self._save_refs(key, refs)
        return _json_response({"tag": tag, "targetCommit": oid})

    def _delete_tag(self, req: _Request, key: _RepoKey, tag: str) -> _Response:
        return self._delete_ref(req, key, "tags", tag)

    def _create_branch(self, req: _Request, key: _RepoKey, branch: str) -> _Response:
        user = self._require_write(req)
        payload = req.json()
        if (
            not branch
            or any(c.isspace() for c in branch)
            or branch.startswith("refs/")
            or ".." in branch
        ):
            raise HubError(400, f"Invalid branch name: {branch!r}")
        with self._lock:
            self._repo(key, user)
            refs = self._load_refs(key)
            if branch in refs["branches"]:
                raise HubError(409, f"Reference already exists: refs/heads/{branch}")
            start = payload.get("startingPoint") or "main"
            oid = self._resolve(key, start)
            if oid is None:
                raise _revision_not_found(start)
            refs["branches"][branch] = oid
            self._save_refs(key, refs)
        return _json_response({"name": branch, "targetCommit": oid})

    def _delete_branch(self, req: _Request, key: _RepoKey, branch: str) -> _Response:
        if branch == "main":
            raise HubError(400, "Cannot delete the default branch 'main'")
        return self._delete_ref(req, key, "branches", branch)

    def _delete_ref(self, req: _Request, key: _RepoKey, kind: str, name: str) -> _Response:
        """Remove a tag or branch (`kind` is the refs.json section); 404 when it does not exist."""
        user = self._require_write(req)
        req.drain()
        with self._lock:
            self._repo(key, user)
            refs = self._load_refs(key)
            if name not in refs[kind]:
                raise _revision_not_found(name)
            del refs[kind][name]
            self._save_refs(key, refs)
        return _json_response({})

    # ------------------------------------------------------------------ upload
    def _text_at(self, commit: dict[str, Any], path: str) -> str:
        """A regular file's text at a commit ("" when absent or stored in LFS)."""
        meta = commit["files"].get(path)
        if not meta or meta["lfs"]:
            return ""
        try:
            return self._git_blob_path(meta["oid"]).read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _lfs_patterns(self, key: _RepoKey, commit: dict[str, Any]) -> list[str]:
        patterns = []
        for line in self._text_at(commit, ".gitattributes").splitlines():
            parts = line.split()
            if len(parts) >= 2 and not parts[0].startswith("#") and "filter=lfs" in parts[1:]:
                patterns.append(parts[0])
        return patterns

    def _ignore_patterns(self, commit: dict[str, Any]) -> list[str]:
        """The root ``.gitignore`` at a commit: simple glob lines (no ``!`` negation)."""
        lines = (line.strip() for line in self._text_at(commit, ".gitignore").splitlines())
        return [line for line in lines if line and not line.startswith(("#", "!"))]

    @staticmethod
    def _ignored(path: str, pattern: str) -> bool:
        """gitignore matching, simplified: ``*.png`` matches any name at any depth, ``data/zh/``
        a folder (and so all below it), a pattern with a ``/`` is anchored at the root."""
        parts = path.split("/")
        glob = pattern.strip("/")
        names = (
            ["/".join(parts[: i + 1]) for i in range(len(parts))]
            if "/" in pattern.rstrip("/")
            else parts
        )
        if pattern.endswith("/"):
            names = names[:-1]  # a folder pattern never matches the file itself
        return any(fnmatch.fnmatchcase(name, glob) for name in names)

    @staticmethod
    def _matches(path: str, pattern: str) -> bool:
        if "/" in pattern.rstrip("/"):
            return fnmatch.fnmatchcase(path, pattern.lstrip("/").replace("**/", "*"))
        return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)

    def _preupload(self, req: _Request, key: _RepoKey, rev: str) -> _Response:
        user = self._require_write(req)
        payload = req.json()
        self._repo(key, user)
        commit = self._resolve_commit(key, rev)
        patterns = self._lfs_patterns(key, commit)
        ignores = self._ignore_patterns(commit)
        files = payload.get("files")
        if not isinstance(files, list):
            raise HubError(400, "'files' must be a list")
        out = []
        for f in files:
            path = _validate_repo_path(f.get("path") if isinstance(f, dict) else None)
            size = int(f.get("size") or 0)
            try:
                sample = base64.b64decode(f.get("sample") or "")
            except ValueError:
                raise HubError(400, f"Invalid base64 sample for {path}") from None
            lfs = (
                size >= self.lfs_threshold
                or any(self._matches(path, p) for p in patterns)
                or _looks_binary(sample)
            )
            existing = commit["files"].get(path)
            oid = None
            if existing:
                oid = existing["lfs"]["oid"] if existing["lfs"] else existing["oid"]
            out.append(
                {
                    "path": path,
                    "uploadMode": "lfs" if lfs else "regular",
                    "shouldIgnore": any(self._ignored(path, p) for p in ignores),
                    "oid": oid,
                }
            )
        return _json_response({"files": out, "commitOid": commit["id"]})

    def _sign(self, key: _RepoKey, oid: str, size: int, exp: int) -> str:
        msg = f"{key.type}\n{key.id}\n{oid}\n{size}\n{exp}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def _lfs_batch(self, req: _Request, key: _RepoKey) -> _Response:
        user = self._require_write(req)
        payload = req.json()
        self._repo(key, user)
        if payload.get("operation") != "upload":
            raise HubError(422, f"Unsupported LFS batch operation: {payload.get('operation')!r}")
        objects = payload.get("objects")
        if not isinstance(objects, list):
            raise HubError(422, "'objects' must be a list")
        base = req.base_url()
        exp = int(time.time()) + 3600
        out = []
        for obj in objects:
            oid, size = obj.get("oid"), obj.get("size")
            if (
                not isinstance(oid, str)
                or not _SHA256_RE.match(oid)
                or not isinstance(size, int)
                or size < 0
            ):
                out.append(
                    {
                        "oid": str(oid),
                        "size": size if isinstance(size, int) else 0,
                        "error": {"code": 422, "message": "Invalid oid or size"},
                    }
                )
                continue
            entry: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            blob = self.lfs_blob_path(oid)
            if not (blob.exists() and blob.stat().st_size == size):
                query = urlencode(
                    {"size": size, "exp": exp, "sig": self._sign(key, oid, size, exp)}
                )
                entry["actions"] = {
                    "upload": {
                        "href": f"{base}/_lfs/{key.type}s/{key.id}/{oid}?{query}",
                        "expires_in": 3600,
                    },
                    "verify": {
                        "href": f"{base}/{key.url_prefix}{key.id}.git/info/lfs/objects/verify"
                    },
                }
            out.append(entry)
        return _Response(
            200,
            {"Content-Type": LFS_CONTENT_TYPE},
            json.dumps({"transfer": "basic", "objects": out, "hash_algo": "sha256"}).encode(),
        )

    def _lfs_put(self, req: _Request, segs: list[str]) -> _Response:
        # /_lfs/{type}s/{ns}/{name}/{oid}?size=&exp=&sig=   (no Authorization: the href is signed)
        if len(segs) != 4 or segs[0] not in API_REPO_TYPES:
            raise HubError(404, f"hubserver: no route for PUT {req.raw_path}")
        key = _RepoKey(API_REPO_TYPES[segs[0]], unquote(segs[1]), unquote(segs[2]))
        oid = segs[3]
        try:
            size, exp = int(req.q("size") or -1), int(req.q("exp") or 0)
        except ValueError:
            raise HubError(403, "Invalid upload signature") from None
        sig = req.q("sig") or ""
        if not hmac.compare_digest(sig, self._sign(key, oid, size, exp)):
            raise HubError(403, "Invalid upload signature")
        if exp < time.time():
            raise HubError(403, "Upload URL expired")

        drop = self.faults._take_drop()
        if drop is not None:
            for _ in req.iter_body(lfs=True, limit=drop):
                pass
            logger.debug("hubserver: dropping LFS upload of %s after %d bytes", oid, drop)
            req.handler.abort_connection()
            raise _ConnectionAborted(f"drop_upload_after({drop})")

        tmp = self.storage / "tmp" / f"lfs-{oid}-{uuid.uuid4().hex}"
        digest = hashlib.sha256()
        received = 0
        try:
            with open(tmp, "wb") as f:
                for chunk in req.iter_body(lfs=True):
                    digest.update(chunk)
                    received += len(chunk)
                    f.write(chunk)
            if received != size or digest.hexdigest() != oid:
                raise HubError(
                    400,
                    f"Uploaded content does not match: expected sha256 {oid} / {size} bytes, "
                    f"got {digest.hexdigest()} / {received} bytes",
                )
            blob = self.lfs_blob_path(oid)
            with self._lock:
                if blob.exists():
                    tmp.unlink()
                else:
                    blob.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(tmp, blob)
                    self.stats._add_lfs_upload()
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return _Response(200, {"Content-Type": "text/plain"}, b"")

    def _lfs_verify(self, req: _Request, key: _RepoKey) -> _Response:
        user = self._require_write(req)
        payload = req.json()
        self._repo(key, user)
        oid, size = payload.get("oid"), payload.get("size")
        if not isinstance(oid, str) or not _SHA256_RE.match(oid):
            raise HubError(422, f"Invalid oid: {oid!r}")
        blob = self.lfs_blob_path(oid)
        if not blob.exists():
            raise HubError(404, f"LFS object {oid} was not uploaded")
        actual = blob.stat().st_size
        if size is not None and size != actual:
            raise HubError(422, f"LFS object {oid} has size {actual}, not {size}")
        return _Response(
            200, {"Content-Type": LFS_CONTENT_TYPE}, json.dumps({"message": "ok"}).encode()
        )

    # ------------------------------------------------------------------ commit
    def _commit(self, req: _Request, key: _RepoKey, rev: str) -> _Response:
        user = self._require_write(req)
        raw = req.body()
        self._repo(key, user)
        lines = []
        for n, line in enumerate(raw.splitlines(), 1):
            if line.strip():
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    raise HubError(400, f"Invalid NDJSON on line {n}") from None
        headers = [
            ln["value"] for ln in lines if isinstance(ln, dict) and ln.get("key") == "header"
        ]
        if len(headers) != 1 or not isinstance(headers[0], dict):
            raise HubError(400, "The commit payload must start with exactly one 'header' line")
        header = headers[0]
        summary = header.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            raise HubError(400, "A commit summary is required")
        description = header.get("description") or ""
        parent = header.get("parentCommit")
        create_pr = _truthy(req.q("create_pr"))

        with self._lock:
            refs = self._load_refs(key)
            pr_num: str | None = None
            branch: str | None = None
            if create_pr:
                target = rev[11:] if rev.startswith("refs/heads/") else rev
                if target not in refs["branches"]:
                    raise _revision_not_found(rev)
                if parent:
                    base_oid = self._resolve(key, parent)
                    if base_oid is None:
                        raise HubError(
                            404, f"parentCommit {parent} not found", code="RevisionNotFound"
                        )
                else:
                    base_oid = refs["branches"][target]
            else:
                m = _PR_RE.match(rev)
                name = rev[11:] if rev.startswith("refs/heads/") else rev
                if m and m.group(1) in refs["prs"]:
                    pr_num = m.group(1)
                    base_oid = refs["prs"][pr_num]
                elif name in refs["branches"]:
                    branch = name
                    base_oid = refs["branches"][name]
                elif self._resolve(key, rev) is not None:
                    raise HubError(400, f"Cannot commit to '{rev}': it is not a branch")
                else:
                    raise _revision_not_found(rev)
                if parent and not base_oid.startswith(str(parent).lower()):
                    raise HubError(
                        412,
                        f"A commit has happened since: parentCommit {parent} is not the head of "
                        f"'{rev}' (head is {base_oid}). Please refresh and try again.",
                        code="PreconditionFailed",
                    )
            base = self._load_commit(key, base_oid)
            files = {p: dict(m) for p, m in base["files"].items()}
            pending_blobs: list[bytes] = []
            for line in lines:
                op, value = line.get("key"), line.get("value")
                if op == "header":
                    continue
                if not isinstance(value, dict):
                    raise HubError(400, f"Invalid value for '{op}'")
                if op == "file":
                    path = _validate_repo_path(value.get("path"))
                    content = value.get("content", "")
                    encoding = value.get("encoding", "base64")
                    try:
                        data = (
                            base64.b64decode(content, validate=True)
                            if encoding == "base64"
                            else content.encode()
                        )
                    except ValueError:
                        raise HubError(400, f"Invalid base64 content for {path}") from None
                    pending_blobs.append(data)
                    files[path] = {"oid": git_blob_oid(data), "size": len(data), "lfs": None}
                elif op == "lfsFile":
                    path = _validate_repo_path(value.get("path"))
                    oid = str(value.get("oid", "")).lower()
                    if value.get("algo", "sha256") != "sha256" or not _SHA256_RE.match(oid):
                        raise HubError(400, f"Invalid LFS oid for {path}: {value.get('oid')!r}")
                    blob = self.lfs_blob_path(oid)
                    if not blob.exists():
                        raise HubError(
                            400,
                            f"LFS object {oid} for {path} was never uploaded",
                        )
                    size = blob.stat().st_size
                    if value.get("size") is not None and int(value["size"]) != size:
                        raise HubError(
                            400, f"LFS object {oid} for {path} has size {size}, not {value['size']}"
                        )
                    pointer = lfs_pointer(oid, size)
                    files[path] = {
                        "oid": git_blob_oid(pointer),
                        "size": size,
                        "lfs": {"oid": oid, "size": size, "pointerSize": len(pointer)},
                    }
                elif op == "deletedFile":
                    path = _validate_repo_path(value.get("path"))
                    if path not in files:
                        raise HubError(
                            404,
                            f"A file with this name doesn't exist: {path}",
                            code="EntryNotFound",
                        )
                    del files[path]
                elif op == "deletedFolder":
                    folder = _validate_repo_path(str(value.get("path", "")).rstrip("/"))
                    doomed = [p for p in files if p.startswith(folder + "/")]
                    if not doomed:
                        raise HubError(
                            404,
                            f"A folder with this name doesn't exist: {folder}",
                            code="EntryNotFound",
                        )
                    for p in doomed:
                        del files[p]
                else:
                    raise HubError(400, f"Unknown commit operation: {op!r}")
            for path in files:
                parts = path.split("/")
                for i in range(1, len(parts)):
                    if "/".join(parts[:i]) in files:
                        raise HubError(
                            400, f"'{'/'.join(parts[:i])}' is a file, cannot create {path}"
                        )
            for data in pending_blobs:
                self._store_git_blob(data)
            oid = self._write_commit(key, [base_oid], files, summary, description, user)
            if create_pr:
                pr_num = str(refs["nextNum"])
                refs["nextNum"] += 1
                refs["prs"][pr_num] = oid
            elif pr_num is not None:
                refs["prs"][pr_num] = oid
            else:
                assert branch is not None
                refs["branches"][branch] = oid
            self._save_refs(key, refs)

        repo_url = f"{req.base_url()}/{key.url_prefix}{key.id}"
        out: dict[str, Any] = {
            "success": True,
            "commitOid": oid,
            "commitUrl": f"{repo_url}/commit/{oid}",
        }
        if create_pr:
            out["pullRequestUrl"] = f"{repo_url}/discussions/{pr_num}"
        return _json_response(out)

    # ------------------------------------------------------------------ download
    def _resolve_file(self, req: _Request, key: _RepoKey, rev: str, path: str) -> _Response:
        self._repo(key, self._auth(req))
        commit = self._resolve_commit(key, rev)
        meta = commit["files"].get(path)
        if meta is None:
            raise HubError(
                404,
                f"Entry not found: {path}",
                code="EntryNotFound",
                headers={"X-Repo-Commit": commit["id"]},
            )
        if meta["lfs"]:
            sha = meta["lfs"]["oid"]
            file = self.lfs_blob_path(sha)
            etag = f'"{sha}"'
            content_type = "application/octet-stream"
        else:
            file = self._git_blob_path(meta["oid"])
            etag = f'"{meta["oid"]}"'
            content_type = "text/plain; charset=utf-8"
        size = meta["size"]
        filename = path.rsplit("/", 1)[-1]
        headers = {
            "X-Repo-Commit": commit["id"],
            "ETag": etag,
            "Accept-Ranges": "bytes",
            "Content-Type": content_type,
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}; "
            f'filename="{filename.encode("ascii", "replace").decode()}"',
        }
        if meta["lfs"]:
            headers["X-Linked-Etag"] = etag
            headers["X-Linked-Size"] = str(size)
        start, length, status = 0, size, 200
        range_header = req.headers.get("Range")
        if range_header:
            m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", range_header, re.IGNORECASE)
            if not m or (not m.group(1) and not m.group(2)):
                raise HubError(
                    416,
                    f"Invalid range: {range_header}",
                    headers={"Content-Range": f"bytes */{size}"},
                )
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            else:
                start = max(0, size - int(m.group(2)))
                end = size - 1
            if start >= size or end < start:
                raise HubError(
                    416,
                    f"Range not satisfiable: {range_header}",
                    headers={"Content-Range": f"bytes */{size}"},
                )
            length, status = end - start + 1, 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return _Response(status, headers, file=file, offset=start, length=length)
