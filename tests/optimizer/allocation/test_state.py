"""Format v1.1 state in the allocation model: golden cases, brute force, property tests.

Golden tiny cases are computed by hand (no holding, no safety stock, fixed warehouses) so that
every term is a product of a lane cost and a unit count.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from network.compile import compile_network
from network.scenario import load_scenario, parse_scenario
from optimizer.allocation.columns import build_columns
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import Status
from optimizer.allocation.solve import solve_allocation
from optimizer.plan.document import Plan
from optimizer.plan.evaluate import evaluate
from optimizer.plan.planning import plan_dict, plan_scenario
from optimizer.plan.state import attach_previous
from tests.helpers import random_state_doc, stranded_doc

DATA = Path(__file__).resolve().parents[2] / "data"


def plan_of(doc: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Plan a document with a proven optimum, check it against the evaluator and return the
    plan's JSON document (``previous``: a plan document)."""
    s = parse_scenario(doc)
    prev = None if previous is None else Plan.from_json(previous)
    out = plan_scenario(s, AllocationParams(relative_gap=0), previous=prev)
    plan = out.plan.to_json()
    assert plan["status"] == "optimal"
    assert out.evaluation is not None
    assert out.evaluation.feasible, out.evaluation.violations
    assert out.evaluation.total == pytest.approx(plan["objective"], rel=1e-9, abs=1e-6)
    for k, v in out.evaluation.cost.items():
        assert plan["cost"][k] == pytest.approx(v, rel=1e-9, abs=1e-6), k
    return plan


def test_golden_a_stranded_stock_is_transferred_and_nothing_ordered() -> None:
    """Cheap transfer (0.5) against inbound at 10: 780 units move A -> B, 20 are used at B,
    no inbound, no order. Objective = 780 × 0.5 + 800 × 1 = 1190."""
    p = plan_of(stranded_doc(0.5))
    assert p["objective"] == pytest.approx(1190.0, rel=1e-9)
    assert p["cost"]["transfer"] == pytest.approx(390.0)
    assert p["cost"]["inbound"] == 0.0
    assert p["replenishment"] == []
    assert p["orders"] == []
    [t] = p["transfers"]
    assert (t["from"], t["to"], t["lane"], t["hours"]) == ("WH-A", "WH-B", "A-B", 10.0)
    assert t["units"] == pytest.approx(780.0)
    inv = {(r["warehouse"], r["kind"]): r for r in p["inventory"]}
    assert inv[("WH-B", "on_hand")]["used_here"] == pytest.approx(20.0)
    assert inv[("WH-A", "on_hand")]["left"] == pytest.approx(220.0)
    rows = {(r["sku"], r["warehouse"]): r for r in p["stock"]}
    assert rows[("K", "WH-A")]["on_hand"] == 1000.0
    assert rows[("K", "WH-B")]["on_hand"] == 20.0


def test_golden_b_dear_transfer_orders_instead() -> None:
    """Transfer at 12 against inbound at 10: no transfer, 780 units inbound. Objective
    780 × 10 + 800 × 1 = 8600; the order-up-to level is ceil(780 × (10 + 7) / 28) = 474 and
    tonight's order is 474 - 20 on hand = 454 units on the inbound lane."""
    p = plan_of(stranded_doc(12.0))
    assert p["objective"] == pytest.approx(8600.0, rel=1e-9)
    assert p["transfers"] == []
    assert sum(r["units"] for r in p["replenishment"]) == pytest.approx(780.0)
    assert p["orders"] == [{"sku": "K", "warehouse": "WH-B", "lanes": ["O-B"], "units": 454.0}]


def returns_doc(rate: float, resell: float) -> dict[str, Any]:
    """One warehouse serving 1000 units; returns to it cost 1 (the last-mile lane) + 0.1."""
    doc = stranded_doc(0.5)
    doc["inventory"] = []
    doc["nodes"][2]["returns_handling_cost_per_unit"] = 0.1
    doc["demand"] = [{"sku": "K", "zone": "Z", "units": 1000}]
    if rate > 0:
        doc["returns"] = [{"country": "MY", "rate": rate, "resellable_share": resell}]
    return doc


def test_golden_c_returns_lower_inbound_by_the_resold_units() -> None:
    """Returns at 20 %, half resellable: 200 units come back (1.1 each), 100 are resold, and
    inbound falls from 1000 to 900. Objective 900 × 10 + 1000 × 1 + 200 × 1.1 = 10220."""
    base = plan_of(returns_doc(0.0, 0.0))
    p = plan_of(returns_doc(0.2, 0.5))
    inb = sum(r["units"] for r in base["replenishment"])
    inb_r = sum(r["units"] for r in p["replenishment"])
    assert inb == pytest.approx(1000.0)
    assert inb - inb_r == pytest.approx(100.0)
    assert p["objective"] == pytest.approx(10220.0, rel=1e-9)
    assert p["cost"]["returns"] == pytest.approx(220.0)
    [r] = p["returns"]
    assert (r["country"], r["warehouse"]) == ("MY", "WH-B")
    assert (r["units"], r["resold_units"]) == (pytest.approx(200.0), pytest.approx(100.0))


