"""A small file's items, held until the file is known not to have changed while it was read.

A unit of small files reads each one whole and checks it before any of its records goes on
(`builder.reading.unit`). Small on disk is not small in records: 3 KB of gzip can hold a million
lines. Past HELD_ITEMS, the items wait in an anonymous temporary file, pickled in blocks, so a
unit's memory does not grow with the records of one file.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from builder.records import ReadItem

HELD_ITEMS = 20_000  # items kept in memory; the rest go to disk
BLOCK_ITEMS = 2_000  # items pickled (and read back) at once


class Held:
    """The items of an iterable, read once; iterated (any number of times) in their order."""

    def __init__(self, items: Iterable[ReadItem]):
        self._memory: list[ReadItem] = []
        self._disk: IO[bytes] | None = None
        self._count = 0
        block: list[ReadItem] = []
        for item in items:
            self._count += 1
            if self._disk is None and len(self._memory) < HELD_ITEMS:
                self._memory.append(item)
                continue
            block.append(item)
            if len(block) == BLOCK_ITEMS:
                self._spill(block)
                block = []
        if block:
            self._spill(block)

    def _spill(self, block: list[ReadItem]) -> None:
        if self._disk is None:
            self._disk = tempfile.TemporaryFile()  # noqa: SIM115 (removed with this object)
        pickle.dump(block, self._disk, protocol=pickle.HIGHEST_PROTOCOL)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[ReadItem]:
        yield from self._memory
        if self._disk is not None:
            self._disk.seek(0)
            for _ in range(-(-(self._count - len(self._memory)) // BLOCK_ITEMS)):
                yield from pickle.load(self._disk)  # noqa: S301 (written by this process)
