"""Tests of the independent evaluator: agreement with the model, and every rule it checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from network.compile import compile_network
from network.scenario import parse_scenario
from optimizer.allocation.baseline import naive_solution
from optimizer.allocation.columns import build_columns
from optimizer.allocation.params import AllocationParams
from optimizer.exceptions import InvalidNetworkError
from optimizer.plan.document import Plan
from optimizer.plan.evaluate import evaluate
from optimizer.plan.planning import plan_dict, plan_scenario
from optimizer.solver import Status
from tests.helpers import random_doc, read


def _plan(name: str = "two_wh") -> tuple[object, dict]:
    s, data = read(name)
    return data, plan_scenario(s, AllocationParams(relative_gap=0)).plan.to_json()


def _ev(data, doc: dict):  # type: ignore[no-untyped-def]
    """The evaluator on a plan.json document (read by Plan.from_json, as at the edge)."""
    return evaluate(data, Plan.from_json(doc))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), caps=st.booleans())
@example(seed=5015, caps=False)  # HiGHS left y a hair above 0: 2e-6 units via a closed warehouse
def test_any_optimised_plan_passes_the_evaluator(seed: int, caps: bool) -> None:
    """On random tiny scenarios the optimised plan breaks no rule and its objective equals the
    evaluator's total to 1e-6 relative."""
    doc = random_doc(np.random.default_rng(seed), caps=caps)
    out = plan_scenario(parse_scenario(doc), AllocationParams(time_limit=20))
    ev = out.evaluation
    assert ev is not None
    assert not ev.violations, ev.violations
    assert ev.total == pytest.approx(out.plan.objective, rel=1e-6, abs=1e-6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_evaluator_agrees_with_model_costs_for_any_column_values(seed: int) -> None:
    """For arbitrary non-negative flows on the model's columns (not optimised, possibly
    infeasible), the evaluator's cost terms equal the model's own cost terms."""
    rng = np.random.default_rng(seed)
    data = compile_network(parse_scenario(random_doc(rng)))
    cols = build_columns(data, prune=False)
    naive, _ = naive_solution(data, cols)
    sol = type(naive)(
        y=np.ones(len(data.warehouses)),
        x=rng.uniform(0, 50, len(cols.x_pair)),
        q=rng.uniform(0, 50, len(cols.q_pair)),
        u=np.zeros(len(cols.p_dem)),
        f=rng.uniform(0, 50, len(cols.f_sku)),
        stock=np.zeros(len(cols.kw_sku)),
    )
    plan = plan_dict(
        data, cols, sol, status=Status.FEASIBLE, objective=0.0, bound=0.0, solve_seconds=0
    )
    ev = evaluate(data, plan)
    assert plan.cost is not None
    for k, v in plan.cost.terms().items():
        if k == "lost_sale_penalty":
            continue  # the evaluator derives lost units from demand, not from u
        assert ev.cost[k] == pytest.approx(v, rel=1e-9, abs=1e-9), k


def test_naive_plan_costs_match_and_understock_is_reported() -> None:
    """The naive plan's cover-days stock misses safety stock: the evaluator says so, naming
    the SKU and warehouse; its total equals the model-side cost terms."""
    _s, data = read("holding_one_wh")
    cols = build_columns(data)
    naive, _ = naive_solution(data, cols)
    plan = plan_dict(
        data, cols, naive, status=Status.FEASIBLE, objective=0.0, bound=0.0, solve_seconds=0
    )
    ev = evaluate(data, plan)
    assert plan.cost is not None
    assert ev.total == pytest.approx(plan.cost.total, rel=1e-9)
    assert any("'K' at 'W'" in v and "below the required" in v for v in ev.violations)


@pytest.mark.parametrize(
    ("edit", "expect"),
    [
        (
            lambda p: p["fulfilment"][0].__setitem__("units", p["fulfilment"][0]["units"] + 5),
            "replenished",
        ),  # flow balance broken (and over-served)
        (
            lambda p: p["stock"].__setitem__(0, {**p["stock"][0], "units": 0}),
            "below the required",
        ),  # stock rule
        (
            lambda p: [w.__setitem__("open", False) for w in p["warehouses"]],
            "not open",
        ),  # flows at an unopened warehouse
        (lambda p: p["fulfilment"][0].__setitem__("on_time", False), "on_time flag"),
        (lambda p: p["fulfilment"][0].__setitem__("hours", 99.0), "hours"),
    ],
)
def test_evaluator_catches_broken_rules(edit, expect: str) -> None:  # type: ignore[no-untyped-def]
    """Each hand-broken rule is reported with a message naming the item."""
    s, data = read("holding_one_wh")
    plan = plan_scenario(s, AllocationParams(relative_gap=0)).plan.to_json()
    assert not _ev(data, plan).violations
    edit(plan)
    ev = _ev(data, plan)
    assert any(expect in v for v in ev.violations), ev.violations


def test_evaluator_checks_capacities() -> None:
    """Throughput and lane capacities are recomputed from the listed flows."""
    s, _ = read("two_wh")
    doc = s.to_document()
    for n in doc["nodes"]:
        if n["id"] == "W1":
            n["throughput_units_per_day"] = 1.0
    for ln in doc["lanes"]:
        if ln["id"] == "O-W1":
            ln["capacity_units_per_day"] = 1.0
    data = compile_network(parse_scenario(doc))
    _, plan = _plan("two_wh")  # the unconstrained optimum ships 200 units through W1
    ev = _ev(data, plan)
    assert any("throughput" in v and "'W1'" in v for v in ev.violations)
    assert any("lane 'O-W1'" in v for v in ev.violations)


def test_unknown_items_are_named() -> None:
    """A plan naming an unknown SKU or a lane sequence that is no path raises, naming it."""
    data, plan = _plan()
    bad = copy.deepcopy(plan)
    bad["fulfilment"][0]["sku"] = "NOPE"
    with pytest.raises(InvalidNetworkError, match="NOPE"):
        _ev(data, bad)
    bad = copy.deepcopy(plan)
    bad["fulfilment"][0]["lanes"] = ["W2-Z2"]
    with pytest.raises(InvalidNetworkError, match="no path"):
        _ev(data, bad)
