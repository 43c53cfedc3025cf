"""Tests of the allocation MIP: golden optima, brute force, pruning, degenerate inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from network.compile import compile_network
from network.scenario import parse_scenario
from optimizer.allocation.columns import build_columns
from optimizer.allocation.model import build_allocation_model
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import Status
from optimizer.allocation.solve import solve_allocation
from optimizer.plan.planning import plan_scenario
from tests.helpers import evaluated_result, golden, node, random_doc, read

# -- golden cases ---------------------------------------------------------------------------


def test_two_warehouses_golden_optimum() -> None:
    """Two candidate warehouses: the hand-computed optimum (750, W1 only) is found and the
    evaluator agrees with every term."""
    _s, data = read("two_wh")
    g = golden("two_wh")
    res = solve_allocation(data, AllocationParams(relative_gap=0))
    assert res.status is Status.OPTIMAL
    assert res.objective == pytest.approx(g["objective"], rel=1e-9)
    assert [data.warehouses[w] for w in np.flatnonzero(res.solution.y)] == g["open"]
    for k, v in g["cost"].items():
        assert res.cost[k] == pytest.approx(v, rel=1e-9)
    _, ev = evaluated_result(data, res)
    assert ev.total == pytest.approx(g["objective"], rel=1e-9)


def test_holding_and_stock_golden() -> None:
    """One open warehouse with holding, review period and safety stock: objective, holding
    term and integer stocking level equal the hand computation; direct is not used."""
    _s, data = read("holding_one_wh")
    g = golden("holding_one_wh")
    res = solve_allocation(data, AllocationParams(relative_gap=0))
    assert res.status is Status.OPTIMAL
    assert res.objective == pytest.approx(g["objective"], rel=1e-9)
    assert res.cost["holding"] == pytest.approx(g["holding"], rel=1e-9)
    assert res.solution.q.sum() == 0
    assert res.solution.stock.tolist() == [g["stock_units"]]


# -- brute force ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_mip_matches_brute_force_over_warehouse_sets(seed: int) -> None:
    """Enumerating every warehouse set (rest solved with y fixed, no binaries left) and taking
    the cheapest evaluated plan that meets the on-time target gives the MIP optimum."""
    rng = np.random.default_rng(seed)
    doc = random_doc(rng, caps=True)
    # brute force needs y-fixed subproblems without integers: drop storage limits
    for n in doc["nodes"]:
        n.pop("storage_m3", None)
    data = compile_network(parse_scenario(doc))
    cols = build_columns(data)
    mip = solve_allocation(data, AllocationParams(relative_gap=0), columns=cols)
    assert mip.status is Status.OPTIMAL
    best = np.inf
    W = len(data.warehouses)
    for ys in itertools.product((0.0, 1.0), repeat=W):
        r = solve_allocation(
            data, AllocationParams(relative_gap=0), columns=cols, y_fixed=np.array(ys)
        )
        if r.solution is None or set(r.notes) - set(mip.notes):
            continue  # this warehouse set cannot meet the on-time target
        _, ev = evaluated_result(data, r, cols)
        best = min(best, ev.total)
    assert mip.objective == pytest.approx(best, rel=1e-7, abs=1e-6)


def test_pruning_keeps_the_optimum() -> None:
    """Pruning dominated options never changes the optimum (checked on random instances with
    capacities), and it does remove columns."""
    removed = 0
    for seed in range(4):
        doc = random_doc(np.random.default_rng(100 + seed), n_wh=3, n_zone=4, n_sku=3)
        data = compile_network(parse_scenario(doc))
        full = build_columns(data, prune=False)
        pruned = build_columns(data)
        removed += (
            len(full.x_pair)
            + len(full.f_sku)
            + len(full.q_pair)
            - len(pruned.x_pair)
            - len(pruned.f_sku)
            - len(pruned.q_pair)
        )
        a = solve_allocation(data, AllocationParams(relative_gap=0), columns=full)
        b = solve_allocation(data, AllocationParams(relative_gap=0), columns=pruned)
        assert a.objective == pytest.approx(b.objective, rel=1e-7, abs=1e-6)
    assert removed > 0


# -- degenerate and infeasible inputs --------------------------------------------------------


def _base_doc() -> dict:
    s, _ = read("two_wh")
    return s.to_document()


def test_no_demand_gives_empty_optimal_plan() -> None:
    """No demand: optimal, zero cost, no warehouse opened."""
    doc = _base_doc()
    doc["demand"] = []
    out = plan_scenario(parse_scenario(doc))
    assert out.plan.to_json()["status"] == "optimal"
    assert out.plan.to_json()["objective"] == 0.0
    assert not any(w["open"] for w in out.plan.to_json()["warehouses"])
    assert out.plan.to_json()["service"]["on_time_share"] == 1.0


def test_no_usable_warehouse_loses_or_ships_direct() -> None:
    """All warehouses closed and no direct line: every unit is lost, the plan still comes back
    with status optimal and the lost-sale penalty as its cost."""
    doc = _base_doc()
    for n in doc["nodes"]:
        if n["kind"] == "warehouse":
            n["status"] = "closed"
    out = plan_scenario(parse_scenario(doc))
    assert out.plan.to_json()["status"] == "optimal"
    assert out.plan.to_json()["service"]["units_lost"] == 200
    assert out.plan.to_json()["cost"]["lost_sale_penalty"] == pytest.approx(200 * 1000.0)
    assert out.evaluation is not None and out.evaluation.feasible


def test_unreachable_zone_is_lost_and_diagnosed() -> None:
    """A zone no lane reaches: its demand is lost and the diagnosis lists it as unreachable."""
    doc = _base_doc()
    doc["nodes"].append(node("Z9", "zone", 1.0, 104.0))
    doc["demand"].append({"sku": "K", "zone": "Z9", "units": 7})
    out = plan_scenario(parse_scenario(doc))
    assert out.plan.to_json()["service"]["units_lost"] == pytest.approx(7)
    assert "Z9" in out.plan.to_json()["diagnosis"]["unreachable_zones"]
    miss = {m["zone"]: m for m in out.plan.to_json()["diagnosis"]["misses"]}
    assert miss["Z9"]["reason"] == "no path meets the promise"


def test_zero_capacity_lane_is_not_used() -> None:
    """A lane with zero capacity carries nothing: W1's inbound is closed, so W2 serves all."""
    doc = _base_doc()
    for ln in doc["lanes"]:
        if ln["id"] == "O-W1":
            ln["capacity_units_per_day"] = 0.0
    out = plan_scenario(parse_scenario(doc))
    assert all(r["warehouse"] == "W2" for r in out.plan.to_json()["replenishment"])
    assert out.plan.to_json()["objective"] == pytest.approx(950.0)
    assert out.evaluation.feasible


