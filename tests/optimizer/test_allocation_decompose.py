"""Tests of the decomposition (aggregate warehouse MIP + fixed-y LP + relaxation bound)."""

from __future__ import annotations

import numpy as np
import pytest

from network.compile import compile_network
from network.scenario import parse_scenario
from optimizer.allocation import build_columns, solve_allocation
from optimizer.baseline import naive_solution
from optimizer.decompose import restrict_to_warehouses, solve_decomposed
from optimizer.evaluate import evaluate
from optimizer.params import AllocationParams
from optimizer.planning import plan_dict, plan_scenario
from tests.optimizer.test_allocation import random_doc, read


@pytest.mark.parametrize("seed", range(4))
def test_decomposition_is_feasible_and_its_bound_is_valid(seed: int) -> None:
    """On random instances the decomposed plan passes the evaluator, costs at least the
    monolithic optimum, and its reported bound never exceeds that optimum."""
    doc = random_doc(np.random.default_rng(500 + seed), n_wh=4, n_zone=5, n_sku=4)
    data = compile_network(parse_scenario(doc))
    cols = build_columns(data)
    mono = solve_allocation(data, AllocationParams(relative_gap=0), columns=cols)
    _, hint = naive_solution(data, cols)
    dec = solve_decomposed(data, AllocationParams(time_limit=30), columns=cols, hint=hint)
    assert dec.solution is not None
    plan = plan_dict(data, dec.columns, dec.solution, status=str(dec.status),
                     objective=dec.objective, bound=dec.bound, solve_seconds=0)
    ev = evaluate(data, plan)
    assert not ev.violations, ev.violations
    assert ev.total == pytest.approx(dec.objective, rel=1e-6)
    assert dec.objective >= mono.objective * (1 - 1e-7) - 1e-6
    assert dec.bound <= mono.objective * (1 + 1e-7) + 1e-6


def test_decomposition_on_golden_finds_optimum() -> None:
    """On the two-warehouse golden case the aggregate picks W1 and the plan is optimal (750)."""
    s, data = read("two_wh")
    out = plan_scenario(s, AllocationParams(strategy="decompose", time_limit=30))
    assert out.plan["strategy"] == "decompose"
    assert out.plan["objective"] == pytest.approx(750.0)
    assert out.evaluation.feasible


def test_restrict_to_warehouses_reindexes_pairs() -> None:
    """Dropping closed warehouses keeps (SKU, warehouse) indices consistent."""
    _, data = read("two_wh")
    cols = build_columns(data)
    sub = restrict_to_warehouses(cols, np.array([0.0, 1.0]))
    assert set(sub.x_wh.tolist()) == {1} and set(sub.f_wh.tolist()) == {1}
    assert np.all(sub.kw_wh[sub.x_kw] == sub.x_wh)
    assert np.all(sub.kw_wh[sub.f_kw] == sub.f_wh)
