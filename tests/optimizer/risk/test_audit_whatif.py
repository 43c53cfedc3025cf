"""Audit of the what-if figures: the held plan under shocks that change nothing, with tonight's
state (format v1.1), and shocks that change only what they say."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from network.compile import compile_network
from network.scenario import Scenario, parse_scenario
from optimizer.allocation.params import AllocationParams
from optimizer.plan.document import Plan
from optimizer.plan.evaluate import evaluate
from optimizer.plan.planning import plan_scenario
from optimizer.risk.shock import apply_shock, parse_shock
from optimizer.risk.whatif import hold_plan

DATA = Path(__file__).resolve().parents[2] / "data"
PARAMS = AllocationParams(time_limit=30)


def v11_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA / "tiny-my-v11.json").read_text())
    return doc


@functools.lru_cache(maxsize=4)
def _planned(text: str) -> tuple[Scenario, str]:
    s = parse_scenario(json.loads(text))
    return s, json.dumps(plan_scenario(s, PARAMS).plan.to_json())


def planned(doc: dict[str, Any]) -> tuple[Scenario, Plan]:
    """The scenario and a fresh copy of its plan (solved once per document)."""
    s, text = _planned(json.dumps(doc, sort_keys=True))
    return s, Plan.from_json(json.loads(text))


def state_only_doc() -> dict[str, Any]:
    """tiny-my-v11 with 2,000 units of SKU-B on hand at WH-KUL: the plan ships SKU-B from
    tonight's stock there and orders none of it."""
    doc = v11_doc()
    doc["inventory"].append({"sku": "SKU-B", "warehouse": "WH-KUL", "on_hand": 2000})
    return doc


def test_empty_shock_holds_a_plan_served_from_tonights_state_unchanged() -> None:
    """A (SKU, warehouse) pair the plan serves from tonight's stock alone (no replenishment)
    is not "cut off" by a shock that touches nothing. The hold policy used to read "no
    replenishment row kept" as "every inbound path closed": under an empty shock it sent
    SKU-B's 600 Z-KUL units direct and lost its 150 Z-PEN units, and the held plan cost
    46,677 against the base's 30,118, with two broken rules."""
    s, plan = planned(state_only_doc())
    assert not [r for r in plan.replenishment or () if r.sku == "SKU-B"]
    assert any(r.sku == "SKU-B" and r.source == "WH-KUL" for r in plan.fulfilment or ())
    applied = apply_shock(s, parse_shock({"name": "nothing", "changes": []}))
    shocked = compile_network(applied.scenario)
    held = hold_plan(plan, shocked)
    assert held.rerouted == ()
    assert held.lost_to_shock == 0.0
    base_ev = evaluate(compile_network(s), plan)
    hold_ev = evaluate(shocked, held.plan)
    assert not hold_ev.violations
    assert hold_ev.total == pytest.approx(base_ev.total, rel=1e-12)
    assert hold_ev.cost == pytest.approx(base_ev.cost, rel=1e-12, abs=1e-9)
    assert hold_ev.units_lost == pytest.approx(base_ev.units_lost, abs=1e-9)