def test_throughput_forces_second_warehouse() -> None:
    """W1's throughput fits half the demand: both warehouses open; optimum 800 by hand."""
    doc = _base_doc()
    for n in doc["nodes"]:
        if n["id"] == "W1":
            n["throughput_units_per_day"] = 100 / 28
    res = solve_allocation(compile_network(parse_scenario(doc)), AllocationParams(relative_gap=0))
    assert res.objective == pytest.approx(800.0, rel=1e-9)
    assert res.solution.y.tolist() == [1.0, 1.0]


def test_unreachable_promise_lowers_target_and_reports_it() -> None:
    """Every path is slower than the promise: the target cannot be met, the plan comes back
    (not infeasible) with a note, the shortfall, late penalties and a leg breakdown."""
    doc = _base_doc()
    doc["service"]["promise_hours"] = 5
    doc["service"]["min_on_time_share"] = 0.9
    doc["service"]["late_penalty_per_unit"] = 2.0
    out = plan_scenario(parse_scenario(doc))
    assert out.plan.to_json()["status"] == "optimal"
    assert out.plan.to_json()["service"]["on_time_share"] == 0.0
    assert out.plan.to_json()["cost"]["late_penalty"] == pytest.approx(400.0)
    assert any("lowered" in n for n in out.plan.to_json()["notes"])
    assert out.evaluation.shortfalls and not out.evaluation.violations
    m = out.plan.to_json()["diagnosis"]["misses"][0]
    assert m["reason"] == "no path meets the promise"
    assert m["fastest"]["hours"] == pytest.approx(10.0)
    assert [leg["hours"] for leg in m["fastest"]["legs"]] == [0.0, 10.0]


