"""Tests of the Lagrangian bounds (optimizer.lagrange) and the LP duals they start from."""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import optimizer.allocation.solve as alloc
from network.compile import compile_network
from optimizer.allocation.decompose import restrict_to_warehouses
from optimizer.allocation.lagrange import (
    Multipliers,
    PairCosts,
    capacitated_lane_keys,
    demand_relaxation,
    enumerate_sets,
    fix_by_bound,
    lagrangian_bound,
    lagrangian_search,
    multipliers_from_duals,
    pair_costs,
    recheck_ufl,
    solve_ufl,
    truncate_pairs,
)
from optimizer.allocation.model import AllocationModel, build_allocation_model, default_targets
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import Status
from optimizer.allocation.solve import solve_allocation
from optimizer.solver import solve_lp_duals, solve_model
from tests.helpers import random_columns

DATA = Path(__file__).resolve().parents[2] / "data"


def _lagrangian_at(pc: PairCosts, y: np.ndarray) -> float:
    """L(λ) with the warehouses fixed to ``y``: every pair at its cheapest open option."""
    c = np.where(y[None, :] > 0.5, pc.c, np.inf)
    best = np.minimum(c.min(axis=1), pc.d)
    return float(pc.const + pc.fixed @ y + pc.dem @ best)


# -- LP duals -------------------------------------------------------------------------------


def test_lp_duals_follow_highs_signs() -> None:
    """min x1 + 2 x2, x1 + x2 ≥ 3 (dual 2), x1 ≤ 1 (dual −1), x1 − x2 = −1 (dual 0 here
    after the others; checked by the objective identity)."""
    A = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 0.0]]))
    m = AllocationModel(
        columns=None,
        c=np.array([1.0, 2.0]),
        lb=np.zeros(2),
        ub=np.full(2, np.inf),
        integer=np.zeros(0, np.int64),
        A=A,
        row_lb=np.array([3.0, -np.inf]),
        row_ub=np.array([np.inf, 1.0]),
        off={},
        s_kw=np.zeros(0, np.int64),
        rows={},
        targets={},
        build_seconds=0.0,
    )
    raw = solve_lp_duals(m)
    assert raw.status is Status.OPTIMAL
    assert raw.objective == pytest.approx(5.0)
    assert raw.duals == pytest.approx([2.0, -1.0])
    # same objective as the model_builder path
    assert solve_model(m, relax=True).objective == pytest.approx(5.0)


@pytest.mark.parametrize("seed", range(6))
def test_lagrangian_at_lp_duals_equals_the_lp(seed: int) -> None:
    """With the fixed-y LP's duals as multipliers, the Lagrangian at that y equals the LP's
    value (LP duality): checks every dual's sign and every row's pricing (storage through the
    stock rule, throughput, lanes, on-time overall and per country)."""
    data, cols = random_columns(seed, n_wh=4, n_zone=4, n_sku=3)
    params = AllocationParams(relative_gap=0)
    W = len(data.warehouses)
    y = np.ones(W)
    rc = restrict_to_warehouses(cols, y)
    tg = default_targets(data, cols)
    m = build_allocation_model(data, params, columns=rc, y_fixed=y, targets=tg, integer_stock=False)
    raw = solve_lp_duals(m)
    if raw.status is not Status.OPTIMAL:
        pytest.skip("targets unreachable with every warehouse open")
    mult = multipliers_from_duals(data, m, raw.duals)
    pc = pair_costs(data, cols, mult, tg)
    assert _lagrangian_at(pc, y) == pytest.approx(raw.objective, rel=1e-6, abs=1e-6)


