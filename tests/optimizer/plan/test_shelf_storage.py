"""Storage with tonight's state: every unit on a warehouse's shelves counts, the stocking
levels and the inventory the plan leaves there (on hand, or in transit arriving within the
horizon) and the resold surplus; a warehouse that tonight's lots alone overfill keeps them
(its capacity is their volume) and the plan says so.

The network is tiny-my-v11 with its demand of SKU-A and SKU-B five times over and a third
SKU with 400 units (4 m³) on hand at WH-KUL and a demand of 100: at least 3 m³ of it stays
on the shelf. WH-KUL's lots within the horizon take 5.8 m³ (with SKU-B's 300 units in
transit, 1.8 m³, arriving in 96 h); no transfer lane leaves WH-KUL.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from network.compile import NetworkData, compile_network
from network.scenario import parse_scenario
from optimizer.allocation.columns import build_columns
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.solve import solve_allocation
from optimizer.allocation.state_bound import solve_state_decomposed
from optimizer.plan.document import Plan, StockRow
from optimizer.plan.evaluate import evaluate
from optimizer.plan.planning import PlanOutcome, plan_scenario
from tests.helpers import evaluated_result

DATA = Path(__file__).resolve().parents[2] / "data"
KUL = "WH-KUL"


@cache
def _base() -> str:
    doc: dict[str, Any] = json.loads((DATA / "tiny-my-v11.json").read_text())
    for d in doc["demand"]:
        d["units"] *= 5
    doc["skus"].append(
        {
            "id": "SKU-C",
            "weight_kg": 2.0,
            "volume_m3": 0.01,
            "value": 30.0,
            "category": "home",
            "demand_cv": 0.5,
        }
    )
    doc["demand"].append({"sku": "SKU-C", "zone": "Z-KUL", "units": 100})
    doc["inventory"].append({"sku": "SKU-C", "warehouse": KUL, "on_hand": 400})
    return json.dumps(doc)


def _doc(kul_storage: float) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(_base())
    for n in doc["nodes"]:
        if n["id"] == KUL:
            n["storage_m3"] = kul_storage
    return doc


@cache
def _plan(kul_storage: float) -> PlanOutcome:
    s = parse_scenario(_doc(kul_storage))
    return plan_scenario(s, AllocationParams(relative_gap=0, strategy="monolithic", time_limit=30))


def _on_shelf(doc: dict[str, Any], plan: Plan, wh: str) -> tuple[float, float]:
    """(stocking levels, what else stays) in m³ at ``wh``, from the plan's rows."""
    vol = {k["id"]: k["volume_m3"] for k in doc["skus"]}
    levels = sum(r.units * vol[r.sku] for r in plan.stock or () if r.warehouse == wh)
    left = sum(r.left * vol[r.sku] for r in plan.inventory or () if r.warehouse == wh)
    kept = sum(r.units * vol[r.sku] for r in plan.surplus or () if r.warehouse == wh)
    return levels, left + kept


def _with_storage(data: NetworkData, wh: str, m3: float) -> NetworkData:
    st = data.wh_storage_m3.copy()
    st[data.warehouses.index(wh)] = m3
    return dataclasses.replace(data, wh_storage_m3=st)


def test_the_plan_fits_levels_and_the_stock_left_on_the_shelf() -> None:
    """At 12 m³ the levels alone would fit WH-KUL with the 3 m³ of SKU-C left beside them
    (the model without the shelf planned 12.0 + 3.0 m³): the plan now fits both, reports
    both in ``storage_used_m3`` (the left part as ``shelf_m3``) and the evaluator agrees."""
    doc = _doc(12.0)
    out = _plan(12.0)
    assert out.evaluation is not None and out.evaluation.feasible, out.evaluation.violations
    levels, shelf = _on_shelf(doc, out.plan, KUL)
    assert shelf >= 3.0 - 1e-6
    assert levels + shelf <= 12.0 * (1 + 1e-9)
    row = next(w for w in out.plan.warehouses or () if w.id == KUL)
    assert row.storage_used_m3 == pytest.approx(levels + shelf, rel=1e-9, abs=1e-9)
    assert row.shelf_m3 == pytest.approx(shelf, rel=1e-9, abs=1e-9)


def test_the_evaluator_counts_the_stock_left_on_the_shelf() -> None:
    """The same plan against 1 m³ less storage at WH-KUL: its levels still fit, levels and
    tonight's stock left do not, and the evaluator says so, naming the warehouse and both
    parts."""
    out = _plan(12.0)
    levels, shelf = _on_shelf(_doc(12.0), out.plan, KUL)
    assert levels <= 11.0 < levels + shelf  # the case: only the shelf overflows it
    data = _with_storage(compile_network(parse_scenario(_doc(12.0))), KUL, 11.0)
    ev = evaluate(data, out.plan)
    hits = [v for v in ev.violations if v.startswith(f"warehouse {KUL!r}: stock takes")]
    assert len(hits) == 1, ev.violations
    assert "tonight's stock left" in hits[0] and "storage is 11" in hits[0]


