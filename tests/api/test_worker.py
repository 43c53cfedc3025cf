"""Pieces of the job runner that need no server: solver loading, results, isolated runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from api.worker import SolverUnavailableError, _jsonable, resolve, run_isolated


def test_results_are_made_storable() -> None:
    """numpy scalars and arrays become JSON numbers and lists; NaN and inf become null."""
    out = _jsonable(
        {
            "a": np.float64(1.5),
            "b": np.arange(3),
            "c": [math.inf, math.nan, 2.0],
            "d": {"e": np.int64(4)},
        }
    )
    assert out == {"a": 1.5, "b": [0, 1, 2], "c": [None, None, 2.0], "d": {"e": 4}}


def test_every_non_finite_number_becomes_null_at_any_depth() -> None:
    """NaN, inf and -inf (floats, numpy scalars, inside numpy arrays) become null wherever
    they sit, and the strings "NaN" and "Infinity" stay strings."""
    out = _jsonable(
        {
            "x": [{"y": -math.inf, "z": [np.float64("nan"), np.array([1.0, -np.inf])]}],
            "s": ["NaN", "Infinity", "-Infinity"],
            "n": np.float32(0.5),
        }
    )
    assert out == {
        "x": [{"y": None, "z": [None, [1.0, None]]}],
        "s": ["NaN", "Infinity", "-Infinity"],
        "n": 0.5,
    }


@pytest.mark.parametrize(
    "path",
    [
        "api.worker:nope",  # no such function
        "no_such_module_xyz:f",  # no such module
        "api.worker:PRELOAD",  # not callable
    ],
)
def test_resolve_names_the_bad_solver(path: str) -> None:
    """A bad TRADELANE_SOLVER path is a ValueError naming it."""
    with pytest.raises(ValueError, match=path.split(":", maxsplit=1)[0]):
        resolve(path)


def test_run_isolated_maps_outcomes() -> None:
    """An isolated run returns the result, raises the solver's error or 'unavailable'."""
    sc = {"name": "x", "nodes": [], "demand": [{"sku": "k", "units": 2}]}
    assert (
        run_isolated("tests.api.solvers:fake_plan", {"scenario": sc}, time_limit_s=1, timeout_s=60)[
            "objective"
        ]
        == 2
    )
    with pytest.raises(RuntimeError, match="ValueError: boom"):
        run_isolated(
            "tests.api.solvers:fake_plan",
            {"scenario": {**sc, "x_test": {"fail": "boom"}}},
            time_limit_s=1,
            timeout_s=60,
        )
    with pytest.raises(SolverUnavailableError, match="not available"):
        run_isolated(
            "tests.api.solvers:unavailable", {"scenario": sc}, time_limit_s=1, timeout_s=60
        )
    with pytest.raises(TimeoutError):
        run_isolated(
            "tests.api.solvers:fake_plan",
            {"scenario": {**sc, "x_test": {"sleep_s": 30}}},
            time_limit_s=1,
            timeout_s=1,
        )


# slow (16 s, a LocalCluster started for one job): `make test-all` runs it; CI keeps the
# optimizer-level Dask test (test_blocks.py::test_dask_local_cluster_gives_the_same_plan).
@pytest.mark.slow
def test_service_solves_send_their_sku_blocks_to_the_dask_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With ``TRADELANE_DASK_ADDRESS`` set (as ``tradelane serve`` passes its environment to
    its solver processes), a plan job's SKU blocks run on that cluster: same objective as in
    process, and the plan's notes name the Dask workers."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    import optimizer.allocation.blocks as blocks
    import optimizer.plan.planning as planning
    from api.worker import plan_job
    from optimizer.executor import DASK_ENV
    from tests.helpers import random_doc

    doc = random_doc(np.random.default_rng(7), n_sku=4, n_zone=3, n_wh=3)
    monkeypatch.setattr(planning, "BLOCK_MIN_SKUS", 2)  # auto takes the block path here
    monkeypatch.setattr(blocks, "BLOCK_SKUS", 1)
    monkeypatch.delenv(DASK_ENV, raising=False)
    local = plan_job({"scenario": doc}, time_limit_s=60)
    assert local["strategy"] == "blocks" and not any("dask" in n for n in local["notes"])
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    try:
        monkeypatch.setenv(DASK_ENV, cluster.scheduler_address)
        remote = plan_job({"scenario": doc}, time_limit_s=60)
    finally:
        cluster.close()
    assert remote["strategy"] == "blocks"
    assert any("dask" in n for n in remote["notes"]), remote["notes"]
    assert remote["objective"] == pytest.approx(local["objective"], rel=1e-6)
