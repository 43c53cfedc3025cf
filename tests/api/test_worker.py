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