def test_returns_without_a_returns_warehouse_are_written_off_at_value() -> None:
    """No warehouse takes returns: 200 returned units are written off at their value (5)."""
    doc = returns_doc(0.2, 0.5)
    del doc["nodes"][2]["returns_handling_cost_per_unit"]
    p = plan_of(doc)
    assert p["cost"]["returns"] == pytest.approx(1000.0)
    [r] = p["returns"]
    assert r["warehouse"] is None and r["units"] == pytest.approx(200.0)
    assert sum(x["units"] for x in p["replenishment"]) == pytest.approx(1000.0)


def test_in_transit_units_serve_only_after_they_arrive() -> None:
    """800 units in transit to WH-B arriving after 7 days (a quarter of the horizon) can
    serve at most the 600 units shipped after that; the first 200 come by inbound."""
    doc = stranded_doc(0.5)
    doc["lanes"].pop()  # no transfer lane
    doc["inventory"] = [
        {"sku": "K", "warehouse": "WH-B", "in_transit": 800, "arrives_in_hours": 168}
    ]
    p = plan_of(doc)
    [lot] = p["inventory"]
    assert lot["used_here"] == pytest.approx(600.0)
    assert lot["left"] == pytest.approx(200.0)
    assert sum(r["units"] for r in p["replenishment"]) == pytest.approx(200.0)


def test_v1_documents_plan_exactly_as_before() -> None:
    """No v1.1 key: the objective of the tiny scenario is the v1 figure (measured on the
    code before format v1.1), the new cost keys are zero, no transfer nor return is listed,
    and with nothing in stock tonight's orders are the whole stocking levels."""
    p = plan_of(json.loads((DATA / "tiny-my.json").read_text()))
    assert p["objective"] == pytest.approx(31543.83530489364, rel=1e-12)
    assert p["cost"]["transfer"] == p["cost"]["returns"] == p["cost"]["stability"] == 0.0
    assert p["transfers"] == p["returns"] == []
    levels = {(r["sku"], r["warehouse"]): r["units"] for r in p["stock"]}
    assert {(r["sku"], r["warehouse"]): r["units"] for r in p["orders"]} == levels


def test_shared_v11_example_loads_and_plans() -> None:
    """The v1.1 example document loads and plans; every plan row is evaluator-checked."""
    s = load_scenario(DATA / "tiny-my-v11.json")
    assert len(s.inventory) == 2 and len(s.returns) == 2
    out = plan_scenario(s, AllocationParams(relative_gap=0))
    assert out.evaluation is not None and out.evaluation.feasible
    assert out.evaluation.total == pytest.approx(out.plan.to_json()["objective"], rel=1e-9)
    assert out.plan.to_json()["returns"]


def test_stability_keeps_the_previous_levels_when_moving_costs_more() -> None:
    """Re-planned with itself as the previous plan and demand 5 % lower, a high stability
    penalty keeps every stocking level; without a previous plan the levels follow demand."""
    doc = stranded_doc(12.0)
    doc["service"]["stability_penalty_per_unit"] = 50.0
    first = plan_of(doc)
    lower = copy.deepcopy(doc)
    lower["demand"][0]["units"] = 760
    free = plan_of(lower)
    kept = plan_of(lower, previous=first)
    lv = {(r["sku"], r["warehouse"]): r["units"] for r in first["stock"]}
    assert {(r["sku"], r["warehouse"]): r["units"] for r in kept["stock"]} == lv
    assert {(r["sku"], r["warehouse"]): r["units"] for r in free["stock"]} != lv
    assert kept["cost"]["stability"] == 0.0


def _previous_doc(stock: list[tuple[str, str, float]], warehouses: dict[str, bool]) -> dict:
    """A previous plan document: stocking levels (SKU, warehouse, units) and warehouses (id:
    open)."""
    return {
        "scenario": "previous",
        "status": "optimal",
        "objective": 0.0,
        "bound": None,
        "gap": None,
        "solve_seconds": 0.0,
        "stock": [{"sku": k, "warehouse": w, "units": u} for k, w, u in stock],
        "warehouses": [
            {"id": w, "open": o, "storage_used_m3": 0.1 if o else 0, "throughput_used_per_day": 0}
            for w, o in warehouses.items()
        ],
    }


