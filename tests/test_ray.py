"""The Ray executor on a real two-node Ray cluster on 127.0.0.1: the same release as a local build."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.support import ENGLISH, ITALIAN, cli, jsonl, make_config, seed_text, shard_bytes, write
from tests.test_near import wire_corpus
from tests.test_web import article

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray", reason="the ray extra is not installed")

RAY = Path(sys.executable).with_name("ray")
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DISABLE_DOCKER_CPU_WARNING": "1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes_of(marker: str) -> dict[int, int]:
    """{pid: process group} of live processes whose command line names `marker` (our temp dir)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if marker in cmdline and fields[0] != "Z":
            found[int(entry.name)] = int(fields[2])
    return found


def _stop(marker: str) -> None:
    """SIGTERM, then SIGKILL, every process the cluster started (and their groups); bounded."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid, group in _processes_of(marker).items():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if group == os.getpgid(0):  # never signal the test run's own group
                    os.kill(pid, sig)
                else:
                    os.killpg(group, sig)
        deadline = time.monotonic() + 10
        while _processes_of(marker) and time.monotonic() < deadline:
            time.sleep(0.2)


@pytest.fixture(scope="module")
def ray_cluster():
    """A head node and one more node, one CPU each, on 127.0.0.1; stopped even when tests fail."""
    temp = tempfile.mkdtemp(prefix="bsray-")  # short: Ray's socket paths must fit in 107 bytes
    port = _free_port()
    # Ray keeps an auth token in ~/.ray once any local instance ran; a home of its own keeps the
    # cluster and the build from reading a stale one (then nodes refuse each other).
    ray_env = {**RAY_ENV, "HOME": temp}
    env = {**os.environ, **ray_env}
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--disable-usage-stats"]
    common += ["--object-store-memory", str(200 * 1024 * 1024), "--temp-dir", temp]
    try:
        for args in (
            ["--head", "--port", str(port), "--include-dashboard", "false"],
            ["--address", f"127.0.0.1:{port}"],
        ):
            started = subprocess.run(
                [str(RAY), "start", *args, *common],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                start_new_session=True,  # its daemons get a process group of their own
                check=False,
            )
            assert started.returncode == 0, started.stderr[-2000:]
        yield f"127.0.0.1:{port}", temp, ray_env
    finally:
        _stop(temp)
        shutil.rmtree(temp, ignore_errors=True)


def _articles(raw: Path, count: int) -> None:
    """`count` articles in JSON Lines and seed text, with duplicates and rejects mixed in."""
    for f in range(count // 250):
        records = [
            {
                "maintext": f"{ITALIAN if j % 2 else ENGLISH} Articolo {f}-{j}.",
                "date_publish": f"2021-{1 + f % 12:02d}-{1 + j % 28:02d}",
                "url": f"https://ray.example/{f}/{j}",
            }
            for j in range(240)
        ]
        records += [records[0], {"maintext": "short"}]
        write(raw / f"crawl-{f:02d}.jsonl", jsonl(records))
        for j in range(8):
            write(raw / f"text-{f:02d}-{j}.txt", seed_text("2020-05", f"{ENGLISH} Testo {f} {j}."))
    for j in range(4):
        write(raw / f"page-{j}.html", article([f"{ITALIAN} Pagina {j}.", ITALIAN]))
    # Seconds of trafilatura's work: over the time limit on every executor (Ray tasks run in
    # their worker's main thread, where the limit's signal arrives).
    many = "".join(f"<div><p>{ENGLISH} {i}</p><span>{i}</span></div>" for i in range(20_000))
    write(raw / "slow.html", article([], title="Slow").replace("<article>", f"<article>{many}"))


def test_a_ray_cluster_build_is_byte_identical_to_a_local_one(ray_cluster, tmp_path):
    address, temp, ray_env = ray_cluster
    _articles(tmp_path / "raw", 3000)
    config = make_config(tmp_path)
    config.write_text(
        config.read_text() + "extraction_timeout = 1.0\n"
    )  # near-duplicates on, marking, as by default
    wire_corpus(tmp_path / "raw" / "wire")  # reprinted stories: the near-duplicate stage on Ray
    local = cli("build", "--out", "local", "--workers", "2", cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    on_ray = cli(
        "build",
        "--out",
        "ray",
        "--executor",
        "ray",
        "--address",
        address,
        cwd=tmp_path,
        env_extra=ray_env,
        timeout=600,
    )
    assert on_ray.returncode == 0, on_ray.stderr[-3000:]
    raylets = [p for p in _processes_of(temp) if "raylet/raylet" in _cmd(p)]
    assert len(raylets) == 2  # the build ran on a cluster of two nodes
    assert shard_bytes(tmp_path / "ray") == shard_bytes(tmp_path / "local")
    for name in ("manifest.json", "README.md", "article.schema.json", "articles_per_month.png"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    accounting = on_ray.stdout.split("\n\n")[0]  # the step table after it has timings
    assert accounting == local.stdout.split("\n\n")[0] and "check" in accounting
    assert re.search(r"\n  extraction_timeout +1\n", accounting)
    marked = pq.read_table(tmp_path / "ray" / "data", columns=["cluster_id"])["cluster_id"]
    assert marked.null_count < len(marked)  # the reprints' clusters, marked on Ray


def test_a_ray_build_from_the_cache_is_byte_identical_to_one_without(ray_cluster, tmp_path):
    """The cache on Ray: a second build reuses every unit the first stored, on the cluster's
    workers, and both releases are the bytes of a local build that used no cache."""
    address, _, ray_env = ray_cluster
    _articles(tmp_path / "raw", 1000)
    make_config(tmp_path)
    ray_args = ["--executor", "ray", "--address", address]
    runs = {}
    for name, args in (
        ("first", ["--out", "ray", *ray_args]),
        ("cached", ["--out", "ray", *ray_args]),
        ("clean", ["--out", "clean", "--no-cache", "--workers", "2"]),
    ):
        runs[name] = cli("build", *args, cwd=tmp_path, env_extra=ray_env, timeout=600)
        assert runs[name].returncode == 0, runs[name].stderr[-3000:]
        if name != "clean":
            shutil.copytree(tmp_path / "ray", tmp_path / name)
    (line,) = [x for x in runs["cached"].stderr.splitlines() if x.startswith("cache:")]
    assert re.match(r"cache: [1-9]\d* unit\(s\) reused, 0 computed", line), line
    for name in ("first", "cached"):
        assert shard_bytes(tmp_path / name) == shard_bytes(tmp_path / "clean")
        assert (tmp_path / name / "manifest.json").read_bytes() == (
            tmp_path / "clean" / "manifest.json"
        ).read_bytes()


def _cmd(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""