def test_capacity_blocks_target_then_repairs() -> None:
    """The on-time target needs a lane that capacity limits: the solver's infeasibility is
    repaired by lowering the target to what capacity allows (LP), and the plan is feasible."""
    doc = _base_doc()
    doc["service"]["promise_hours"] = 72
    doc["service"]["min_on_time_share"] = 1.0
    for ln in doc["lanes"]:
        if ln["id"] in ("W1-Z1", "W2-Z1"):
            ln["capacity_units_per_day"] = 25 / 28  # together half of Z1's demand
    out = plan_scenario(parse_scenario(doc))
    assert out.plan.to_json()["status"] in ("optimal", "feasible")
    assert out.plan.to_json()["service"]["units_lost"] == pytest.approx(50.0, rel=1e-3)
    assert any("capacities" in n for n in out.plan.to_json()["notes"])
    assert out.evaluation.feasible
    assert any(
        b["kind"] == "lane_units_per_day"
        for b in out.plan.to_json()["diagnosis"]["binding_capacities"]
    )


def test_open_and_closed_status_are_respected() -> None:
    """An ``open`` warehouse is paid for even if unused; a ``closed`` one is never used."""
    doc = _base_doc()
    for n in doc["nodes"]:
        if n["id"] == "W1":
            n["status"] = "closed"
        if n["id"] == "W2":
            n["status"] = "open"
    res = solve_allocation(compile_network(parse_scenario(doc)), AllocationParams(relative_gap=0))
    assert res.solution.y.tolist() == [0.0, 1.0]
    assert res.objective == pytest.approx(950.0)


def test_model_is_built_without_per_variable_rows_for_fixed_warehouses() -> None:
    """Linking rows exist only for candidate warehouses (open ones have y fixed to 1)."""
    doc = _base_doc()
    data = compile_network(parse_scenario(doc))
    m = build_allocation_model(data)
    a, b = m.rows["link"]
    assert b - a == 4  # 2 pairs x 2 candidate warehouses
    for n in doc["nodes"]:
        if n["kind"] == "warehouse":
            n["status"] = "open"
    m2 = build_allocation_model(compile_network(parse_scenario(doc)))
    assert "link" not in m2.rows


@pytest.mark.parametrize("solver", ["scip", "cpsat"])
def test_other_solvers_agree_on_golden(solver: str) -> None:
    """SCIP and CP-SAT reach the golden optimum of the two-warehouse case."""
    _, data = read("two_wh")
    res = solve_allocation(data, AllocationParams(solver=solver, relative_gap=0, time_limit=20))
    assert res.objective == pytest.approx(golden("two_wh")["objective"], rel=1e-6)


def test_storage_overflow_from_rounding_is_repaired() -> None:
    """Storage fits the continuous stocking level but not its rounding up: the flows are
    re-solved with a margin, the integer stock fits, the plan is feasible, a note says so,
    and the objective stays within the reported bound's reach."""
    s, _ = read("holding_one_wh")
    doc = s.to_document()
    for n in doc["nodes"]:
        if n["id"] == "W":
            n["storage_m3"] = 1.5465  # continuous need 1.54641 m3, rounded 1.55 m3
    out = plan_scenario(parse_scenario(doc), AllocationParams(relative_gap=0))
    assert any("storage" in n for n in out.plan.to_json()["notes"])
    assert out.evaluation is not None and out.evaluation.feasible, out.evaluation.violations
    used = out.plan.to_json()["warehouses"][0]["storage_used_m3"]
    assert used <= 1.5465 + 1e-9
    assert out.plan.to_json()["bound"] <= out.plan.to_json()["objective"] + 1e-9
    assert out.plan.to_json()["objective"] > golden("holding_one_wh")["objective"]