def test_stability_charges_moved_units_and_warehouse_changes() -> None:
    """A previous plan with WH-B closed and a stock level of 100 at WH-A: the stability term
    is penalty × Σ|ΔS| plus WH-B's fixed cost once (opened against the previous plan)."""
    doc = stranded_doc(12.0)
    doc["service"]["stability_penalty_per_unit"] = 0.01
    doc["nodes"][2]["status"] = "candidate"
    doc["nodes"][2]["fixed_cost"] = 3.0
    prev = _previous_doc([("K", "WH-A", 100)], {"WH-A": True, "WH-B": False})
    p = plan_of(doc, previous=prev)
    s = {(r["sku"], r["warehouse"]): r["units"] for r in p["stock"]}
    moved = abs(s.get(("K", "WH-A"), 0) - 100) + s.get(("K", "WH-B"), 0)
    assert p["cost"]["stability"] == pytest.approx(0.01 * moved + 3.0)


def test_a_previous_plan_that_shares_nothing_with_the_network_is_warned_of(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A previous plan of another scenario (none of its SKUs, warehouses) was taken without a
    word, as if it were empty; ``whatif`` refuses such a base plan. Rows of SKUs a catalogue
    dropped are still ignored quietly when some rows match."""
    data = compile_network(parse_scenario(stranded_doc(12.0)))

    def prev(stock: list[tuple[str, str]], open_: list[str]) -> Plan:
        return Plan.from_json(
            _previous_doc([(k, w, 10) for k, w in stock], dict.fromkeys(open_, True))
        )

    with caplog.at_level("WARNING", logger="optimizer.plan.state"):
        attach_previous(data, prev([("OTHER", "WH-X")], ["WH-X"]))
    said = [r.getMessage() for r in caplog.records]
    assert any("none of its 1 stock row(s) and 1 open warehouse(s)" in m for m in said), said
    caplog.clear()
    with caplog.at_level("WARNING", logger="optimizer.plan.state"):
        out = attach_previous(data, prev([("OTHER", "WH-X"), ("K", "WH-A")], ["WH-A"]))
    assert not caplog.records
    assert out.prev_units.tolist() == [10.0]


def test_an_order_without_replenishment_names_an_inbound_path() -> None:
    """No demand tonight, but a stability penalty keeps last night's level of 500 at WH-B:
    tonight's order (500 units) has no replenishment row to take its lanes from; it was
    written with no lanes (``K,WH-B,500,`` in orders.csv, nothing to book it on) and now
    names the cheapest inbound path into WH-B (the only one here: O-B)."""
    doc = stranded_doc(0.5)
    doc["service"]["stability_penalty_per_unit"] = 100.0
    doc["inventory"] = []
    doc["demand"][0]["units"] = 0
    prev = plan_of(stranded_doc(0.5))
    prev["stock"] = [{"sku": "K", "warehouse": "WH-B", "units": 500}]
    p = plan_of(doc, previous=prev)
    assert p["replenishment"] == []
    assert p["orders"] == [{"sku": "K", "warehouse": "WH-B", "lanes": ["O-B"], "units": 500.0}]


def test_evaluator_catches_tampered_state_rows() -> None:
    """Changing a transfer, a lot's use or a returns row makes the evaluator object."""
    p = plan_of(stranded_doc(0.5))
    data = compile_network(parse_scenario(stranded_doc(0.5)))
    bad = copy.deepcopy(p)
    bad["transfers"][0]["units"] += 5
    assert evaluate(data, Plan.from_json(bad)).violations
    bad = copy.deepcopy(p)
    bad["inventory"][0]["left"] += 5
    assert evaluate(data, Plan.from_json(bad)).violations
    bad = copy.deepcopy(p)
    bad["inventory"][1]["units"] = 50  # tonight's state has 20 at WH-B
    assert evaluate(data, Plan.from_json(bad)).violations
    pc = plan_of(returns_doc(0.2, 0.5))
    datac = compile_network(parse_scenario(returns_doc(0.2, 0.5)))
    bad = copy.deepcopy(pc)
    bad["returns"][0]["units"] = 100.0  # 200 are due
    assert evaluate(datac, Plan.from_json(bad)).violations
    bad = copy.deepcopy(pc)
    bad["returns"][0]["resold_units"] = 200.0
    assert evaluate(datac, Plan.from_json(bad)).violations


def _orders_doc() -> dict[str, Any]:
    """Golden B (an order of 454 units on O-B into WH-B) with two dear inbound lanes the plan
    does not use: O-A into WH-A and O-B2, a second (faster) path into WH-B."""
    doc = stranded_doc(12.0)
    doc["lanes"] += [
        {
            "id": "O-A",
            "from": "O",
            "to": "WH-A",
            "mode": "sea",
            "distance_km": 0.0,
            "transit_hours": 240.0,
            "cost_per_unit": 50.0,
        },
        {
            "id": "O-B2",
            "from": "O",
            "to": "WH-B",
            "mode": "air",
            "distance_km": 0.0,
            "transit_hours": 48.0,
            "cost_per_unit": 50.0,
        },
    ]
    return doc


def _violations(data: Any, plan: dict[str, Any]) -> tuple[str, ...]:
    return evaluate(data, Plan.from_json(plan)).violations


ORDER_EDITS = [
    ({"units": 459.0}, "orders[0] (sku 'K', warehouse 'WH-B'): 459 units ordered"),
    ({"units": 453.0}, "orders[0] (sku 'K', warehouse 'WH-B'): 453 units ordered"),
    ({"units": -454.0}, "orders[0] (sku 'K', warehouse 'WH-B'): negative units"),
    ({"units": 454.5}, "orders[0] (sku 'K', warehouse 'WH-B'): 454.5 units is not a whole"),
    ({"lanes": []}, "orders[0] (sku 'K', warehouse 'WH-B'): 454 units on no lanes"),
    ({"lanes": ["O-A"]}, "orders[0] (sku 'K', warehouse 'WH-B'): lanes ['O-A'] end at 'WH-A'"),
    ({"lanes": ["B-Z"]}, "lanes ['B-Z'] are no inbound path of the network"),
    ({"lanes": ["O-B2"]}, "lanes ['O-B2'] are not the plan's largest replenishment path"),
]


@pytest.mark.parametrize(("edit", "expect"), ORDER_EDITS)
def test_evaluator_recomputes_tonights_orders(edit: dict[str, Any], expect: str) -> None:
    """An order's units are the stocking level (474) less the inventory position (20 on
    hand), rounded up, on the inbound path the plan replenishes by: a changed order is
    refused, naming its row."""
    doc = _orders_doc()
    p = plan_of(doc)
    data = compile_network(parse_scenario(doc))
    assert p["orders"] == [{"sku": "K", "warehouse": "WH-B", "lanes": ["O-B"], "units": 454.0}]
    bad = copy.deepcopy(p)
    bad["orders"][0].update(edit)
    v = _violations(data, bad)
    assert any(expect in x for x in v), v


def test_evaluator_requires_the_orders_the_levels_need() -> None:
    """A deleted order, an order where nothing is needed, and an order left as it was when
    the stocking level changes are refused, naming the row or the SKU and warehouse."""
    doc = _orders_doc()
    p = plan_of(doc)
    data = compile_network(parse_scenario(doc))
    bad = copy.deepcopy(p)
    bad["orders"] = []
    v = _violations(data, bad)
    assert any("SKU 'K' at 'WH-B': no order" in x and "needs 454" in x for x in v), v
    bad = copy.deepcopy(p)
    bad["orders"].append({"sku": "K", "warehouse": "WH-A", "lanes": ["O-A"], "units": 10.0})
    v = _violations(data, bad)
    assert any("orders[1] (sku 'K', warehouse 'WH-A'): 10 units ordered" in x for x in v), v
    bad = copy.deepcopy(p)
    j = next(i for i, r in enumerate(p["stock"]) if r["warehouse"] == "WH-B")
    bad["stock"][j]["units"] += 10  # above the rule: allowed, but the order must follow
    bad["warehouses"][1]["storage_used_m3"] += 10 * 0.001
    v = _violations(data, bad)
    assert v == (
        (
            "orders[0] (sku 'K', warehouse 'WH-B'): 454 units ordered, the stocking level 484 "
            "less the inventory position (on hand 20 + in transit 0 + transfers in 0 - out 0) "
            "needs 464"
        ),
    ), v
    # golden A: 780 units move A -> B and cover the level at WH-B, nothing is ordered; a
    # transfer the inventory rows do not move is refused by the lot rules, not here
    pa = plan_of(stranded_doc(0.5))
    assert pa["orders"] == []
    assert not _violations(compile_network(parse_scenario(stranded_doc(0.5))), pa)


def test_evaluator_checks_stock_on_hand_and_warehouse_use() -> None:
    """A stock row's on_hand or in_transit that is not tonight's, and a warehouse's reported
    storage or throughput use that its rows do not give, are refused, naming the row."""
    doc = stranded_doc(12.0)
    doc["inventory"].append(
        {"sku": "K", "warehouse": "WH-B", "in_transit": 5, "arrives_in_hours": 48}
    )
    p = plan_of(doc)
    data = compile_network(parse_scenario(doc))
    j = next(i for i, r in enumerate(p["stock"]) if r["warehouse"] == "WH-B")
    assert (p["stock"][j]["on_hand"], p["stock"][j]["in_transit"]) == (20.0, 5.0)
    row = f"stock[{j}] (sku 'K', warehouse 'WH-B')"
    for key, value, expect in (
        ("on_hand", 120.0, f"{row}: on_hand 120, tonight's state has 20"),
        ("in_transit", 0.0, f"{row}: in_transit 0, tonight's state has 5"),
    ):
        bad = copy.deepcopy(p)
        bad["stock"][j][key] = value
        v = _violations(data, bad)
        assert any(expect in x for x in v), v
    w = next(i for i, r in enumerate(p["warehouses"]) if r["id"] == "WH-B")
    for key, expect in (
        ("storage_used_m3", "reports storage_used_m3"),
        ("throughput_used_per_day", "reports throughput_used_per_day"),
    ):
        bad = copy.deepcopy(p)
        bad["warehouses"][w][key] = p["warehouses"][w][key] / 2
        v = _violations(data, bad)
        assert any(f"warehouses[{w}] ('WH-B'): {expect}" in x for x in v), v


def test_evaluator_refuses_negative_surplus() -> None:
    """A surplus row of -50 units balances 50 units less replenishment: without a check the
    evaluator found the tampered plan feasible and 500 cheaper (inbound at 10 a unit)."""
    doc = returns_doc(0.2, 0.5)
    p = plan_of(doc)
    data = compile_network(parse_scenario(doc))
    bad = copy.deepcopy(p)
    bad["replenishment"][0]["units"] -= 50.0
    bad["surplus"] = [{"sku": "K", "warehouse": "WH-B", "units": -50.0}]
    ev = evaluate(data, Plan.from_json(bad))
    assert ev.total < p["objective"] - 400.0
    assert any("surplus[0]" in v and "negative" in v for v in ev.violations), ev.violations


# -- random v1.1 instances ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_mip_matches_brute_force_with_inventory_and_transfers(seed: int) -> None:
    """Enumerating every warehouse set (the rest solved with y fixed, no binaries left, every
    option kept) and taking the cheapest evaluator-checked plan gives the MIP optimum, on
    random instances with inventory, transfer lanes and returns."""
    rng = np.random.default_rng(100 + seed)
    doc = random_state_doc(rng, caps=True)
    for n in doc["nodes"]:
        n.pop("storage_m3", None)
    data = compile_network(parse_scenario(doc))
    cols = build_columns(data, prune=False)
    mip = solve_allocation(data, AllocationParams(relative_gap=0), columns=build_columns(data))
    assert mip.status is Status.OPTIMAL
    best = np.inf
    for ys in itertools.product((0.0, 1.0), repeat=len(data.warehouses)):
        r = solve_allocation(
            data, AllocationParams(relative_gap=0), columns=cols, y_fixed=np.array(ys)
        )
        if r.solution is None or set(r.notes) - set(mip.notes):
            continue
        plan = plan_dict(
            data,
            cols,
            r.solution,
            status="x",
            objective=r.objective,
            bound=r.bound,
            solve_seconds=0,
        )
        ev = evaluate(data, plan)
        assert ev.feasible, ev.violations
        assert ev.total == pytest.approx(r.objective, rel=1e-9, abs=1e-6)
        best = min(best, ev.total)
    assert mip.objective == pytest.approx(best, rel=1e-7, abs=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), with_previous=st.booleans())
