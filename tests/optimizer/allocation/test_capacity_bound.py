"""Tests of the capacitated-subproblem bound (optimizer.capacity_bound)."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from network.compile import NetworkData
from optimizer.allocation.capacity_bound import Cflp, capacity_bound
from optimizer.allocation.columns import Columns
from optimizer.allocation.decompose import restrict_to_warehouses
from optimizer.allocation.lagrange import Multipliers, capacitated_lane_keys, multipliers_from_duals
from optimizer.allocation.model import build_allocation_model, default_targets
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import Status
from optimizer.allocation.solve import solve_allocation
from optimizer.solver import solve_lp_duals
from tests.helpers import random_columns


def _cflp_lp(cf: Cflp, y: np.ndarray) -> float:
    """CFLP(y) as an LP over z (SciPy HiGHS), independent of the flow solver."""
    open_ = np.flatnonzero(y > 0.5)
    pp, ww = np.nonzero(np.isfinite(cf.c[:, open_]))
    ww = open_[ww]
    n = len(pp)
    base = cf.const + float(cf.fixed @ y) + float(cf.dem @ cf.d)
    if n == 0:
        return base
    cost = cf.dem[pp] * (cf.c[pp, ww] - cf.d[pp])
    rows, rhs = [], []
    for p in range(cf.P):  # Σ_w z_pw ≤ 1
        r = np.zeros(n)
        r[pp == p] = 1.0
        rows.append(r)
        rhs.append(1.0)
    for w in open_:  # Σ_p D_p z_pw ≤ cap_w
        if cf.has_cap[w]:
            rows.append(np.where(ww == w, cf.dem[pp], 0.0))
            rhs.append(cf.cap[w])
    res = linprog(cost, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=(0, 1), method="highs")
    assert res.status == 0
    return base + float(res.fun)


def _brute_force(cf: Cflp) -> float:
    free = np.flatnonzero(cf.y_lb < cf.y_ub)
    best = math.inf
    for bits in itertools.product((0.0, 1.0), repeat=len(free)):
        y = cf.y_lb.copy()
        y[free] = bits
        best = min(best, _cflp_lp(cf, y))
    return best


def _multipliers(data: NetworkData, cols: Columns, rng: np.random.Generator) -> Multipliers:
    W = len(data.warehouses)
    tg = default_targets(data, cols)
    lk = capacitated_lane_keys(data, cols)
    return Multipliers(
        rng.exponential(0.5, W) * (rng.random(W) < 0.5),
        rng.exponential(0.5, W) * (rng.random(W) < 0.5),
        {int(k): float(rng.exponential(0.1)) for k in lk},
        {k: float(rng.exponential(1.0)) for k in tg},
    )


@pytest.mark.parametrize("seed", range(6))
def test_flow_value_and_duals(seed: int) -> None:
    """The min-cost flow prices a warehouse set as the LP does, and its capacity duals make
    the priced facility-location function tight there (LP duality)."""
    data, cols = random_columns(seed, n_wh=4, n_zone=4, n_sku=2)
    rng = np.random.default_rng(seed)
    cf = Cflp(data, cols, _multipliers(data, cols, rng), default_targets(data, cols))
    for _ in range(4):
        y = np.where(cf.y_ub > 0, (rng.random(cf.W) < 0.7).astype(float), 0.0)
        y = np.maximum(y, cf.y_lb)
        value, mu = cf.value_and_duals(y)
        exact = _cflp_lp(cf, y)
        tol = 1e-3 * (1 + float(cf.dem.sum()))  # costs rounded to 1e-4 for the flow solver
        assert value == pytest.approx(exact, abs=tol)
        assert (mu >= 0).all()
        a, B = cf.cut(mu, y)
        priced = cf.const + float((cf.fixed - mu * cf.cap) @ y) + float(a.sum() - (B @ y).sum())
        assert priced <= exact + 1e-6 * (1 + abs(exact))
        assert priced == pytest.approx(exact, abs=tol)


@pytest.mark.parametrize("storage", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_bound_matches_brute_force_and_stays_below_the_mip(seed: int, storage: bool) -> None:
    """Run to the end, the Benders bound equals the capacitated subproblem's optimum found by
    enumerating every warehouse set (an LP each), and never exceeds the allocation MIP's
    optimum (its plan's cost when integer stock made HiGHS re-solve with a storage margin),
    for random multipliers and for those of the best plan's LP."""
    data, cols = random_columns(seed, storage=storage, n_wh=4, n_zone=4, n_sku=2)
    params = AllocationParams(relative_gap=0)
    mip = solve_allocation(data, params, columns=cols)
    assert mip.status is Status.OPTIMAL or (storage and mip.status is Status.FEASIBLE)
    tg = default_targets(data, cols)
    rng = np.random.default_rng(seed)
    tol = 1e-6 * (1 + abs(mip.objective))
    mults = [_multipliers(data, cols, rng) for _ in range(2)]
    rc = restrict_to_warehouses(cols, mip.solution.y)
    m = build_allocation_model(
        data, params, columns=rc, y_fixed=mip.solution.y, targets=tg, integer_stock=False
    )
    raw = solve_lp_duals(m)
    if raw.status is Status.OPTIMAL:
        mults.append(multipliers_from_duals(data, m, raw.duals))
    for mult in mults:
        res = capacity_bound(data, cols, mult, tg, time.perf_counter() + 60, y_start=mip.solution.y)
        cf = Cflp(data, cols, mult, tg)
        if not cf.has_cap[cf.y_ub > 0].any():
            assert res.bound == -math.inf
            continue
        exact = _brute_force(cf)
        assert res.bound <= exact + tol
        assert res.bound <= mip.objective + tol
        # the search stops when its bound meets the best set's flow value (rounded costs)
        assert res.bound >= exact - 1e-3 * (1 + float(cf.dem.sum())) - tol


def test_target_stops_early_and_is_reported() -> None:
    data, cols = random_columns(1, n_wh=5, n_zone=5, n_sku=2)
    tg = default_targets(data, cols)
    mult = _multipliers(data, cols, np.random.default_rng(7))
    full = capacity_bound(data, cols, mult, tg, time.perf_counter() + 60)
    assume_cap = math.isfinite(full.bound)
    if not assume_cap:
        pytest.skip("no throughput capacity in this network")
    low = capacity_bound(
        data, cols, mult, tg, time.perf_counter() + 60, target=full.bound - 1.0, abs_gap=1e-6
    )
    assert low.proven and low.bound >= full.bound - 1.0
    assert low.iterations <= full.iterations
    # a past deadline claims nothing
    none = capacity_bound(data, cols, mult, tg, time.perf_counter() - 1.0)
    assert none.bound == -math.inf and not none.proven


def test_binding_capacities_are_solved_exactly() -> None:
    """With zero multipliers the subproblem is the plain capacitated facility-location problem
    of each network: over random networks where throughput binds (its optimum is above the
    uncapacitated one), the Benders bound is that optimum."""
    from optimizer.allocation.lagrange import lagrangian_bound

    binding = 0
    for seed in range(12):
        data, cols = random_columns(seed, storage=False, n_wh=5, n_zone=4, n_sku=2)
        tg = default_targets(data, cols)
        W = len(data.warehouses)
        zero = Multipliers(np.zeros(W), np.zeros(W), {}, dict.fromkeys(tg, 0.0))
        cf = Cflp(data, cols, zero, tg)
        if not cf.has_cap[cf.y_ub > 0].any():
            continue
        exact = _brute_force(cf)
        res = capacity_bound(data, cols, zero, tg, time.perf_counter() + 60)
        tol = 1e-3 * (1 + float(cf.dem.sum()))
        assert exact - tol <= res.bound <= exact + 1e-6 * (1 + abs(exact))
        ufl, _, _ = lagrangian_bound(data, cols, zero, tg, time.perf_counter() + 30)
        if exact > ufl + 1e-3 * (1 + abs(ufl)):
            binding += 1
            assert res.bound > ufl
    assert binding >= 3


def _grouped_cflp(
    seed: int, n_groups: int = 3, own: int = 2, hubs: int = 1, pairs: int = 4
) -> Cflp:
    """A random capacitated facility-location problem shaped like a regional network: each
    group (country) has warehouses of its own, ``hubs`` shared ones serve every group, and the
    capacities are tight (total capacity about 1.3 × demand)."""
    rng = np.random.default_rng(seed)
    W = n_groups * own + hubs
    P = n_groups * pairs
    group = np.repeat(np.arange(n_groups), pairs)
    c = np.full((P, W), np.inf)
    for p in range(P):
        g = group[p]
        ws = np.r_[np.arange(g * own, (g + 1) * own), n_groups * own + np.arange(hubs)]
        c[p, ws] = rng.uniform(1.0, 10.0, len(ws))
    dem = rng.integers(5, 40, P).astype(float)
    cap = rng.uniform(0.5, 1.0, W)
    cap *= 1.3 * dem.sum() / cap.sum()
    return Cflp.from_arrays(
        c, np.full(P, 25.0), dem, rng.uniform(20.0, 200.0, W), np.floor(cap), group
    )


@pytest.mark.parametrize("seed", range(8))
def test_grouped_functions_keep_the_bound_exact(seed: int) -> None:
    """With groups that own warehouses and shared hubs (the per-group functions are used),
    the bound run to the end equals the optimum found by enumerating every warehouse set, and
    it does so from a start set or without one."""
    from optimizer.allocation.capacity_bound import solve_cflp

    cf = _grouped_cflp(seed, hubs=1 + seed % 2)
    assert cf.own.any() and cf.shared.any()
    exact = _brute_force(cf)
    tol = 1e-3 * (1 + float(cf.dem.sum()))
    y0 = (np.random.default_rng(seed).random(cf.W) < 0.6).astype(float)
    for start in (None, y0):
        res = solve_cflp(cf, time.perf_counter() + 60, y_start=start)
        assert res.bound <= exact + 1e-6 * (1 + abs(exact))
        assert res.bound >= exact - tol
        assert res.best_value >= exact - tol
        assert math.isfinite(res.cross_check)


def test_a_wrong_master_answer_does_not_raise_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the first master solver claims too much (HiGHS did on unscaled masters), the checks
    and the re-solve by the second keep the bound valid; without them it would not be."""
    import optimizer.allocation.capacity_bound as cb

    cf = _grouped_cflp(3)
    exact = _brute_force(cf)
    real = cb._run_master
    claimed: list[float] = []

    def inflated(name, arrays, W, integer, limit, gap, scale):
        r = real(name, arrays, W, integer, limit, gap, scale)
        if name == "highs" and math.isfinite(r.claim):
            r = cb._MasterRun(name, r.claim + 0.01 * abs(r.claim), r.objective, r.y, r.seconds)
            claimed.append(cf.const + r.claim)
        return r

    monkeypatch.setattr(cb, "_run_master", inflated)
    res = cb.solve_cflp(cf, time.perf_counter() + 60)
    assert max(claimed) > exact + 1e-6 * (1 + abs(exact))  # the fault would void the bound
    assert res.bound <= exact + 1e-6 * (1 + abs(exact))
    assert res.cross_check <= exact + 1e-6 * (1 + abs(exact))


def test_the_last_master_is_claimed_at_the_lower_solver_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A HiGHS answer too high by less than the visited-set check can see is still caught:
    the bound is the lower of HiGHS's and SCIP's answers on the last master."""
    import optimizer.allocation.capacity_bound as cb

    cf = _grouped_cflp(5)
    real = cb._run_master
    scip: list[float] = []

    def lower_scip(name, arrays, W, integer, limit, gap, scale):
        r = real(name, arrays, W, integer, limit, gap, scale)
        if name == "scip":
            r = cb._MasterRun(name, r.claim - 5.0, r.objective, r.y, r.seconds)
            scip.append(cf.const + r.claim)
        return r

    monkeypatch.setattr(cb, "_run_master", lower_scip)
    res = cb.solve_cflp(cf, time.perf_counter() + 60)
    assert scip and res.cross_check == pytest.approx(scip[-1])
    assert res.bound == pytest.approx(scip[-1])


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_groups=st.integers(2, 3),
    own=st.integers(1, 2),
    hubs=st.integers(0, 2),
    pairs=st.integers(1, 4),
)
def test_grouped_bound_never_exceeds_the_optimum(
    seed: int, n_groups: int, own: int, hubs: int, pairs: int
) -> None:
    """Property: on random regional networks (any number of own and shared warehouses) the
    bound is at most the enumerated optimum and, run to the end, within the flow's rounding
    of it; stopped after two master solves it is still below the optimum."""
    from optimizer.allocation.capacity_bound import solve_cflp

    cf = _grouped_cflp(seed, n_groups=n_groups, own=own, hubs=hubs, pairs=pairs)
    exact = _brute_force(cf)
    tol = 1e-3 * (1 + float(cf.dem.sum()))
    full = solve_cflp(cf, time.perf_counter() + 60)
    short = solve_cflp(cf, time.perf_counter() + 60, max_iter=2)
    for res in (full, short):
        assert res.bound <= exact + 1e-6 * (1 + abs(exact))
    assert full.bound >= exact - tol
