"""Tests of ``optimizer.executor``: inline, local processes and a Dask cluster run the same
tasks to the same results."""

from __future__ import annotations

import pytest

from optimizer.executor import InlineExecutor, make_executor


def _square(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative {x}")
    return x * x


def test_inline_executor_returns_results_and_errors() -> None:
    ex = make_executor(1)
    assert isinstance(ex, InlineExecutor)
    assert [f.result() for f in [ex.submit(_square, k) for k in range(4)]] == [0, 1, 4, 9]
    with pytest.raises(ValueError, match="negative -1"):
        ex.submit(_square, -1).result()


def test_process_pool_gives_the_inline_results() -> None:
    with make_executor(2) as ex:
        assert list(ex.map(_square, range(6))) == [k * k for k in range(6)]


def test_dask_cluster_gives_the_inline_results() -> None:
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        make_executor(address=cluster.scheduler_address) as ex,
    ):
        assert [ex.submit(_square, k).result() for k in range(4)] == [0, 1, 4, 9]
