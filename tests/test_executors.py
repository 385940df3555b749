"""Executors: results from worker processes, a dead worker as a clear error, choosing one by name."""

import io
import os
import sys

import pytest

from builder.errors import BroadsheetError, ConfigError
from builder.executors import LocalExecutor, open_executor


def square(x: int) -> int:
    return x * x


def die(_x: int) -> int:
    os._exit(3)


@pytest.mark.parametrize("workers", [1, 2])
def test_every_result_comes_back(workers):
    with LocalExecutor(workers) as pool:
        assert sorted(pool.imap_unordered(square, range(50))) == [i * i for i in range(50)]


def test_a_dead_worker_is_one_clear_error():
    with pytest.raises(BroadsheetError, match="worker process died"), LocalExecutor(2) as pool:
        list(pool.imap_unordered(die, range(3)))


def test_executors_are_chosen_by_name():
    assert isinstance(open_executor("local", 2), LocalExecutor)
    with pytest.raises(ConfigError, match="unknown executor 'spark'"):
        open_executor("spark", 2)
    with pytest.raises(ConfigError, match="--address is for the ray executor"):
        open_executor("local", 2, "127.0.0.1:6379")


def test_ray_without_the_extra_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'broadsheet\[ray\]'"):
        open_executor("ray", 1)


def test_the_command_line_executor_wins_over_the_configs_ray_address(tmp_path):
    from builder.build import build
    from builder.config import RunSection
    from builder.progress import Progress
    from tests.support import SEED, TODAY, config, rows, write

    write(tmp_path / "raw" / SEED.name, SEED.read_bytes())
    on_ray = config().model_copy(
        update={"run": RunSection(executor="ray", address="127.0.0.1:1")}  # never reached
    )
    quiet = Progress(0, io.StringIO())
    report = build(
        on_ray, tmp_path / "raw", tmp_path / "dist", today=TODAY, progress=quiet, executor="local"
    )
    assert len(rows(report.out)) == 1