# -- the facility-location subproblem -------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), P=st.integers(1, 12), W=st.integers(1, 6))
def test_solve_ufl_matches_enumeration(seed: int, P: int, W: int) -> None:
    """Benders on the UFL gives the optimum of enumerating every warehouse set."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(5, 20, P)
    c = np.minimum(rng.uniform(0, 25, (P, W)), d[:, None])
    status = rng.choice(["candidate", "open", "closed"], size=W, p=[0.7, 0.15, 0.15])
    c[:, status == "closed"] = np.inf
    fixed = rng.uniform(-5, 40, W)
    dem = rng.uniform(0.5, 3, P)
    pc = PairCosts(
        c=c,
        d=d,
        dem=dem,
        fixed=fixed,
        const=0.0,
        x_best=np.zeros((P, W), np.int64),
        q_best=np.zeros(P, np.int64),
        f_best=np.zeros(0, np.int64),
    )
    y_lb = (status == "open").astype(float)
    y_ub = (status != "closed").astype(float)
    best = math.inf
    for bits in itertools.product([0.0, 1.0], repeat=W):
        y = np.array(bits)
        if np.any(y < y_lb) or np.any(y > y_ub):
            continue
        best = min(best, _lagrangian_at(pc, y))
    group = rng.integers(0, 3, P)
    group = np.unique(group, return_inverse=True)[1].astype(np.int64)
    res = solve_ufl(pc, group, y_lb, y_ub, time.perf_counter() + 30)
    assert res.optimal
    assert res.value == pytest.approx(best, rel=1e-7, abs=1e-7)
    assert res.bound <= best + 1e-6 * (1 + abs(best))
    assert res.bound >= best - 1e-6 * (1 + abs(best))
    assert _lagrangian_at(pc, res.y) == pytest.approx(best, rel=1e-7, abs=1e-7)
    if res.master is not None:  # SCIP on the last integer master agrees with HiGHS
        assert recheck_ufl(res, 30) == pytest.approx(res.bound, rel=1e-6, abs=1e-6)
    # the sparse form: each pair's k cheapest warehouses, the (k+1)-th as its fallback; with
    # k = W the same optimum, with fewer a bound that never exceeds it
    for k in sorted({W, max(1, W - 2), 1}):
        cs, order, d2 = truncate_pairs(c, d, k)
        tp = PairCosts(cs, d2, dem, fixed, 0.0, pc.x_best, pc.q_best, pc.f_best)
        rk = solve_ufl(tp, group, y_lb, y_ub, time.perf_counter() + 30, order=order)
        assert rk.optimal
        assert rk.bound <= best + 1e-6 * (1 + abs(best))
        if k == W:
            assert rk.bound == pytest.approx(best, rel=1e-7, abs=1e-7)
        # the truncated value at any set is at most the full one (valid relaxation)
        assert rk.value <= _lagrangian_at(pc, rk.y) + 1e-9 * (1 + abs(best))


# -- validity against the MIP ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_lagrangian_bounds_never_exceed_the_optimum(seed: int) -> None:
    """For multipliers from the LP's duals, random multipliers and after subgradient steps,
    L(λ) ≤ the MIP optimum; the subgradient search never returns less than its start."""
    data, cols = random_columns(seed, n_wh=4, n_zone=4, n_sku=2)
    params = AllocationParams(relative_gap=0)
    mip = solve_allocation(data, params, columns=cols)
    assert mip.status is Status.OPTIMAL
    W = len(data.warehouses)
    tg = default_targets(data, cols)
    lk = capacitated_lane_keys(data, cols)
    rng = np.random.default_rng(seed)
    tol = 1e-6 * (1 + abs(mip.objective))
    for _ in range(5):
        mult = Multipliers(
            rng.exponential(0.5, W) * (rng.random(W) < 0.5),
            rng.exponential(0.5, W) * (rng.random(W) < 0.5),
            {int(k): float(rng.exponential(0.1)) for k in lk},
            {k: float(rng.exponential(1.0)) for k in tg},
        )
        b, ufl, _ = lagrangian_bound(data, cols, mult, tg, time.perf_counter() + 30)
        assert ufl.optimal
        assert b <= mip.objective + tol
    y = mip.solution.y
    rc = restrict_to_warehouses(cols, y)
    m = build_allocation_model(data, params, columns=rc, y_fixed=y, targets=tg, integer_stock=False)
    raw = solve_lp_duals(m)
    assert raw.status is Status.OPTIMAL
    mult = multipliers_from_duals(data, m, raw.duals)
    best, info = lagrangian_search(data, cols, mult, tg, lk, mip.objective, time.perf_counter() + 3)
    assert best <= mip.objective + tol
    assert best >= info["lagrange_first"] - tol
    assert info["lagrange_iterations"] >= 1


# -- demand relaxation and enumeration (capacitated facility location) ----------------------


@pytest.mark.parametrize("seed", range(5))
def test_demand_relaxation_enumeration_proves_the_optimum(seed: int) -> None:
    """On small random networks the enumeration by Lagrangian bound ends with the MIP's
    optimum, proven; the relaxation's bound is below it."""
    data, cols = random_columns(seed, storage=False, n_wh=5, n_zone=5, n_sku=2)
    params = AllocationParams(relative_gap=0)
    mip = solve_allocation(data, params, columns=cols)
    assert mip.status is Status.OPTIMAL
    W = len(data.warehouses)
    m = build_allocation_model(data, params, columns=cols, integer_stock=False)
    y_lb, y_ub = m.lb[:W], m.ub[:W]
    tol = 1e-6 * (1 + abs(mip.objective))

    def price(y: np.ndarray) -> tuple[float, float]:
        r = solve_allocation(data, params, columns=cols, y_fixed=y)
        if r.solution is None or any("lowered" in n for n in r.notes):
            return math.inf, -math.inf
        return r.objective, r.bound

    upper = mip.objective * 1.5 + 10.0
    rel = demand_relaxation(data, cols, y_lb, y_ub, upper, time.perf_counter() + 10, max_iter=300)
    assert rel.bound <= mip.objective + tol
    best, bound, _y, n, proven = enumerate_sets(
        rel, y_lb, y_ub, price, upper, time.perf_counter() + 60
    )
    assert proven
    assert best == pytest.approx(mip.objective, rel=1e-6, abs=1e-6)
    assert bound <= mip.objective + tol
    assert n <= 2**W
    # penalty tests around the optimal set keep the optimum
    lb, ub, nfix = fix_by_bound(
        rel, y_lb, y_ub, mip.solution.y, mip.objective, time.perf_counter() + 10
    )
    assert nfix == int(((lb == ub) & (y_lb < y_ub)).sum())
    assert np.all(lb <= mip.solution.y + 1e-9) and np.all(mip.solution.y <= ub + 1e-9)
    m2 = build_allocation_model(data, params, columns=cols, integer_stock=False)
    m2.lb[:W], m2.ub[:W] = lb, ub
    assert solve_model(m2, params).objective == pytest.approx(
        solve_model(m, params).objective, rel=1e-7, abs=1e-6
    )


