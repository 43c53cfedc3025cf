"""The allocation model with tonight's inventory, transfer lanes and returns against an
independent brute force (tests/brute_state.py: every warehouse set, each an LP written from the
scenario document with a time-expanded stock balance; no code shared with the optimiser), also
with storage capacities that tonight's stock left on the shelves shares with the stocking
levels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.compile import compile_network
from network.scenario import parse_scenario
from optimizer.allocation.columns import build_columns
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.state_bound import solve_state_decomposed
from optimizer.plan.planning import plan_scenario
from tests.brute_state import brute_force, tiny_state_doc
from tests.helpers import evaluated_result


def _check(seed: int) -> None:
    doc = tiny_state_doc(np.random.default_rng(seed))
    best, _ = brute_force(doc)
    assert math.isfinite(best)
    s = parse_scenario(doc)
    out = plan_scenario(s, AllocationParams(relative_gap=0, strategy="monolithic", time_limit=60))
    p = out.plan.to_json()
    assert p["status"] == "optimal"
    assert out.evaluation is not None and out.evaluation.feasible
    assert p["objective"] == pytest.approx(best, rel=1e-7, abs=1e-5)
    # the large-model path's bound (optimizer.allocation.state_bound) is never above it; 10 s:
    # its rounds stop improving within 2 s here (a 30-s limit spent 11.6 s of idle rounds)
    data = compile_network(s)
    res = solve_state_decomposed(
        data, AllocationParams(relative_gap=0, time_limit=10), columns=build_columns(data)
    )
    assert res.bound <= best + 1e-6 * max(1.0, abs(best))
    assert res.objective >= best - 1e-6 * max(1.0, abs(best))


@pytest.mark.parametrize("seed", range(10))
def test_mip_matches_independent_brute_force(seed: int) -> None:
    """Seeded tiny instances: the planner's proven optimum is the brute force's."""
    _check(seed)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(1000, 2**31 - 1))
def test_mip_matches_independent_brute_force_on_random_networks(seed: int) -> None:
    _check(seed)


def _check_storage(seed: int) -> None:
    doc = tiny_state_doc(np.random.default_rng(seed), storage=True)
    best, _ = brute_force(doc)
    assert math.isfinite(best)
    tol = 1e-6 * max(1.0, abs(best))
    s = parse_scenario(doc)
    out = plan_scenario(s, AllocationParams(relative_gap=0, strategy="monolithic", time_limit=60))
    p = out.plan.to_json()
    assert out.evaluation is not None and out.evaluation.feasible, out.evaluation.violations
    # integer stocking levels at a full warehouse: the plan may come from the storage-margin
    # restriction (status feasible), never below the optimum, its bound never above it
    assert p["status"] in ("optimal", "feasible")
    assert p["objective"] >= best - tol
    assert p["bound"] <= best + tol
    if p["status"] == "optimal":
        assert p["objective"] == pytest.approx(best, rel=1e-7, abs=1e-5)
    data = compile_network(s)
    res = solve_state_decomposed(
        data, AllocationParams(relative_gap=0, time_limit=10), columns=build_columns(data)
    )
    assert res.solution is not None
    assert res.bound <= best + tol
    assert res.objective >= best - tol
    evaluated_result(data, res)  # feasible by the evaluator


@pytest.mark.parametrize("seed", [*range(10), 12, 18, 21, 28, 20348])
def test_mip_matches_brute_force_with_storage(seed: int) -> None:
    """Seeded tiny instances with storage capacities (some warehouses overfull with tonight's
    lots alone): the planner's and the state path's plans pass the evaluator, neither costs
    less than the brute force's optimum nor bounds above it, and a plan proven optimal costs
    exactly the optimum. (On seeds 6, 12, 18, 21 and 28 a model that left tonight's stock
    out of the storage planned below the optimum; on seed 20348, found by the random-seed
    test below, the state path's LP had no room for its storage margin and gave no plan.)"""
    _check_storage(seed)


@pytest.mark.parametrize("seed", [5, 8, 31, 52, 56])
def test_full_warehouses_with_tonights_stock_are_planned_optimally(seed: int) -> None:
    """Where rounding the stocking levels up overflows a warehouse that tonight's stock nearly
    fills, the plan of the storage-margin restriction is polished by the exact model (integer
    levels): proven optimal at the brute force's optimum. (It came back ``feasible``, 0.4-4.6 %
    above the optimum, in 0.02 s of a 60-s limit.)"""
    doc = tiny_state_doc(np.random.default_rng(seed), storage=True)
    best, _ = brute_force(doc)
    out = plan_scenario(
        parse_scenario(doc),
        AllocationParams(relative_gap=0, strategy="monolithic", time_limit=60),
    )
    p = out.plan.to_json()
    assert out.evaluation is not None and out.evaluation.feasible
    assert p["status"] == "optimal", p["notes"]
    assert p["objective"] == pytest.approx(best, rel=1e-7, abs=1e-5)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(1000, 2**31 - 1))
def test_mip_matches_brute_force_with_storage_on_random_networks(seed: int) -> None:
    """As above on random seeds."""
    _check_storage(seed)