# rounding stock overflowed a 0.9 m³ warehouse and the one-unit-per-SKU margin left no flows:
# the plan fell back to the naive one, which breaks storage and a lane capacity
@example(seed=860, with_previous=False)
# integer stock could not reach the relaxation's lowered on-time target on its warehouses: the
# naive plan again (storage 2.62 m3 of 0.61); now the exact model with the target it can reach
@example(seed=1048, with_previous=False)
def test_any_optimised_state_plan_passes_the_evaluator(seed: int, with_previous: bool) -> None:
    """Random small networks with random inventory, transfer lanes and returns (and, half
    the time, a previous plan of perturbed demand): the plan is feasible for the independent
    evaluator and its objective is the evaluator's total, term by term."""
    rng = np.random.default_rng(seed)
    doc = random_state_doc(rng)
    prev = None
    if with_previous:
        other = copy.deepcopy(doc)
        for d in other["demand"]:
            d["units"] = float(max(0.0, d["units"] * rng.uniform(0.8, 1.2)))
        prev = plan_scenario(parse_scenario(other), AllocationParams(time_limit=20)).plan
    out = plan_scenario(parse_scenario(doc), AllocationParams(time_limit=20), previous=prev)
    if out.plan.to_json()["objective"] is None:
        return
    ev = out.evaluation
    assert ev is not None
    assert ev.feasible, ev.violations
    assert ev.total == pytest.approx(out.plan.to_json()["objective"], rel=1e-7, abs=1e-5)
    for k, v in ev.cost.items():
        assert out.plan.to_json()["cost"][k] == pytest.approx(v, rel=1e-7, abs=1e-5), k
    for row in out.plan.to_json()["orders"]:
        assert row["units"] > 0


