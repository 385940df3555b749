"""A work unit's results taken from the build cache, or put into it once computed.

A unit's key is a sha256 over what every unit of the build shares (`UnitTask.salt`: the settings
that can change a row, and the fingerprint of the builder's code and libraries) and, for each of
its pieces, the file's name, the range read and the sha256 of its bytes: a range's as the planner
hashed it, a whole file's read here first (reading is cheap next to what a unit does with it).
The key names the unit's work files too, so that reused files need no renaming.

A unit is stored only when every file it read was read whole and unchanged, with the bytes its
key was made of. One whose outcome the build day changed (a date in the future) is reused only on
the same day. The counters come back as they were stored; only their seconds are not those of
this build.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict
from typing import Any

from builder.accounting import StepCounters
from builder.cache import CacheDamaged
from builder.inputs.discover import SkippedFile
from builder.inputs.files import open_source
from builder.readers import reader_for
from builder.reading.plan import Piece
from builder.reading.result import FileResult, UnitResult, UnitTask
from builder.stages.base import KeyFile
from builder.stages.driver import rebucket

KIND = "units"


def piece_digests(pieces: list[Piece]) -> list[tuple[str, int, int | None, str]] | None:
    """Per piece: (name, start, stop, sha256 of its bytes or why it is not read); None when a
    file cannot be opened or changes while it is hashed (such a unit is not cached)."""
    out = []
    for piece in pieces:
        source = piece.source
        if piece.planned is not None:
            out.append((source.rel, piece.start, piece.stop, piece.planned.sha256))
            continue
        if source.skip is not None or reader_for(source) is None:
            out.append((source.rel, 0, None, f"skipped: {source.skip or 'not an input format'}"))
            continue
        try:
            with open_source(source) as raw:
                if raw.finish() is not None:
                    return None
                out.append((source.rel, 0, None, raw.sha256))
        except SkippedFile as exc:
            out.append((source.rel, 0, None, f"skipped: {exc.kind}"))
        except OSError:
            return None
    return out


def unit_key(salt: str, digests: list[tuple[str, int, int | None, str]]) -> str:
    return hashlib.sha256(json.dumps([salt, digests]).encode()).hexdigest()


def restore(task: UnitTask, key: str) -> UnitResult | None:
    """The unit's results from the cache, its files copied into the work storage; None when
    there is no usable entry. CacheDamaged when the entry is not what it says (it is removed)."""
    assert task.cache is not None
    entry = task.cache.get(KIND, key)
    if entry is None:
        return None
    meta = entry.meta
    if meta["day_dependent"] and meta["today"] != task.today.isoformat():
        return None  # the build day changed its outcome: compute it again, for today
    copied = []
    try:
        for name in sorted(entry.files):
            task.cache.copy_out(entry, name, task.work, name)
            copied.append(name)
    except CacheDamaged:
        for name in copied:
            task.work.remove(name)
        task.cache.discard(KIND, key)
        raise
    task.cache.touch(entry)
    result = _result(task.index, meta)
    if result.keys is not None:
        result.keys = rebucket(task.work, result.keys, task.buckets, task.settings)
    result.cache = "reused"
    return result


def store(task: UnitTask, key: str, result: UnitResult, digests: list) -> None:
    """Put a computed unit into the cache, when what it read is what its key says."""
    assert task.cache is not None
    read = {rel: sha for rel, _, _, sha in digests}
    for file in result.files:
        if file.change is not None or (file.supported and read.get(file.rel) != file.sha256):
            return  # a file changed between its hashing and its reading: not this key's result
    names = [*result.parts, *filter(None, [result.rejects_part])]
    if result.keys is not None:
        names.append(result.keys.rel)
    meta = _meta(task, result)
    task.cache.discard(KIND, key)  # a stale entry of another day, or a damaged one
    task.cache.put(KIND, key, {name: (task.work, name) for name in names}, meta)


def _meta(task: UnitTask, result: UnitResult) -> dict[str, Any]:
    return {
        "files": [asdict(f) for f in result.files],
        "parts": result.parts,
        "rejects_part": result.rejects_part,
        "keys": asdict(result.keys) if result.keys is not None else None,
        "steps": [
            {
                "name": c.name,
                "rows_in": c.rows_in,
                "rows_out": c.rows_out,
                "rejects": dict(c.rejects),
                "counts": dict(c.counts),
            }
            for c in result.steps
        ],
        "day_dependent": result.day_dependent,
        "today": task.today.isoformat(),
    }


def _result(index: int, meta: dict[str, Any]) -> UnitResult:
    keys = meta["keys"]
    return UnitResult(
        index,
        files=[FileResult(**f) for f in meta["files"]],
        parts=dict(meta["parts"]),
        rejects_part=meta["rejects_part"],
        keys=KeyFile(keys["rel"], tuple(keys["groups"]), keys["buckets"]) if keys else None,
        steps=[
            StepCounters(
                c["name"],
                c["rows_in"],
                c["rows_out"],
                Counter(c["rejects"]),
                0.0,
                Counter(c["counts"]),
            )
            for c in meta["steps"]
        ],
        day_dependent=meta["day_dependent"],
    )
