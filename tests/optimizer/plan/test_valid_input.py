"""Valid input never crashes the planner.

A hypothesis strategy generates *valid* v1 documents, including the corner cases users hit:
no warehouse (direct parcels only), no demand, one zone, zero capacities, unreachable zones,
every warehouse closed, huge and tiny numbers. Each goes through :func:`plan_scenario` and the
independent evaluator: it gives a plan (whose objective is the evaluator's total) or a named
:class:`ScenarioError`, never another exception.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.compile import compile_network
from network.scenario import ScenarioError, parse_scenario
from optimizer.allocation.params import AllocationParams
from optimizer.executor import InlineRunner
from optimizer.plan.evaluate import evaluate
from optimizer.plan.planning import plan_scenario

#: Magnitudes from "nothing" to "absurd": tiny and huge numbers are valid input.
AMOUNT = st.sampled_from([0.0, 1e-9, 1e-3, 0.5, 1.0, 7.0, 250.0, 1e5, 1e9])
HOURS = st.sampled_from([0.0, 1e-6, 2.0, 12.0, 48.0, 71.9, 72.0, 500.0, 1e6])
CAPACITY = st.sampled_from([None, None, 0.0, 1e-6, 1.0, 100.0, 1e12])
#: Points near Kuala Lumpur, Singapore and far away (unreachable by a short rate card).
PLACES = [("MY", 3.14, 101.69), ("MY", 5.41, 100.33), ("SG", 1.35, 103.82), ("MY", 6.4, 116.0)]


@st.composite
def v1_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid v1 scenario document (see the module docstring)."""
    n_wh = draw(st.integers(0, 3))
    n_zone = draw(st.integers(1, 3))
    n_sku = draw(st.integers(1, 3))
    nodes: list[dict[str, Any]] = [
        {"id": "CN-SZX", "kind": "origin", "lat": 22.54, "lon": 114.06, "country": "CN"},
        {"id": "MY-PKG", "kind": "gateway", "lat": 3.0, "lon": 101.39, "country": "MY"},
    ]
    statuses = st.sampled_from(["candidate", "candidate", "open", "closed"])
    all_closed = draw(st.booleans())
    for i in range(n_wh):
        c, lat, lon = draw(st.sampled_from(PLACES))
        nodes.append(
            {
                "id": f"WH-{i}",
                "kind": "warehouse",
                "lat": lat,
                "lon": lon,
                "country": c,
                "fixed_cost": draw(AMOUNT),
                "status": "closed" if all_closed else draw(statuses),
                "storage_m3": draw(CAPACITY),
                "throughput_units_per_day": draw(CAPACITY),
                "holding_cost_per_m3_day": draw(AMOUNT),
                "handling_cost_per_unit": draw(AMOUNT),
                "processing_hours": draw(HOURS),
                "bonded": draw(st.booleans()),
            }
        )
    for i in range(n_zone):
        c, lat, lon = draw(st.sampled_from(PLACES))
        nodes.append({"id": f"Z-{i}", "kind": "zone", "lat": lat, "lon": lon, "country": c})
    lanes: list[dict[str, Any]] = []

    def lane(frm: str, to: str, mode: str) -> None:
        lanes.append(
            {
                "id": f"L{len(lanes)}",
                "from": frm,
                "to": to,
                "mode": mode,
                "transit_hours": draw(HOURS),
                "clearance_hours": draw(st.sampled_from([0.0, 8.0])),
                "cost_per_unit": draw(AMOUNT),
                "cost_per_kg": draw(AMOUNT),
                "duty_rate": draw(st.sampled_from([None, 0.0, 0.1, 3.0])),
                "capacity_units_per_day": draw(CAPACITY),
                "capacity_kg_per_day": draw(CAPACITY),
            }
        )

    if draw(st.booleans()):
        lane("CN-SZX", "MY-PKG", "sea")
    for i in range(n_wh):
        if draw(st.booleans()):
            lane("MY-PKG", f"WH-{i}", "customs")
        if draw(st.booleans()):
            lane("CN-SZX", f"WH-{i}", "air")
        if n_wh > 1 and draw(st.booleans()):
            lane(f"WH-{i}", f"WH-{(i + 1) % n_wh}", "transfer")
    for z in range(n_zone):
        if draw(st.booleans()):
            lane("CN-SZX", f"Z-{z}", "express")
        if n_wh and draw(st.booleans()):
            lane(f"WH-{draw(st.integers(0, n_wh - 1))}", f"Z-{z}", "truck")
    rate_cards = [
        {
            "id": f"RC-{c}",
            "country": c,
            "base_hours": draw(HOURS),
            "km_per_hour": draw(st.sampled_from([1e-3, 45.0, 1e6])),
            "max_km": draw(st.sampled_from([0.0, 50.0, 900.0, 1e9])),
            "cost_per_unit": draw(AMOUNT),
            "capacity_units_per_day": draw(CAPACITY),
        }
        for c in draw(st.sets(st.sampled_from(["MY", "SG"])))
    ]
    skus = [
        {
            "id": f"SKU-{k}",
            "weight_kg": draw(AMOUNT),
            "volume_m3": draw(AMOUNT),
            "value": draw(AMOUNT),
            "demand_cv": draw(st.sampled_from([0.0, 0.6, 5.0])),
        }
        for k in range(n_sku)
    ]
    pairs = [(k, z) for k in range(n_sku) for z in range(n_zone)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs)))
    demand = [
        {"sku": f"SKU-{k}", "zone": f"Z-{z}", "units": draw(AMOUNT | st.just(3e7))}
        for k, z in chosen
    ]
    return {
        "name": "generated",
        "horizon_days": draw(st.sampled_from([1e-3, 1.0, 28.0, 3650.0])),
        "service": {
            "promise_hours": draw(HOURS),
            "min_on_time_share": draw(st.sampled_from([0.0, 0.5, 0.95, 1.0])),
            "late_penalty_per_unit": draw(AMOUNT),
            "lost_sale_penalty_per_unit": draw(AMOUNT),
            "review_period_days": draw(st.sampled_from([0.0, 7.0, 365.0])),
            "safety_z": draw(st.sampled_from([0.0, 1.65, 10.0])),
        },
        "nodes": nodes,
        "lanes": lanes,
        "rate_cards": rate_cards,
        "skus": skus,
        "demand": demand,
    }


