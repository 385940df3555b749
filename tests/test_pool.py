"""The worker pool: results from worker processes, and a dead worker as a clear error."""

import os

import pytest

from builder.errors import BroadsheetError
from builder.pool import LocalPool


def square(x: int) -> int:
    return x * x


def die(_x: int) -> int:
    os._exit(3)


@pytest.mark.parametrize("workers", [1, 2])
def test_every_result_comes_back(workers):
    with LocalPool(workers) as pool:
        assert sorted(pool.imap_unordered(square, range(50))) == [i * i for i in range(50)]


def test_a_dead_worker_is_one_clear_error():
    with pytest.raises(BroadsheetError, match="worker process died"), LocalPool(2) as pool:
        list(pool.imap_unordered(die, range(3)))