def test_naive_baseline_uses_the_stock_where_it_is() -> None:
    """The naive plan serves from WH-B's stock and orders the rest; it never transfers."""
    s = parse_scenario(stranded_doc(0.5))
    out = plan_scenario(s, AllocationParams(relative_gap=0, baseline="naive"))
    b = out.plan.to_json()["baseline"]
    # 20 units at WH-B are used, 780 come in at 10: 7800 + 800 last mile
    assert b["cost"]["inbound"] == pytest.approx(7800.0)
    assert b["cost"]["transfer"] == 0.0
    assert b["saving"] == pytest.approx(b["objective"] - out.plan.to_json()["objective"])


def test_previous_plan_must_be_a_plan() -> None:
    """A previous document without stock or warehouses is refused, naming the key."""
    from optimizer.exceptions import InvalidNetworkError

    data = compile_network(parse_scenario(stranded_doc(0.5)))
    no_stock = Plan(
        scenario="x",
        status=Status.OPTIMAL,
        objective=0.0,
        bound=None,
        gap=None,
        solve_seconds=0.0,
        warehouses=(),
    )
    with pytest.raises(InvalidNetworkError, match="'stock'"):
        attach_previous(data, no_stock)
    # a negative level is named by its index in the plan's own list, rows of SKUs this network
    # no longer has included (it was counted after dropping them)
    from optimizer.plan.document import StockRow

    bad = dataclasses.replace(
        no_stock,
        stock=(StockRow("SKU-GONE", "WH-GONE", 5.0), StockRow(data.skus[0], "WH-X", -10.0)),
    )
    with pytest.raises(InvalidNetworkError, match=r"stock\[1\]\.units -10\.0 is negative"):
        attach_previous(data, bad)


