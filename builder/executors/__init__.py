"""Executors run a build's tasks: worker processes here, or a Ray cluster. Both give the same bytes.

An executor is a context manager with `workers` (how many tasks run at once) and
`imap_unordered(fn, items)`, which yields results in completion order; the build sorts them
by the index each result carries, so the release never depends on which executor ran it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, Self, TypeVar, get_args

from builder.config import ExecutorName
from builder.errors import ConfigError
from builder.executors.local import LocalExecutor, default_workers

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = get_args(ExecutorName)


class Executor(Protocol):
    workers: int

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None: ...

    def imap_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]: ...


def open_executor(name: str, workers: int, address: str | None = None) -> Executor:
    """The executor called `name`: 'local' with `workers` processes, or 'ray' at `address`."""
    if name == "local":
        if address:
            raise ConfigError(
                "--address is for the ray executor; the local one runs on this machine"
            )
        return LocalExecutor(workers)
    if name == "ray":
        from builder.executors.ray import RayExecutor

        return RayExecutor(address)
    raise ConfigError(f"unknown executor {name!r}: choose one of {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "default_workers", "open_executor"]
