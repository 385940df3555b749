"""The HTTP layer under huggingface_hub: a timeout on every request, one retry budget, bytes sent.

huggingface_hub 2.x sends everything through one shared `httpx2.Client` (`get_session()`),
whose default has no timeout, and retries some calls itself (`http_backoff`: 5 retries,
honouring `Retry-After`). A `Guard` belongs to one `Hub` object: while one of that Hub's calls
runs (`Guard.calling`), it hangs its event hooks on the shared client, which cap every request's
timeouts, end the retrying of every layer once the Hub has failed for longer than the budget
within that call, and count the request bytes the Hub answered. Outside its calls the hooks are
gone: other users of huggingface_hub in the same process see the client as it was. The shared
client's factory is never replaced.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx2
from huggingface_hub import get_session

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait for the Hub: per request, between retries, and in all."""

    attempts: int = 6  # Broadsheet's own attempts per call (huggingface_hub may retry inside each)
    base_delay: float = 1.0
    max_delay: float = 16.0
    timeout: float = 60.0  # seconds to connect, or to wait for any read or write of a request
    budget: float = 300.0  # seconds the Hub may keep failing, all retries included, in one call


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
    """One Hub's accounts: the policy of the call running, the time spent failing, bytes sent.

    The budget is the total time, within one call, from a failing request's start to the Hub's
    next proper answer. Time spent on requests that succeed (a long upload) never counts.
    """

    def __init__(self) -> None:
        self.policy = RetryPolicy()
        self._lock = threading.Lock()
        self._spent = 0.0  # seconds of failing periods that ended, in this call
        self._failing_since: float | None = None  # start of the current failing period
        self.bytes_sent = 0  # request bodies of requests the Hub answered

    def start(self, policy: RetryPolicy) -> None:
        """A new call: a fresh budget under `policy`."""
        with self._lock:
            self.policy, self._spent, self._failing_since = policy, 0.0, None

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
            if failed and self._failing_since is None:
                self._failing_since = started
            elif not failed and self._failing_since is not None:
                self._spent += time.monotonic() - self._failing_since
                self._failing_since = None


@dataclass
class _Pending:
    """A request this thread sent and has no answer to yet."""

    started: float
    body: _CountedBody


class Guard:
    """The event hooks of one Hub object on huggingface_hub's shared client, and its ledger."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self._depth = 0  # nested `calling` scopes
        self._lock = threading.Lock()
        self._pending = threading.local()  # huggingface_hub uploads from several threads

    @contextmanager
    def calling(self, policy: RetryPolicy) -> Iterator[None]:
        """One Hub call: its requests, at every layer, share one budget under `policy`."""
        with self._lock:
            if self._depth == 0:
                self.ledger.start(policy)
                self._hook(get_session())
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self._unhook(get_session())
                    self._pending = threading.local()

    def settle(self) -> None:
        """This thread's last request raised instead of being answered: it failed, from when it
        was sent (so the budget left is known before deciding to retry)."""
        last: _Pending | None = getattr(self._pending, "request", None)
        self._pending.request = None
        if last is not None:
            self.ledger.answered(last.started, 0, failed=True)

    def _hook(self, session: httpx2.Client) -> None:
        hooks = session.event_hooks
        session.event_hooks = {
            "request": [*hooks["request"], self._on_request],
            "response": [*hooks["response"], self._on_response],
        }

    def _unhook(self, session: httpx2.Client) -> None:
        hooks = session.event_hooks
        session.event_hooks = {
            "request": [h for h in hooks["request"] if h != self._on_request],
            "response": [h for h in hooks["response"] if h != self._on_response],
        }

    def _on_request(self, request: httpx2.Request) -> None:
        """Before each request: the last one of this thread got no answer (a dropped
        connection, a timeout) if it is still pending; refuse when the budget is spent; cap the
        timeouts by what is left of it; count the body as it is sent."""
        self.settle()
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
            raise TypeError("Broadsheet's Hub hooks see synchronous requests only")
        body = _CountedBody(request.stream)
        request.stream = body
        self._pending.request = _Pending(time.monotonic(), body)

    def _on_response(self, response: httpx2.Response) -> None:
        """After each answer: failed or not, the bytes it took; a Retry-After longer than the
        budget left ends the call rather than wait in vain."""
        pending: _Pending | None = getattr(self._pending, "request", None)
        self._pending.request = None
        if pending is None:  # a request sent before this call's hooks were hung
            return
        ledger = self.ledger
        failed = response.status_code in RETRY_STATUS
        ledger.answered(pending.started, pending.body.sent, failed)
        wait = retry_after(response) if failed else None
        if wait is not None and wait > ledger.left():
            raise HubGaveUp(
                f"the Hub answered {response.status_code} and asked to wait {wait:g}s "
                f"(Retry-After), more than the {max(ledger.left(), 0):.0f}s left of the retry budget",
                request=response.request,
            )