def test_cap41_through_the_lagrangian_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """OR-Library cap41 (16 warehouses, 50 customers) with the large-MIP path forced on:
    the published optimum 1040444.375 (tests/data/bench/cflp/bks.csv)."""
    from benchmarks.suite.alloc import cap_scenario, read_cap_data

    monkeypatch.setattr(alloc, "INCUMBENT_MIN_VARS", 0)
    capd = read_cap_data(DATA / "bench" / "cflp" / "cap41.txt", None)
    data = compile_network(cap_scenario(capd))
    res = solve_allocation(data, AllocationParams(relative_gap=1e-9, time_limit=120))
    assert res.stats.lagrange_bound is not None
    assert res.objective == pytest.approx(1040444.375, abs=1e-3)
    assert res.bound <= res.objective + 1e-6
    assert res.stats.lagrange_bound <= 1040444.375 + 1e-3


def test_native_solver_output_goes_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """What a native solver writes to file descriptor 1 lands on stderr, except HiGHS 1.12's
    known debug line, which is dropped; stdout works again afterwards, also after nested use."""
    import os

    from optimizer.solver import native_stdout_to_stderr

    with native_stdout_to_stderr():
        os.write(1, b"native-line\n")
        os.write(1, b"HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();\n")
        with native_stdout_to_stderr():
            os.write(1, b"nested-line\n")
        os.write(1, b"still-redirected\n")
    os.write(1, b"back-on-stdout\n")
    out, err = capfd.readouterr()
    assert "native-line" in err and "nested-line" in err and "still-redirected" in err
    assert "native-line" not in out and "back-on-stdout" in out
    assert "transformNewIntegerFeasibleSolution" not in out + err


def test_an_interrupted_knapsack_proves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the enumeration's knapsack is cut off by the deadline, the search is not proven and
    its bound stays below the optimum (regression: a cut-off knapsack once "proved" capc-7250
    at a plan 0.03 % above the published optimum)."""
    import optimizer.allocation.lagrange as lag

    data, cols = random_columns(1, storage=False, n_wh=5, n_zone=5, n_sku=2)
    params = AllocationParams(relative_gap=0)
    mip = solve_allocation(data, params, columns=cols)
    W = len(data.warehouses)
    m = build_allocation_model(data, params, columns=cols, integer_stock=False)
    y_lb, y_ub = m.lb[:W], m.ub[:W]
    rel = demand_relaxation(
        data, cols, y_lb, y_ub, mip.objective * 2 + 10, time.perf_counter() + 10, max_iter=200
    )
    monkeypatch.setattr(lag, "_knapsack", lambda *a, **k: (-math.inf, None))
    _best, bound, _, n, proven = enumerate_sets(
        rel,
        y_lb,
        y_ub,
        lambda y: (math.inf, -math.inf),
        mip.objective * 2 + 10,
        time.perf_counter() + 10,
    )
    assert not proven and n == 0
    assert bound <= mip.objective + 1e-6


def test_lagrangian_search_claims_the_lower_of_the_two_solvers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the re-solve of the best iterate's master proves less than HiGHS claimed, the
    search returns the lower figure."""
    import dataclasses

    import optimizer.allocation.lagrange as lg

    data, cols = random_columns(2, n_wh=4, n_zone=4, n_sku=2)
    tg = default_targets(data, cols)
    W = len(data.warehouses)
    zero = Multipliers(np.zeros(W), np.zeros(W), {}, dict.fromkeys(tg, 0.0))
    real = lg.lagrangian_bound
    seen: list[float] = []

    def with_master(*a, **kw):
        b, ufl, pc = real(*a, **kw)
        seen.append(b)
        return b, dataclasses.replace(ufl, master=("master",)), pc

    monkeypatch.setattr(lg, "lagrangian_bound", with_master)
    monkeypatch.setattr(lg, "recheck_ufl", lambda ufl, _t: ufl.bound - 7.0)
    best, _ = lg.lagrangian_search(
        data, cols, zero, tg, capacitated_lane_keys(data, cols), 1e9, time.perf_counter() + 1.0
    )
    assert seen
    assert best == pytest.approx(max(seen) - 7.0, abs=1e-6)