def test_cli_plan_with_inventory_csv_and_previous(tmp_path: Path) -> None:
    """``tradelane plan --inventory CSV --previous PLAN.json`` writes orders.csv and
    transfers.csv beside plan.json; the CSV's stock replaces the document's."""
    from api.cli import main

    doc = stranded_doc(0.5)
    doc["inventory"] = []
    scen = tmp_path / "s.json"
    scen.write_text(json.dumps(doc))
    inv = tmp_path / "inv.csv"
    inv.write_text("sku,warehouse,on_hand\nK,WH-A,1000\nK,WH-B,20\n")
    first = tmp_path / "first"
    assert main(["plan", str(scen), "--out", str(first), "--no-map", "--quiet"]) == 0
    p0 = json.loads((first / "plan.json").read_text())
    assert p0["transfers"] == []
    out = tmp_path / "out"
    code = main(
        [
            "plan",
            str(scen),
            "--out",
            str(out),
            "--no-map",
            "--quiet",
            "--inventory",
            str(inv),
            "--previous",
            str(first / "plan.json"),
        ]
    )
    assert code == 0
    p = json.loads((out / "plan.json").read_text())
    assert p["transfers"][0]["units"] == pytest.approx(780.0)
    lines = (out / "transfers.csv").read_text().splitlines()
    assert lines == ["sku,from,to,lane,units,hours", "K,WH-A,WH-B,A-B,780,10.0"]
    assert (out / "orders.csv").read_text().splitlines()[0] == "sku,warehouse,units,lanes"
    orders0 = (first / "orders.csv").read_text().splitlines()
    assert orders0[1].startswith("K,WH-B,")


@pytest.mark.parametrize(
    ("csv_text", "flag", "expected"),
    [
        ("sku,warehouse,on_hand\nK,WH-X,5\n", "--inventory", "unknown warehouse 'WH-X'"),
        ("sku,warehouse,on_hand\nK,WH-A,x\n", "--inventory", "inv.csv line 2: on_hand 'x'"),
        ("{not json", "--previous", "--previous: inv.csv line 1: invalid JSON"),
        ('{"stock": []}', "--previous", "inv.csv is not a plan: status: missing"),
        (
            (
                '{"scenario": "s", "status": "optimal", "objective": 1, "bound": null, '
                '"gap": null, "solve_seconds": 0, "stock": []}'
            ),
            "--previous",
            "no 'warehouses' list",
        ),
    ],
)
def test_cli_bad_state_input_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], csv_text: str, flag: str, expected: str
) -> None:
    from api.cli import main

    scen = tmp_path / "s.json"
    scen.write_text(json.dumps(stranded_doc(0.5)))
    bad = tmp_path / "inv.csv"
    bad.write_text(csv_text)
    code = main(["plan", str(scen), "--out", str(tmp_path / "o"), "--quiet", flag, str(bad)])
    assert code == 2
    assert expected in capsys.readouterr().err


