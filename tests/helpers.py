"""Helpers shared by several test modules (import from here, never from another test module)."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from network.compile import NetworkData, compile_network
from network.scenario import Scenario, parse_scenario
from optimizer.allocation.columns import Columns, build_columns
from optimizer.routing import RoutingInstance, VehicleType
from optimizer.routing.evaluate import distance_matrix, evaluate_routes


def partitions(items: list[int]) -> Iterator[list[list[int]]]:
    """All set partitions of ``items``."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for p in partitions(rest):
        for i in range(len(p)):
            yield [*p[:i], [first] + p[i], *p[i + 1 :]]
        yield [[first], *p]


def brute_force(inst: RoutingInstance) -> float:
    """Optimal cost by enumerating partitions and visit orders (single vehicle type)."""
    best = math.inf
    n = inst.num_clients
    vt = inst.vehicle_types[0]
    best_block: dict[tuple[int, ...], float] = {}
    for part in partitions(list(range(n))):
        if len(part) > vt.count:
            continue
        total = 0.0
        for block in part:
            key = tuple(sorted(block))
            if key not in best_block:
                cb = math.inf
                for perm in itertools.permutations(block):
                    ev = evaluate_routes(
                        inst, [(0, list(perm))], dropped=[c for c in range(n) if c not in block]
                    )
                    # only this route's own violations matter here
                    if not [v for v in ev.violations if v.startswith("route")]:
                        cb = min(cb, ev.routes[0].cost)
                best_block[key] = cb
            total += best_block[key]
            if total >= best:
                break
        best = min(best, total)
    return best


def random_instance(seed: int, n: int, *, windows: bool) -> RoutingInstance:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n + 1, 2))
    xy[0] = 50.0
    dist = distance_matrix(xy, "exact")
    demand = rng.integers(1, 10, size=n)
    kw = {}
    if windows:
        early = rng.uniform(0, 150, size=n).round()
        kw = {"tw_early": early, "tw_late": early + 60.0, "service": np.full(n, 5.0)}
    fleet = VehicleType(count=3, capacity=(15.0,), shift_end=400.0 if windows else math.inf)
    return RoutingInstance.build(
        f"rand{seed}",
        dist,
        vehicle_types=(fleet,),
        demand=demand,
        coords=xy,
        distance_convention="exact",
        **kw,
    )


# -- allocation scenarios ---------------------------------------------------------------------

#: The repository's test data (tests/data).
DATA = Path(__file__).resolve().parent / "data"
#: The repository's root (datasets/ and the bundled scenarios are under it).
ROOT = DATA.parents[1]
#: Tiny allocation instances with golden optima (tests/data/alloc).
ALLOC = DATA / "alloc"


def node(i: str, kind: str, lat: float, lon: float, country: str = "MY", **kw: Any) -> dict:
    """One node document."""
    return {"id": i, "kind": kind, "lat": lat, "lon": lon, "country": country, **kw}


def lane(i: str, a: str, b: str, mode: str = "truck", **kw: Any) -> dict:
    """One explicit lane document (distance 0, so cost_per_km never matters)."""
    return {"id": i, "from": a, "to": b, "mode": mode, "distance_km": 0.0, **kw}


def flat_service(**kw: Any) -> dict:
    """No holding, no safety stock, no review period: pure transport + fixed cost."""
    base = {
        "promise_hours": 72,
        "min_on_time_share": 0.0,
        "late_penalty_per_unit": 0.0,
        "lost_sale_penalty_per_unit": 1000.0,
        "review_period_days": 0.0,
        "safety_z": 0.0,
        "capital_cost_rate_per_year": 0.0,
    }
    base.update(kw)
    return base


@lru_cache
def read(name: str) -> tuple[Scenario, NetworkData]:
    """A tiny golden instance from ``tests/data/alloc`` and its compiled network."""
    s = parse_scenario(json.loads((ALLOC / f"{name}.json").read_text()))
    return s, compile_network(s)


def golden(name: str) -> dict:
    """The golden ``*.sol.json`` of an instance."""
    return json.loads((ALLOC / f"{name}.sol.json").read_text())


