"""The build cache: a build computes only what changed, a killed build run again redoes only the
units that were in flight, and every release is byte-identical to a build without the cache."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from builder.build import build
from builder.cache import MARKER
from builder.config import RunSection
from builder.errors import ConfigError
from tests.support import (
    ENGLISH,
    ITALIAN,
    ITALIAN_WORDS,
    KIB,
    ROOT,
    TODAY,
    config,
    jsonl,
    make_config,
    quiet_progress,
    release_files,
    rows,
    write,
)

UNIT = 4 * KIB  # small work units: each month's file below is a unit of its own, or several


def month_file(raw: Path, month: int, count: int = 12) -> Path:
    """A JSON Lines file of `count` distinct articles dated in 2021-`month`."""
    records = [
        {
            "maintext": f"{ITALIAN} {' '.join(ITALIAN_WORDS[(i + month) % 15 :])} {month} {i}",
            "url": f"https://news.example/{month}/{i}",
            "date_publish": f"2021-{month:02d}-{1 + i % 28:02d}",
        }
        for i in range(count)
    ]
    return write(raw / f"2021-{month:02d}.jsonl", jsonl(records))


def cached_build(
    raw: Path,
    out: Path,
    *,
    folder: Path | None = None,
    min_words: int = 5,
    today: dt.date = TODAY,
    cache: bool = True,
):
    """A build with small units; `folder` is run.cache (None: the default, beside `out`)."""
    run = {"unit_bytes": UNIT} | ({"cache": str(folder)} if folder else {})
    cfg = config(min_words).model_copy(update={"run": RunSection(**run)})
    return build(cfg, raw, out, today=today, progress=quiet_progress(), cache=cache)


def test_a_second_build_reuses_every_unit_and_partition_and_makes_the_same_bytes(tmp_path):
    raw = tmp_path / "raw"
    for month in (1, 2, 3):
        month_file(raw, month)
    first = cached_build(raw, tmp_path / "dist")
    assert first.cache.reused == 0 and first.cache.computed >= 3
    second = cached_build(raw, tmp_path / "dist")
    assert (second.cache.reused, second.cache.computed) == (first.cache.computed, 0)
    assert second.cache.partitions_written == 0 and second.cache.partitions_reused >= 3
    clean = cached_build(raw, tmp_path / "clean", cache=False)
    assert clean.cache is None
    assert release_files(second.out) == release_files(clean.out)


def test_a_new_month_costs_only_itself(tmp_path):
    raw = tmp_path / "raw"
    for month in range(1, 7):
        month_file(raw, month)
    before = cached_build(raw, tmp_path / "dist")
    month_file(raw, 7)
    after = cached_build(raw, tmp_path / "dist")
    assert after.cache.reused == before.cache.computed
    assert 1 <= after.cache.computed <= 3  # the new file's units only
    assert after.cache.partitions_written == 1  # data/it/2021-07: the others' rows are the same
    clean = cached_build(raw, tmp_path / "clean", cache=False)
    assert release_files(after.out) == release_files(clean.out)


def test_a_changed_file_is_computed_again_alone(tmp_path):
    raw = tmp_path / "raw"
    paths = [month_file(raw, month) for month in (1, 2, 3)]
    before = cached_build(raw, tmp_path / "dist")
    paths[1].write_text(paths[1].read_text().replace("consiglio", "comitato"))
    after = cached_build(raw, tmp_path / "dist")
    assert after.cache.computed >= 1 and after.cache.reused >= before.cache.computed - 2
    assert after.cache.partitions_written == 1
    clean = cached_build(raw, tmp_path / "clean", cache=False)
    assert release_files(after.out) == release_files(clean.out)


def test_a_setting_that_can_change_a_row_computes_every_unit_again(tmp_path):
    raw = tmp_path / "raw"
    for month in (1, 2):
        month_file(raw, month)
    before = cached_build(raw, tmp_path / "dist", min_words=5)
    after = cached_build(raw, tmp_path / "dist", min_words=6)
    assert (after.cache.reused, after.cache.computed) == (0, before.cache.computed)
    again = cached_build(raw, tmp_path / "dist", min_words=5)  # both kept, side by side
    assert (again.cache.reused, again.cache.computed) == (before.cache.computed, 0)


def test_a_damaged_entry_is_computed_again_counted_and_never_published(tmp_path):
    raw = tmp_path / "raw"
    month_file(raw, 1)
    cache = tmp_path / "cache"
    cached_build(raw, tmp_path / "dist", folder=cache)
    (part,) = [p for p in (cache / "units").rglob("*.arrow") if "/parts/" in p.as_posix()][:1]
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    part.write_bytes(bytes(data))
    again = cached_build(raw, tmp_path / "dist", folder=cache)
    assert again.cache.damaged == 1 and again.cache.computed == 1
    clean = cached_build(raw, tmp_path / "clean", cache=False)
    assert release_files(again.out) == release_files(clean.out)
    third = cached_build(raw, tmp_path / "dist", folder=cache)  # stored again, whole
    assert (third.cache.reused, third.cache.computed, third.cache.damaged) == (
        again.cache.reused + again.cache.computed,
        0,
        0,
    )


def test_eviction_removes_the_least_recently_used_and_never_the_builds_own(tmp_path):
    cache = tmp_path / "cache"
    old, new = tmp_path / "old", tmp_path / "new"
    for month in (1, 2, 4, 5):
        month_file(old, month, count=300)
    month_file(new, 3, count=60)
    first = cached_build(old, tmp_path / "dist-old", folder=cache)
    assert first.cache.size > 1 << 20  # more than the bound below
    used = {p.parent.name: float(p.read_text()) for p in cache.rglob("used")}
    cfg = config(5).model_copy(
        update={"run": RunSection(unit_bytes=UNIT, cache=str(cache), cache_max_bytes=1 << 20)}
    )
    report = build(cfg, new, tmp_path / "dist-new", today=TODAY, progress=quiet_progress())
    after = {p.parent.name for p in cache.rglob("entry.json")}
    evicted, kept = set(used) - after, set(used) & after
    assert report.cache.size <= 1 << 20 and report.cache.evicted == len(evicted) >= 1
    assert max(used[name] for name in evicted) <= min(used[name] for name in kept)
    assert len(after - set(used)) == report.cache.computed + report.cache.partitions_written


def test_a_unit_the_build_day_decided_is_reused_on_that_day_only(tmp_path):
    raw = tmp_path / "raw"
    month_file(raw, 1)
    future = {"maintext": ENGLISH, "url": "https://news.example/soon", "date_publish": "2026-12-20"}
    write(raw / "soon.jsonl", jsonl([future]))
    first = cached_build(raw, tmp_path / "dist")
    assert not [r for r in rows(first.out) if r["url"].endswith("/soon")]  # after the build day
    same_day = cached_build(raw, tmp_path / "dist")
    assert same_day.cache.computed == 0
    later = cached_build(raw, tmp_path / "dist", today=dt.date(2027, 1, 5))
    assert later.cache.computed == 1 and later.cache.reused == first.cache.computed - 1
    assert [r for r in rows(later.out) if r["url"].endswith("/soon")]  # published now
    clean = cached_build(raw, tmp_path / "clean", cache=False, today=dt.date(2027, 1, 5))
    assert release_files(later.out) == release_files(clean.out)


def test_a_folder_that_is_not_a_cache_is_never_written_into(tmp_path):
    raw = tmp_path / "raw"
    month_file(raw, 1)
    theirs = tmp_path / "photos"
    write(theirs / "holiday.jpg", b"\xff\xd8\xff")
    with pytest.raises(ConfigError, match=r"not a Broadsheet cache .* not empty"):
        cached_build(raw, tmp_path / "dist", folder=theirs)
    assert sorted(p.name for p in theirs.iterdir()) == ["holiday.jpg"]
    assert not (tmp_path / "dist").exists()


def test_a_cache_inside_the_input_is_refused(tmp_path):
    raw = tmp_path / "raw"
    month_file(raw, 1)
    with pytest.raises(ConfigError, match="inside"):
        cached_build(raw, tmp_path / "dist", folder=raw / "cache")


def test_the_default_cache_sits_beside_the_release_and_is_marked(tmp_path):
    raw = tmp_path / "raw"
    month_file(raw, 1)
    cached_build(raw, tmp_path / "dist")
    marker = json.loads((tmp_path / ".dist.cache" / MARKER).read_text())
    assert marker["generator"] == "broadsheet"


@pytest.mark.slow
def test_a_killed_build_run_again_redoes_only_the_units_in_flight(tmp_path):
    """SIGKILL once some units are in the cache; the next build reuses them, and its release is
    the bytes of a build that was never stopped."""
    raw = tmp_path / "raw"
    for month in range(1, 13):
        month_file(raw, month, count=40)
    project = tmp_path / "project"
    project.mkdir()
    make_config(project)
    with open(project / "dataset.toml", "a") as f:
        f.write(f"\n[run]\nunit_bytes = {UNIT}\n")
    args = [sys.executable, "-m", "builder", "build", "--raw", str(raw), "--workers", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.Popen(
        args, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    entries = project / ".dist.cache" / "units"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and killed.poll() is None:
        if len(list(entries.rglob("entry.json"))) >= 3:
            break
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(30)
    stored = len(list(entries.rglob("entry.json")))
    assert stored >= 3
    rerun = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    (line,) = [line for line in rerun.stderr.splitlines() if line.startswith("cache:")]
    reused = int(line.split()[1])
    assert reused >= stored - 1  # at most the one being stored when it was killed
    clean = subprocess.run(
        [*args, "--out", str(tmp_path / "clean"), "--no-cache"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert clean.returncode == 0, clean.stderr
    assert release_files(project / "dist") == release_files(tmp_path / "clean")
