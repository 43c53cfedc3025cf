"""The ``day`` family: generated realistic delivery days of 500-5,000 stops.

Each instance file is a small JSON spec (``benchmarks/data/day/day-n800-s0.json``:
``{"orders": 800, "seed": 0, "window_share": 0.3}``). The day is built through the real
plan-to-routes path (``optimizer.plan.day.build_day_instance``) from the tiny Kuala Lumpur plan
of the repository's test data, its metro rows scaled to about ``orders`` orders a day: addresses
jittered around the zones (8 km), road km = geodesic km x 1.3, 30 km/h, 3 minutes at each door,
two capacity dimensions (kg, m³), a 10-hour shift, each order's deadline from the 72-hour
promise, and the parcel carrier's rate-card cost as the price of not routing an order.

Changed for a comparison with PyVRP (invented, not market data): a share ``window_share`` of the
orders book a 2-hour delivery slot inside the shift (the rest keep the promise deadline only);
the vans cost 1 per km and nothing per hour or per van (PyVRP's unit distance cost is an
integer and it has no cost per hour), and the carrier cost becomes km at the default van's
0.15 per km, so both solvers minimise the same objective; one van per 20 orders.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["read_day"]

ROOT = Path(__file__).resolve().parents[2]
PLAN_DIR = ROOT / "tests" / "data" / "vrp" / "plan-tiny"
KM_COST = 0.15
"""The default van's cost per km (``FleetSpec``): carrier costs are divided by it."""


def read_day(path: Path) -> Any:
    """The day instance described by the JSON spec at ``path``."""
    from network.scenario import load_scenario
    from optimizer.plan.day import FleetSpec, build_day_instance
    from optimizer.plan.document import Plan

    spec = json.loads(Path(path).read_text())
    orders, seed = int(spec["orders"]), int(spec.get("seed", 0))
    plan = Plan.from_json(json.loads((PLAN_DIR / "plan.json").read_text()))
    scen = load_scenario(PLAN_DIR / "scenario.json")
    rows = [r for r in plan.fulfilment or () if r.source == "WH-KUL" and r.zone == "Z-KUL"]
    per_day = sum(r.units for r in rows) / scen.horizon_days
    plan = dataclasses.replace(
        plan,
        fulfilment=tuple(dataclasses.replace(r, units=r.units * orders / per_day) for r in rows),
    )
    fleet = FleetSpec(count=orders // 20 + 1, fixed_cost=0.0, cost_per_km=1.0, cost_per_hour=0.0)
    inst = build_day_instance(
        plan, scen, warehouse="WH-KUL", day=0, seed=seed, fleet=fleet, jitter_km=8.0
    )
    rng = np.random.default_rng(1000 + seed)
    C = inst.num_clients
    slot = rng.random(C) < float(spec.get("window_share", 0.3))
    drive = inst.duration[0, inst.num_depots :]
    shift = inst.vehicle_types[0].shift_end
    start = np.floor(rng.uniform(np.minimum(drive, shift - 2.0), shift - 2.0))
    start = np.maximum(start, np.ceil(drive))
    early = np.where(slot, start, inst.tw_early)
    late = np.where(slot, np.minimum(start + 2.0, inst.tw_late), inst.tw_late)
    late = np.maximum(late, early)
    return dataclasses.replace(
        inst,
        name=Path(path).stem,
        tw_early=early,
        tw_late=late,
        drop_penalty=inst.drop_penalty / KM_COST,
    )