def test_large_model_path_with_state_gives_an_evaluated_plan() -> None:
    """With the decomposition asked for, tonight's state is solved on last night's warehouses
    (or, without a previous plan, the decomposition's): the plan passes the evaluator, claims
    no bound and says why; here the warehouses are fixed open, so it is the optimum (1190)."""
    s = parse_scenario(stranded_doc(0.5))
    prev = plan_scenario(s, AllocationParams(relative_gap=0)).plan
    out = plan_scenario(
        s, AllocationParams(relative_gap=0, strategy="decompose", time_limit=30), previous=prev
    )
    p = out.plan.to_json()
    assert p["status"] == "feasible" and p["bound"] is None and p["gap"] is None
    assert p["strategy"] == "decompose+state"
    assert any("no lower bound of the model with state" in n for n in p["notes"])
    assert out.evaluation is not None and out.evaluation.feasible
    assert out.evaluation.total == pytest.approx(p["objective"], rel=1e-9)
    assert p["objective"] == pytest.approx(1190.0, rel=1e-9)
    # without a previous plan: the decomposition's warehouses
    out = plan_scenario(s, AllocationParams(relative_gap=0, strategy="decompose", time_limit=30))
    assert out.plan.to_json()["strategy"] == "decompose+state"
    assert out.evaluation is not None and out.evaluation.feasible
    assert out.plan.to_json()["objective"] == pytest.approx(1190.0, rel=1e-9)


@pytest.mark.parametrize(("seed", "caps"), [(s, c) for s in range(6) for c in (False, True)])
def test_replanning_against_itself_costs_what_it_cost(seed: int, caps: bool) -> None:
    """A plan given as its own previous plan can be kept exactly (no stability cost), so the
    re-plan costs no more; only the rounding of stocking levels, which a previous plan's
    model charges as on-hand holding, may add up to 0.1 %. The storage rows once put the
    levels of warehouses without finite storage into the last stocking-level row whenever a
    previous plan modelled them: on seed 1 with capacities the re-plan cost 8,671.69 against
    5,731.39, and with last night's warehouses fixed 28,441.71 (lost sales)."""
    s = parse_scenario(random_state_doc(np.random.default_rng(seed), caps=caps))
    params = AllocationParams(time_limit=30, relative_gap=0)
    first = plan_scenario(s, params)
    p0 = first.plan.to_json()
    for strategy in ("monolithic", "decompose"):
        again = plan_scenario(s, params.replace(strategy=strategy), previous=first.plan)
        p1 = again.plan.to_json()
        assert again.evaluation is not None and again.evaluation.feasible
        assert p1["objective"] <= p0["objective"] * (1 + 1e-3) + 1e-6, (strategy, p1["cost"])
        assert p1["cost"]["lost_sale_penalty"] <= p0["cost"]["lost_sale_penalty"] + 1e-6


def test_row_blocks_refuse_rows_outside_the_block() -> None:
    """A row number outside its block would add to another block's row: refused."""
    from optimizer.allocation.model import RowBlocks

    rows = RowBlocks()
    rows.block("a", np.array([0, 1]), np.array([0, 1]), np.ones(2), np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match=r"'b'.*-1"):
        rows.block("b", np.array([-1]), np.array([0]), np.ones(1), np.zeros(1), np.ones(1))
    with pytest.raises(ValueError, match="'c'"):
        rows.block("c", np.array([1]), np.array([0]), np.ones(1), np.zeros(1), np.ones(1))


def test_v11_plan_round_trips_through_the_typed_plan() -> None:
    """A plan with every v1.1 section (transfers, orders, returns taken and written off,
    lots, stock on hand / in transit, the three new cost terms) survives
    Plan.from_json/to_json unchanged, key order included."""
    from optimizer.plan.document import Plan

    doc = stranded_doc(12.0)
    doc["nodes"][2]["returns_handling_cost_per_unit"] = 0.1
    doc["returns"] = [{"country": "MY", "rate": 0.2, "resellable_share": 0.5}]
    doc["inventory"].append(
        {"sku": "K", "warehouse": "WH-B", "in_transit": 5, "arrives_in_hours": 48}
    )
    p = plan_of(doc)
    wo = copy.deepcopy(returns_doc(0.2, 0.5))
    del wo["nodes"][2]["returns_handling_cost_per_unit"]
    p_wo = plan_of(wo)
    for plan in (p, p_wo, plan_of(stranded_doc(0.5))):
        typed = Plan.from_json(json.loads(json.dumps(plan)))
        assert json.dumps(typed.to_json()) == json.dumps(plan)
    typed = Plan.from_json(p_wo)
    assert typed.returns is not None and typed.returns[0].warehouse is None
    assert typed.cost is not None and typed.cost.returns == pytest.approx(1000.0)


