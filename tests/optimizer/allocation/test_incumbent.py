"""Tests of the heuristic incumbent for large MIPs and of the decomposition's move ranking."""

from __future__ import annotations

import time

import numpy as np
import pytest

import optimizer.allocation.solve as alloc
from network.compile import compile_network
from network.scenario import parse_scenario
from optimizer.allocation.baseline import naive_solution
from optimizer.allocation.columns import build_columns
from optimizer.allocation.decompose import aggregate_model, flip_moves, solve_decomposed
from optimizer.allocation.incumbent import greedy_warehouses, heuristic_incumbent
from optimizer.allocation.model import build_allocation_model
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.solve import solve_allocation
from optimizer.plan.evaluate import evaluate
from optimizer.plan.planning import plan_dict
from tests.helpers import random_doc


def _data(seed: int):
    doc = random_doc(np.random.default_rng(700 + seed), n_wh=5, n_zone=5, n_sku=3)
    for n in doc["nodes"]:
        n.pop("storage_m3", None)
    data = compile_network(parse_scenario(doc))
    return data, build_columns(data)


@pytest.mark.parametrize("seed", range(4))
def test_local_search_never_worse_than_greedy_and_feasible(seed: int) -> None:
    """The local search returns a plan no dearer than the greedy set's, no cheaper than the
    MIP optimum, and the evaluator accepts it."""
    data, cols = _data(seed)
    params = AllocationParams(relative_gap=0)
    mip = solve_allocation(data, params, columns=cols)
    m = build_allocation_model(data, params, columns=cols, integer_stock=False)
    W = len(data.warehouses)
    y0 = greedy_warehouses(data, cols, m.lb[:W], m.ub[:W])
    start = solve_allocation(data, params, columns=cols, y_fixed=y0)
    sol, info = heuristic_incumbent(
        data, params, cols, m.lb[:W], m.ub[:W], time.perf_counter() + 30
    )
    if sol is None:
        return  # the greedy set cannot meet the on-time targets
    plan = plan_dict(data, cols, sol, status="feasible", objective=0.0, bound=0.0, solve_seconds=0)
    ev = evaluate(data, plan)
    assert not ev.violations, ev.violations
    assert ev.total <= start.objective * (1 + 1e-9) + 1e-6
    assert ev.total == pytest.approx(info["incumbent_objective"], rel=1e-6)
    assert ev.total >= mip.objective * (1 - 1e-7) - 1e-6


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("path", ["lagrangian", "local_search"])
def test_incumbent_as_cutoff_keeps_the_optimum(
    seed: int, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the incumbent forced on (threshold 0), the result is still the optimum, by either
    incumbent path (Lagrangian enumeration, or greedy + local search when the dense
    Lagrangian would be too large)."""
    data, cols = _data(seed)
    params = AllocationParams(relative_gap=0, warm_start=False)
    ref = solve_allocation(data, params, columns=cols)
    monkeypatch.setattr(alloc, "INCUMBENT_MIN_VARS", 0)
    if path == "local_search":
        monkeypatch.setattr(alloc, "LAGRANGE_MAX_CELLS", 0)
    got = solve_allocation(data, params, columns=cols)
    reported = got.stats.to_json()
    assert ("incumbent_evals" if path == "local_search" else "lagrange_bound") in reported
    assert got.objective == pytest.approx(ref.objective, rel=1e-7, abs=1e-6)
    assert got.bound <= ref.objective * (1 + 1e-7) + 1e-6


def test_flip_moves_skip_tried_sets_and_are_ranked() -> None:
    data, cols = _data(0)
    from optimizer.allocation.model import default_targets

    agg, _ = aggregate_model(data, cols, default_targets(data, cols))
    W = len(data.warehouses)
    y = np.ones(W)
    tried = {y.astype(bool).tobytes()}
    y1 = y.copy()
    y1[0] = 0.0
    tried.add(y1.astype(bool).tobytes())
    mv = flip_moves(agg, y, AllocationParams(), tried, time.perf_counter() + 30)
    assert all(t[1].astype(bool).tobytes() not in tried for t in mv)
    assert [t[0] for t in mv] == sorted(t[0] for t in mv)


@pytest.mark.parametrize("seed", range(2))
def test_decomposition_never_worse_than_the_aggregate_set(seed: int) -> None:
    data, cols = _data(seed)
    _, hint = naive_solution(data, cols)
    dec = solve_decomposed(data, AllocationParams(time_limit=30), columns=cols, hint=hint)
    assert dec.objective <= dec.stats.extra["fixed_y_aggregate_objective"] * (1 + 1e-9) + 1e-6
