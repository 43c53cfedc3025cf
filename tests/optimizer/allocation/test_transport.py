"""Tests of the min-cost-flow pricing of warehouse sets and the equal-capacity knapsack."""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import optimizer.allocation.solve as alloc
from network.compile import compile_network
from network.scenario import parse_scenario
from optimizer.allocation.columns import build_columns
from optimizer.allocation.incumbent import heuristic_incumbent
from optimizer.allocation.lagrange import _knapsack
from optimizer.allocation.model import build_allocation_model, default_targets
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import Status
from optimizer.allocation.solve import solve_allocation
from optimizer.allocation.transport import TransportPricer
from tests.helpers import random_doc

DATA = Path(__file__).resolve().parents[2] / "data"


def _cflp_doc(seed: int, n_wh: int = 4, n_zone: int = 5) -> dict:
    """A random one-SKU network without storage, lane capacities or on-time target."""
    doc = random_doc(np.random.default_rng(900 + seed), n_wh=n_wh, n_zone=n_zone, n_sku=1)
    for n in doc["nodes"]:
        n.pop("storage_m3", None)
    for ln in doc["lanes"]:
        ln.pop("capacity_kg_per_day", None)
    doc["service"]["min_on_time_share"] = 0.0
    return doc


def _pricer(doc: dict):
    data = compile_network(parse_scenario(doc))
    cols = build_columns(data)
    return data, cols, TransportPricer.build(data, cols, default_targets(data, cols))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_flow_price_equals_the_fixed_warehouse_solve(seed: int) -> None:
    """For every warehouse set of a random one-SKU network, the min-cost flow's cost equals the
    generic fixed-y solve's objective, and its lower bound is below both."""
    data, cols, pricer = _pricer(_cflp_doc(seed))
    # a few seeds (1319, 1577) draw no demand at all: nothing to price, no pricer is built
    assume(float(cols.p_dem.sum()) > 0)
    assert pricer is not None
    params = AllocationParams(relative_gap=0)
    W = len(data.warehouses)
    for bits in itertools.product((0.0, 1.0), repeat=W):
        y = np.array(bits)
        cost, low = pricer.price(y)
        r = solve_allocation(data, params, columns=cols, y_fixed=y)
        assert r.solution is not None
        assert cost == pytest.approx(r.objective, rel=1e-9, abs=1e-6)
        assert low <= r.objective + 1e-9 * abs(r.objective)


def test_flow_solve_returns_the_flows_it_prices() -> None:
    """The outbound flows returned reproduce the cost with the direct and lost units, serve no
    more than each pair's demand and use open warehouses only."""
    data, cols, pricer = _pricer(_cflp_doc(3, n_wh=5, n_zone=6))
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    cost, low, x = pricer.solve(y)
    assert low <= cost
    assert np.all(x[~(y[pricer.x_wh] > 0.5)] == 0)
    served = np.bincount(pricer.x_pair, weights=x, minlength=len(cols.p_dem))
    assert np.all(served <= cols.p_dem + 1e-9)
    assert cost >= float(data.wh_fixed_cost @ y) + float(x @ pricer.x_cost) - 1e-6


@pytest.mark.parametrize("change", ["two_skus", "storage", "on_time", "lane_capacity"])
def test_no_flow_pricing_when_the_model_is_not_a_transportation_problem(change: str) -> None:
    """Several SKUs, a storage limit, an on-time target or a lane capacity each make the
    fixed-y model more than a min-cost flow: no pricer is built."""
    doc = _cflp_doc(1)
    if change == "two_skus":
        doc = random_doc(np.random.default_rng(901), n_wh=4, n_zone=5, n_sku=2)
        for n in doc["nodes"]:
            n.pop("storage_m3", None)
        for ln in doc["lanes"]:
            ln.pop("capacity_kg_per_day", None)
        doc["service"]["min_on_time_share"] = 0.0
    elif change == "storage":
        next(n for n in doc["nodes"] if n["kind"] == "warehouse")["storage_m3"] = 3.0
    elif change == "on_time":
        doc["service"]["min_on_time_share"] = 0.5
    else:
        for ln in doc["lanes"]:  # every last-mile lane: some are used whatever the pruning
            if ln["mode"] == "last_mile":
                ln["capacity_units_per_day"] = 5.0
    data = compile_network(parse_scenario(doc))
    cols = build_columns(data)
    targets = default_targets(data, cols)
    if change == "on_time" and not any(v > 0 for v in targets.values()):
        pytest.skip("no path meets the promise in this network: the target is zero")
    assert TransportPricer.build(data, cols, targets) is None


