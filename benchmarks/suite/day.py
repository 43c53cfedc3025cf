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

__all__ = ["SPEC_KEYS", "read_day", "read_day_spec"]

ROOT = Path(__file__).resolve().parents[2]
PLAN_DIR = ROOT / "tests" / "data" / "vrp" / "plan-tiny"
KM_COST = 0.15
"""The default van's cost per km (``FleetSpec``): carrier costs are divided by it."""


SPEC_KEYS = ("orders", "seed", "window_share")
"""The keys of a day spec: ``orders`` (required), ``seed`` (default 0), ``window_share``
(default 0.3)."""


def read_day_spec(path: Path) -> dict[str, Any]:
    """The checked spec at ``path``: ``{"orders": int >= 1, "seed": int, "window_share": float
    in [0, 1]}``.

    Raises
    ------
    ValueError
        Unreadable or not a JSON object, an unknown key (a typo would silently give the
        default), a missing ``orders`` or a bad value, naming the file and the key.
    """
    path = Path(path)
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a day spec ({e})") from None
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: not a day spec (a JSON {type(spec).__name__}, not an object)")
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise ValueError(
            f"{path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(SPEC_KEYS)}"
        )
    if "orders" not in spec:
        raise ValueError(f"{path}: no 'orders' (the number of orders of the day)")
    out = {"orders": spec["orders"], "seed": spec.get("seed", 0)}
    for key in ("orders", "seed"):
        v = out[key]
        if isinstance(v, bool) or not isinstance(v, int) or (key == "orders" and v < 1):
            want = "a whole number >= 1" if key == "orders" else "a whole number"
            raise ValueError(f"{path}: {key} {v!r} is not {want}")
    share = spec.get("window_share", 0.3)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise ValueError(f"{path}: window_share {share!r} is not a share between 0 and 1")
    out["window_share"] = float(share)
    return out


def read_day(path: Path) -> Any:
    """The day instance described by the JSON spec at ``path`` (checked by ``read_day_spec``)."""
    from network.scenario import load_scenario
    from optimizer.plan.day import FleetSpec, build_day_instance
    from optimizer.plan.document import Plan

    spec = read_day_spec(path)
    orders, seed = int(spec["orders"]), int(spec["seed"])
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
    slot = rng.random(C) < spec["window_share"]
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