def _plan_or_named_error(doc: dict[str, Any], strategy: str) -> None:
    try:
        scenario = parse_scenario(doc)
    except ScenarioError as e:
        assert e.problems, "a ScenarioError names its problems"
        return
    try:
        out = plan_scenario(
            scenario,
            AllocationParams(time_limit=20, strategy=strategy),
            executor=InlineRunner(),
        )
    except ScenarioError as e:
        assert e.problems
        return
    plan = out.plan.to_json()
    if plan["objective"] is None:
        # only a model with no plan at all may come back empty, and it says so
        assert plan["status"] == "infeasible", plan["status"]
        return
    assert math.isfinite(plan["objective"])
    ev = evaluate(compile_network(scenario), out.plan)
    assert ev.total == pytest.approx(plan["objective"], rel=1e-6, abs=1e-6)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doc=v1_documents())
def test_valid_documents_give_a_plan_or_a_named_error(doc: dict[str, Any]) -> None:
    _plan_or_named_error(doc, "monolithic")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doc=v1_documents())
def test_valid_documents_decomposed(doc: dict[str, Any]) -> None:
    _plan_or_named_error(doc, "decompose")


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doc=v1_documents())
def test_valid_documents_in_sku_blocks(doc: dict[str, Any]) -> None:
    _plan_or_named_error(doc, "blocks")


def test_no_warehouse_direct_parcels_only() -> None:
    """Direct parcels only (no warehouse at all): a plan, not an internal error."""
    doc = {
        "name": "direct-only",
        "nodes": [
            {"id": "CN-SZX", "kind": "origin", "lat": 22.54, "lon": 114.06, "country": "CN"},
            {"id": "Z-1", "kind": "zone", "lat": 3.14, "lon": 101.69, "country": "MY"},
        ],
        "lanes": [
            {
                "id": "D",
                "from": "CN-SZX",
                "to": "Z-1",
                "mode": "express",
                "transit_hours": 50,
                "cost_per_unit": 2.0,
            }
        ],
        "skus": [{"id": "S", "weight_kg": 0.4, "volume_m3": 0.002, "value": 10}],
        "demand": [{"sku": "S", "zone": "Z-1", "units": 100}],
    }
    out = plan_scenario(parse_scenario(doc), AllocationParams(time_limit=20))
    assert out.plan.to_json()["status"] == "optimal"
    assert out.plan.to_json()["objective"] == pytest.approx(200.0)
    assert [f["mode"] for f in out.plan.to_json()["fulfilment"]] == ["direct"]
