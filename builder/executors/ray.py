"""The Ray executor: the build's tasks as Ray tasks on a cluster (`--executor ray --address ADDR`).

Ray is an optional extra (`pip install 'broadsheet[ray]'`). Without an address a local Ray
instance is started for the build and stopped after it. The builder's own packages travel to
the cluster with the job (`py_modules`), so worker nodes need only Python, Ray and the pinned
dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from builder.errors import BroadsheetError, ConfigError
from builder.executors.local import IN_FLIGHT_PER_WORKER

# The project's own packages, shipped to the cluster with the job (their folders, found from here
# rather than by importing the packages, which would import the whole builder into this module).
PACKAGES = [str(Path(__file__).resolve().parents[2] / name) for name in ("builder", "schema")]
T = TypeVar("T")
R = TypeVar("R")


class RayExecutor:
    def __init__(self, address: str | None = None):
        try:
            import ray
        except ImportError as exc:
            raise ConfigError(
                "the ray executor needs Ray: pip install 'broadsheet[ray]' (make test installs it)"
            ) from exc
        self._ray = ray
        self.address = address
        self.workers = 1

    def __enter__(self) -> RayExecutor:
        ray = self._ray
        try:
            ray.init(
                address=self.address,
                runtime_env={"py_modules": PACKAGES},
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = self.address or "a local Ray instance"
            raise BroadsheetError(f"cannot start or reach Ray at {where}: {exc}") from exc
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self._ray.shutdown()

    def imap_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        ray = self._ray
        remote = ray.remote(max_retries=0)(fn)
        window = self.workers * IN_FLIGHT_PER_WORKER
        pending: list = []
        for item in items:
            pending.append(remote.remote(item))
            if len(pending) >= window:
                done, pending = ray.wait(pending, num_returns=1)
                yield from self._results(done)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield from self._results(done)

    def _results(self, refs: list) -> Iterator:
        ray = self._ray
        for ref in refs:
            try:
                yield ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if isinstance(exc.cause, Exception) else None
                if isinstance(cause, BroadsheetError):
                    raise cause from exc
                raise BroadsheetError(
                    f"a Ray task failed: {type(cause or exc).__name__}: {cause or exc}".splitlines()[
                        0
                    ]
                ) from exc
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
                raise BroadsheetError(
                    f"a Ray worker died ({type(exc).__name__}); the previous release was left in "
                    "place: re-run, or use --executor local to see which file fails"
                ) from exc