def test_the_evaluator_flags_a_plan_that_leaves_more_stock_on_the_shelf() -> None:
    """The plan with the SKU-C units it uses at WH-KUL (about 100, 1 m³) moved from
    ``used_here`` to ``left``: its levels and shelf now take more than the 12 m³, which the
    evaluator reports (with the unbalanced flows and the reported storage that no longer
    matches). (The optimum uses 97.5 of them, the storage-margin plan before it 100.)"""
    doc = _doc(12.0)
    out = _plan(12.0)
    before = sum(_on_shelf(doc, out.plan, KUL))
    inv = list(out.plan.inventory or ())
    j = next(i for i, r in enumerate(inv) if r.sku == "SKU-C" and r.used_here >= 50)
    moved = inv[j].used_here
    inv[j] = dataclasses.replace(inv[j], used_here=0.0, left=inv[j].left + moved)
    plan = dataclasses.replace(out.plan, inventory=tuple(inv))
    assert sum(_on_shelf(doc, plan, KUL)) == pytest.approx(before + 0.01 * moved)
    assert before + 0.01 * moved > 12.0  # the plan uses the storage to within that volume
    ev = evaluate(compile_network(parse_scenario(doc)), plan)
    hits = [v for v in ev.violations if v.startswith(f"warehouse {KUL!r}: stock takes")]
    assert len(hits) == 1 and "tonight's stock left" in hits[0], ev.violations
    assert any("reports storage_used_m3" in v and KUL in v for v in ev.violations)


def test_the_state_path_plan_fits_too() -> None:
    """The large-model path with state (fixed-warehouse LP with a storage margin, then
    integer levels if rounding overflows) plans within levels + shelf ≤ storage as well
    (WH-KUL made ``open``, so that its levels are planned whichever set wins), and its bound
    stays below the monolithic plan's cost (at least the optimum)."""
    doc = _doc(12.0)
    for n in doc["nodes"]:
        if n["id"] == KUL:
            n["status"] = "open"
    data = compile_network(parse_scenario(doc))
    cols = build_columns(data)
    p = AllocationParams(relative_gap=0, time_limit=10)
    res = solve_state_decomposed(data, p, columns=cols)
    plan, _ = evaluated_result(data, res)
    levels, shelf = _on_shelf(doc, plan, KUL)
    assert levels > 0 and shelf >= 3.0 - 1e-6
    assert levels + shelf <= 12.0 * (1 + 1e-9)
    mip = solve_allocation(data, p, columns=cols)
    assert mip.solution is not None
    assert res.bound <= mip.objective * (1 + 1e-9)


def test_the_state_path_uses_a_candidate_warehouse_that_holds_lots() -> None:
    """WH-KUL left a candidate: the aggregate, which knows no inventory, closes it, and its
    400 units of SKU-C then serve nothing (151,920 on that set against the optimum 112,483);
    the state path also tries the aggregate's set with every usable warehouse holding lots
    and plans within the LP restriction's margin of the exact optimum."""
    data = compile_network(parse_scenario(_doc(12.0)))
    cols = build_columns(data)
    p = AllocationParams(relative_gap=0, time_limit=10)
    res = solve_state_decomposed(data, p, columns=cols)
    mip = solve_allocation(data, p, columns=cols)
    assert res.solution is not None and mip.solution is not None
    assert mip.status.value == "optimal"
    assert res.objective >= mip.objective * (1 - 1e-9)
    assert res.objective <= mip.objective * 1.001, (res.objective, mip.objective)
    assert res.solution.y[data.warehouses.index(KUL)] == 1
    assert res.bound <= mip.objective * (1 + 1e-9)


@pytest.mark.parametrize("kul_storage", [4.0, 0.5])
def test_a_warehouse_overfull_tonight_keeps_its_stock(kul_storage: float) -> None:
    """WH-KUL's lots alone (5.8 m³ within the horizon) take more than its storage and no
    transfer lane leaves it: the plan is made (not infeasible), its capacity is taken as
    5.8 m³ (levels + shelf fit it; the levels alone fit the storage), the evaluator accepts
    it, and a note names the warehouse and the excess."""
    doc = _doc(kul_storage)
    out = _plan(kul_storage)
    p = out.plan
    assert p.status in ("optimal", "feasible")
    assert out.evaluation is not None and out.evaluation.feasible, out.evaluation.violations
    levels, shelf = _on_shelf(doc, p, KUL)
    assert levels <= kul_storage * (1 + 1e-9)
    assert levels + shelf <= 5.8 * (1 + 1e-9)
    excess = f"{5.8 - kul_storage:,.3f} m3 above its storage"
    notes = [n for n in p.notes or () if n.startswith(f"warehouse {KUL!r}")]
    assert len(notes) == 1 and excess in notes[0], p.notes


def test_an_overfull_warehouse_is_held_to_its_lots_volume() -> None:
    """The evaluator holds an overfull warehouse to its lots' volume, not beyond: the plan of
    the 4-m³ case with a stocking level of 3,000 more units of SKU-A (6.3 m³) at WH-KUL
    breaks both the storage (levels) and the 5.8 m³ (levels and shelf)."""
    doc = _doc(4.0)
    out = _plan(4.0)
    extra = StockRow(sku="SKU-A", warehouse=KUL, units=3000.0)
    plan = dataclasses.replace(out.plan, stock=(*(out.plan.stock or ()), extra))
    ev = evaluate(compile_network(parse_scenario(doc)), plan)
    hits = [v for v in ev.violations if v.startswith(f"warehouse {KUL!r}: stock takes")]
    assert len(hits) == 2, ev.violations
    assert any("storage is 4" in v and "tonight" not in v for v in hits)
    assert any("storage is 5.8" in v and "lots there alone take 5.8" in v for v in hits)