def random_doc(
    rng: np.random.Generator, *, n_wh: int = 3, n_zone: int = 3, n_sku: int = 2, caps: bool = True
) -> dict:
    """A random tiny scenario: one origin, sea + air inbound, last-mile lanes, a direct line."""
    nodes = [node("O", "origin", 22.5, 114.0, "CN", handling_hours=float(rng.integers(0, 24)))]
    lanes = []
    for w in range(n_wh):
        kw: dict[str, Any] = {
            "fixed_cost": float(rng.integers(0, 3000)),
            "holding_cost_per_m3_day": float(rng.uniform(0, 2)),
            "handling_cost_per_unit": float(rng.uniform(0, 1)),
            "processing_hours": float(rng.integers(0, 24)),
        }
        if caps and rng.random() < 0.5:
            kw["throughput_units_per_day"] = float(rng.integers(5, 40))
        if caps and rng.random() < 0.3:
            kw["storage_m3"] = float(rng.uniform(0.5, 5))
        nodes.append(node(f"W{w}", "warehouse", 3.0 + w, 101.0 + w, **kw))
        lanes.append(
            lane(
                f"O-W{w}-sea",
                "O",
                f"W{w}",
                "sea",
                transit_hours=float(rng.integers(100, 400)),
                cost_per_m3=float(rng.uniform(20, 60)),
                duty_rate=0.05,
            )
        )
        air: dict[str, Any] = {
            "transit_hours": float(rng.integers(24, 72)),
            "cost_per_kg": float(rng.uniform(1, 4)),
        }
        if caps and rng.random() < 0.4:
            air["capacity_kg_per_day"] = float(rng.integers(1, 20))
        lanes.append(lane(f"O-W{w}-air", "O", f"W{w}", "air", **air))
    for z in range(n_zone):
        nodes.append(node(f"Z{z}", "zone", 3.5 + z, 101.5 + z))
        for w in range(n_wh):
            if rng.random() < 0.8:
                lanes.append(
                    lane(
                        f"W{w}-Z{z}",
                        f"W{w}",
                        f"Z{z}",
                        "last_mile",
                        transit_hours=float(rng.integers(8, 80)),
                        cost_per_unit=float(rng.uniform(0.5, 3)),
                    )
                )
        if rng.random() < 0.5:
            lanes.append(
                lane(
                    f"O-Z{z}",
                    "O",
                    f"Z{z}",
                    "express",
                    transit_hours=float(rng.integers(30, 120)),
                    cost_per_kg=float(rng.uniform(3, 9)),
                    cost_per_unit=1.0,
                )
            )
    skus = [
        {
            "id": f"K{k}",
            "weight_kg": float(rng.uniform(0.1, 2)),
            "volume_m3": float(rng.uniform(0.001, 0.01)),
            "value": float(rng.uniform(5, 60)),
            "demand_cv": float(rng.uniform(0, 1)),
        }
        for k in range(n_sku)
    ]
    demand = [
        {"sku": f"K{k}", "zone": f"Z{z}", "units": float(rng.integers(1, 400))}
        for k in range(n_sku)
        for z in range(n_zone)
        if rng.random() < 0.8
    ]
    return {
        "name": "rand",
        "horizon_days": 28,
        "service": {
            "promise_hours": 72,
            "min_on_time_share": float(rng.uniform(0, 0.9)),
            "late_penalty_per_unit": float(rng.uniform(0, 5)),
            "lost_sale_penalty_per_unit": float(rng.uniform(20, 80)),
            "review_period_days": float(rng.integers(0, 10)),
            "safety_z": float(rng.uniform(0, 2)),
        },
        "nodes": nodes,
        "lanes": lanes,
        "skus": skus,
        "demand": demand,
    }


def random_columns(seed: int, storage: bool = True, **kw: Any) -> tuple[NetworkData, Columns]:
    """A random tiny network (seed ``900 + seed``) compiled, and its columns."""
    doc = random_doc(np.random.default_rng(900 + seed), **kw)
    if not storage:  # integer stock then never overflows storage: the MIP is exact
        for n in doc["nodes"]:
            n.pop("storage_m3", None)
    data = compile_network(parse_scenario(doc))
    return data, build_columns(data)