def test_cap41_flow_price_of_the_optimal_set() -> None:
    """cap41's optimal warehouse set, priced as a flow, costs the published optimum."""
    from benchmarks.suite.alloc import cap_scenario, read_cap_data

    data = compile_network(cap_scenario(read_cap_data(DATA / "bench" / "cflp" / "cap41.txt", None)))
    cols = build_columns(data)
    pricer = TransportPricer.build(data, cols, default_targets(data, cols))
    assert pricer is not None
    res = solve_allocation(data, AllocationParams(relative_gap=1e-9, time_limit=60), columns=cols)
    assert res.objective == pytest.approx(1040444.375, abs=1e-3)
    cost, low = pricer.price(res.solution.y)
    assert cost == pytest.approx(1040444.375, abs=1e-3)
    assert low <= cost


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 9), fixed=st.integers(0, 2))
def test_equal_capacity_knapsack_matches_the_mip(seed: int, n: int, fixed: int) -> None:
    """With equal capacities the knapsack is solved by sorting: same optimum as enumerating
    every set (some warehouses fixed open or closed, some costs negative)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 10.0, n)
    cap = np.full(n, float(rng.integers(1, 50)))
    req = float(rng.uniform(0, cap.sum() * 1.1))
    lb, ub = np.zeros(n), np.ones(n)
    for w in rng.choice(n, size=min(fixed, n), replace=False):
        lb[w] = ub[w] = float(rng.integers(0, 2))
    val, y = _knapsack(a, cap, req, lb, ub, [], 10.0)
    best = math.inf
    for bits in itertools.product((0.0, 1.0), repeat=n):
        yy = np.array(bits)
        if np.all(yy >= lb) and np.all(yy <= ub) and cap @ yy >= req - 1e-9:
            best = min(best, float(a @ yy))
    if math.isinf(best):
        assert y is None and val == math.inf
    else:
        assert y is not None
        assert val == pytest.approx(best, abs=1e-9)
        assert cap @ y >= req - 1e-9 and np.all(y >= lb) and np.all(y <= ub)


@pytest.mark.parametrize("seed", range(3))
def test_flow_priced_local_search_keeps_the_evaluators_plan(seed: int) -> None:
    """The local search with flow pricing returns a plan solved the generic way, no dearer
    than its start and no cheaper than the MIP optimum."""
    data, cols, pricer = _pricer(_cflp_doc(seed, n_wh=6, n_zone=8))
    params = AllocationParams(relative_gap=0)
    mip = solve_allocation(data, params, columns=cols)
    assert mip.status is Status.OPTIMAL
    m = build_allocation_model(data, params, columns=cols, integer_stock=False)
    W = len(data.warehouses)
    y0 = np.zeros(W)
    y0[0] = 1.0
    start, _ = pricer.price(y0)
    sol, info = heuristic_incumbent(
        data, params, cols, m.lb[:W], m.ub[:W], time.perf_counter() + 30, y_start=y0, pricer=pricer
    )
    assert sol is not None
    again = solve_allocation(data, params, columns=cols, y_fixed=sol.y)
    assert info["incumbent_objective"] == pytest.approx(again.objective, rel=1e-9)
    assert again.objective <= start * (1 + 1e-9) + 1e-6
    assert again.objective >= mip.objective * (1 - 1e-7) - 1e-6


@pytest.mark.parametrize("path", ["lagrangian", "local_search"])
def test_cap41_large_path_uses_flow_pricing(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """cap41 through either large-MIP incumbent path prices its sets as flows and ends at the
    optimum."""
    from benchmarks.suite.alloc import cap_scenario, read_cap_data

    monkeypatch.setattr(alloc, "INCUMBENT_MIN_VARS", 0)
    if path == "local_search":
        monkeypatch.setattr(alloc, "LAGRANGE_MAX_CELLS", 0)
    data = compile_network(cap_scenario(read_cap_data(DATA / "bench" / "cflp" / "cap41.txt", None)))
    res = solve_allocation(data, AllocationParams(relative_gap=1e-9, time_limit=120))
    assert res.stats.extra["incumbent_fast_pricing"] is True
    assert res.stats.extra["incumbent_evals"] > 1
    assert res.objective == pytest.approx(1040444.375, abs=1e-3)
