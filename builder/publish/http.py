"""The HTTP layer under huggingface_hub: a timeout on every request, one retry budget, bytes sent.

huggingface_hub 2.x sends everything through one shared `httpx2.Client`, whose default has no
timeout, and retries some calls itself (`http_backoff`: 5 retries, honouring `Retry-After`).
Broadsheet installs a client whose transport (`Guard`) caps every request's timeouts, ends the
retrying of every layer once the Hub has failed for longer than the budget within one
`Hub.call`, and counts the request bytes the Hub answered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx2
from huggingface_hub import set_client_factory
from huggingface_hub.utils._http import default_client_factory

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait for the Hub: per request, between retries, and in all."""

    attempts: int = 6  # Broadsheet's own attempts per call (huggingface_hub may retry inside each)
    base_delay: float = 1.0
    max_delay: float = 16.0
    timeout: float = 60.0  # seconds to connect, or to wait for any read or write of a request
    budget: float = (
        300.0  # seconds the Hub may keep failing, all retries included, before giving up
    )


class HubGaveUp(httpx2.TransportError):
    """The retry budget is spent: raised instead of sending one more request (nobody retries it)."""


def retry_after(response: httpx2.Response | None) -> float | None:
    """The seconds a `Retry-After` header asks for (delay-seconds form), or None."""
    value = (response.headers.get("Retry-After") or "").strip() if response is not None else ""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class _CountedBody(httpx2.SyncByteStream):
    def __init__(self, stream: httpx2.SyncByteStream):
        self.stream = stream
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.stream:
            self.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        self.stream.close()


class Ledger:
    """What every guarded client shares: the policy, the time spent failing, the bytes sent.

    The budget is armed only inside `Hub.call` (`calling`): it is the total time, within that
    call, from a failing request's start to the Hub's next proper answer. Time spent on
    requests that succeed (a long upload) never counts. Other requests get the timeouts only.
    """

    def __init__(self) -> None:
        self.policy = RetryPolicy()
        self._lock = threading.Lock()
        self._depth = 0  # nested `calling` scopes
        self._spent = 0.0  # seconds of failing periods that ended, in this call
        self._failing_since: float | None = None  # start of the current failing period
        self.bytes_sent = 0  # request bodies of requests the Hub answered

    @contextmanager
    def calling(self, policy: RetryPolicy) -> Iterator[None]:
        """One Hub call: its retries, at every layer, share one budget under `policy`."""
        with self._lock:
            if self._depth == 0:
                self.policy, self._spent, self._failing_since = policy, 0.0, None
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self.policy, self._spent, self._failing_since = RetryPolicy(), 0.0, None

    def left(self) -> float:
        """Seconds of the retry budget that remain."""
        with self._lock:
            since = self._failing_since
            failing = time.monotonic() - since if since is not None else 0.0
            return self.policy.budget - self._spent - failing

    def answered(self, started: float, sent: int, failed: bool) -> None:
        """Record a request that began at `started` and ended now, answered or not."""
        with self._lock:
            self.bytes_sent += sent
            if not self._depth:
                return
            if failed and self._failing_since is None:
                self._failing_since = started
            elif not failed and self._failing_since is not None:
                self._spent += time.monotonic() - self._failing_since
                self._failing_since = None


LEDGER = Ledger()


class Guard(httpx2.BaseTransport):
    """Wraps the real transport: capped timeouts, the shared failure clock, the bytes sent."""

    def __init__(self, inner: httpx2.BaseTransport, ledger: Ledger):
        self.inner = inner
        self.ledger = ledger

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        ledger = self.ledger
        left = ledger.left()
        if left <= 0:
            raise HubGaveUp(
                f"the Hub failed for {ledger.policy.budget:g}s in all, the retry budget",
                request=request,
            )
        cap = min(ledger.policy.timeout, left)
        timeouts = request.extensions.get("timeout") or {}
        request.extensions["timeout"] = {
            k: cap if timeouts.get(k) is None else min(timeouts[k], cap)
            for k in ("connect", "read", "write", "pool")
        }
        if not isinstance(request.stream, httpx2.SyncByteStream):  # the Hub client is synchronous
            raise TypeError("Broadsheet's Hub transport sends synchronous requests only")
        body = _CountedBody(request.stream)
        request.stream = body
        started = time.monotonic()
        try:
            response = self.inner.handle_request(request)
        except httpx2.TransportError:
            ledger.answered(started, 0, failed=True)
            raise
        failed = response.status_code in RETRY_STATUS
        ledger.answered(started, body.sent, failed)
        wait = retry_after(response) if failed else None
        if wait is not None and wait > ledger.left():
            response.close()
            raise HubGaveUp(
                f"the Hub answered {response.status_code} and asked to wait {wait:g}s "
                f"(Retry-After), more than the {max(ledger.left(), 0):.0f}s left of the retry budget",
                request=request,
            )
        return response

    def close(self) -> None:
        self.inner.close()


_install_lock = threading.Lock()
_installed: list[bool] = []


def install() -> Ledger:
    """Make huggingface_hub use guarded clients (once per process)."""
    with _install_lock:
        if not _installed:
            set_client_factory(_client_factory)
            _installed.append(True)
    return LEDGER


def _client_factory() -> httpx2.Client:
    base = default_client_factory()  # for its event hooks: offline mode, request ids, debug log
    hooks = base.event_hooks
    base.close()
    return httpx2.Client(
        event_hooks=hooks,
        follow_redirects=True,
        timeout=None,
        transport=Guard(httpx2.HTTPTransport(), LEDGER),
    )