def stranded_doc(transfer_cost: float) -> dict[str, Any]:
    """Stock stranded at WH-A (no lane to the zone), WH-B serves zone Z; inbound into WH-B
    costs 10 per unit (240 h: 10 days lead time), a transfer lane A -> B costs
    ``transfer_cost`` per unit and takes 10 h. WH-B holds 20 units, enough for the demand
    before a transfer arrives (10 h of 28 days is 0.0149 of the horizon)."""
    return {
        "name": "stranded",
        "horizon_days": 28,
        "service": flat_service(review_period_days=7.0),
        "nodes": [
            node("O", "origin", 22.5, 114.0, "CN"),
            node("WH-A", "warehouse", 5.4, 100.3, status="open"),
            node("WH-B", "warehouse", 3.1, 101.7, status="open"),
            node("Z", "zone", 3.1, 101.7),
        ],
        "lanes": [
            lane("O-B", "O", "WH-B", "sea", transit_hours=240.0, cost_per_unit=10.0),
            lane("B-Z", "WH-B", "Z", "last_mile", transit_hours=10.0, cost_per_unit=1.0),
            lane(
                "A-B", "WH-A", "WH-B", "transfer", transit_hours=10.0, cost_per_unit=transfer_cost
            ),
        ],
        "skus": [{"id": "K", "weight_kg": 1.0, "volume_m3": 0.001, "value": 5.0}],
        "demand": [{"sku": "K", "zone": "Z", "units": 800}],
        "inventory": [
            {"sku": "K", "warehouse": "WH-A", "on_hand": 1000},
            {"sku": "K", "warehouse": "WH-B", "on_hand": 20},
        ],
    }


def random_state_doc(rng: np.random.Generator, *, caps: bool = True) -> dict[str, Any]:
    """A random tiny scenario (:func:`random_doc`) with inventory, transfer lanes, returns."""
    doc = random_doc(rng, caps=caps)
    whs = [n["id"] for n in doc["nodes"] if n["kind"] == "warehouse"]
    skus = [k["id"] for k in doc["skus"]]
    for n in doc["nodes"]:
        if n["kind"] == "warehouse" and rng.random() < 0.6:
            n["returns_handling_cost_per_unit"] = float(rng.uniform(0, 2))
    for a, b in itertools.permutations(whs, 2):
        if rng.random() < 0.5:
            doc["lanes"].append(
                lane(
                    f"{a}-{b}-tr",
                    a,
                    b,
                    "transfer",
                    transit_hours=float(rng.integers(2, 200)),
                    cost_per_unit=float(rng.uniform(0, 3)),
                    cost_per_kg=float(rng.uniform(0, 0.5)),
                )
            )
    inv = []
    for k in skus:
        for w in whs:
            if rng.random() < 0.5:
                row: dict[str, Any] = {"sku": k, "warehouse": w}
                if rng.random() < 0.7:
                    row["on_hand"] = float(rng.integers(0, 300))
                if rng.random() < 0.5 or "on_hand" not in row:
                    row["in_transit"] = float(rng.integers(1, 300))
                    row["arrives_in_hours"] = float(rng.integers(0, 800))
                inv.append(row)
    doc["inventory"] = inv
    doc["returns"] = [
        {
            "country": "MY",
            "rate": float(rng.uniform(0, 0.3)),
            "resellable_share": float(rng.uniform(0, 1)),
        }
    ]
    doc["service"]["stability_penalty_per_unit"] = float(rng.uniform(0, 2))
    return doc


def evaluated_result(data: NetworkData, res: Any, cols: Columns | None = None) -> tuple[Any, Any]:
    """An ``AllocationResult``'s plan (on its own columns unless ``cols`` are given) and the
    independent evaluator's verdict on it, asserted feasible."""
    from optimizer.plan.evaluate import evaluate
    from optimizer.plan.planning import plan_dict

    assert res.solution is not None
    plan = plan_dict(
        data,
        res.columns if cols is None else cols,
        res.solution,
        status=res.status,
        objective=res.objective,
        bound=res.bound,
        solve_seconds=0.0,
    )
    ev = evaluate(data, plan)
    assert ev.feasible, ev.violations
    return plan, ev