@pytest.mark.parametrize("seed", range(3))
def test_dropping_closed_warehouse_columns_keeps_the_fixed_y_optimum(seed: int) -> None:
    """With warehouses fixed, the columns at unused ones can go (drop_closed): same optimum,
    evaluator-checked, on random instances with state."""
    from optimizer.allocation.columns import drop_closed

    rng = np.random.default_rng(300 + seed)
    doc = random_state_doc(rng, caps=False)
    data = compile_network(parse_scenario(doc))
    cols = build_columns(data)
    y = np.zeros(len(data.warehouses))
    y[: max(1, len(y) - 1)] = 1.0
    full = solve_allocation(data, AllocationParams(relative_gap=0), columns=cols, y_fixed=y)
    small_cols = drop_closed(cols, y)
    assert len(small_cols.x_pair) < len(cols.x_pair)
    small = solve_allocation(data, AllocationParams(relative_gap=0), columns=small_cols, y_fixed=y)
    assert small.objective == pytest.approx(full.objective, rel=1e-7, abs=1e-6)
    assert small.solution is not None
    plan = plan_dict(
        data,
        small_cols,
        small.solution,
        status="x",
        objective=small.objective,
        bound=0.0,
        solve_seconds=0,
    )
    ev = evaluate(data, plan)
    assert ev.feasible, ev.violations
    assert ev.total == pytest.approx(small.objective, rel=1e-9, abs=1e-6)


def test_large_model_path_returns_to_last_nights_levels() -> None:
    """me-small, demand moved by ±5 % (seed 0), penalty 2: the large-model path with last
    night's plan keeps every stocking level, as the monolithic model does (it once restricted
    inbound options and kept all the churn)."""
    from benchmarks.stability import churn, noisy

    base = load_scenario(Path(__file__).resolve().parents[3] / "datasets" / "me-small")
    params = AllocationParams(time_limit=60, relative_gap=1e-3)
    night0 = plan_scenario(base, params).plan
    moved = noisy(base, 0.05, 0, 2.0)
    mono = plan_scenario(moved, params, previous=night0).plan.to_json()
    large = plan_scenario(moved, params.replace(strategy="decompose"), previous=night0).plan
    large = large.to_json()
    assert large["strategy"] == "decompose+state"
    assert churn(night0.to_json(), mono)[0] == 0.0
    assert churn(night0.to_json(), large)[0] == 0.0
    assert large["objective"] == pytest.approx(mono["objective"], rel=1e-3)


def _lot_plan(lot: float, units: list[float]) -> Any:
    """A plan moving ``units`` from one on-hand lot of ``lot`` units at WH-A to WH-B and
    WH-C."""
    return Plan.from_json(
        {
            "scenario": "s",
            "status": "optimal",
            "objective": 1.0,
            "bound": 1.0,
            "gap": 0.0,
            "solve_seconds": 1.0,
            "transfers": [
                {
                    "sku": "K",
                    "from": "WH-A",
                    "to": to,
                    "lane": f"A-{to}",
                    "units": u,
                    "hours": 10.0,
                    "lot": "on_hand",
                    "available_in_hours": 10.0,
                }
                for to, u in zip(("WH-B", "WH-C"), units, strict=False)
            ],
            "inventory": [
                {
                    "sku": "K",
                    "warehouse": "WH-A",
                    "kind": "on_hand",
                    "units": lot,
                    "arrives_in_hours": None,
                    "used_here": lot - sum(units),
                    "transferred": sum(units),
                    "left": 0.0,
                }
            ],
        }
    )


@pytest.mark.parametrize(
    ("lot", "units", "booked"),
    [
        (501.0, [337.5, 163.5], [338, 163]),  # each row rounded alone (half to even): 502
        (500.6, [300.3, 200.3], [300, 200]),  # their 500.6 would round to 501: one too many
        (800.0, [337.14, 462.86], [337, 463]),
        (800.0, [7.6], [8]),
    ],
)
def test_transfers_csv_never_books_more_than_the_lot_holds(
    lot: float, units: list[float], booked: list[int]
) -> None:
    """transfers.csv books whole units, each row within one unit of the plan's, and the rows
    of one lot never add up to more than the lot's whole units."""
    from optimizer.plan.io import state_csv

    lines = state_csv(_lot_plan(lot, units))["transfers.csv"].decode().splitlines()
    got = [int(line.split(",")[4]) for line in lines[1:]]
    assert got == booked
    assert sum(got) <= lot
    assert all(abs(g - u) < 1 for g, u in zip(got, units, strict=True))
