"""An independent brute force for tiny scenarios with tonight's inventory, transfer lanes and
returns.

It shares no code with ``optimizer`` (nor with ``network.compile``): it reads the scenario
*document* (a dict of format v1.1), enumerates every warehouse set the statuses allow and, for
each, writes one LP with :func:`scipy.optimize.linprog` from the lanes, SKUs, demand and
inventory rows directly. The timing of tonight's lots is modelled differently from the
optimiser's arrival rows: a **time-expanded** balance. Per (SKU, warehouse) the horizon is cut
at the days on which some lot can arrive there; demand shipped from a warehouse is spread
evenly over the horizon, so in each interval the units shipped are its share of the total;
each interval is supplied by new inbound (any time) and by lots that have arrived by its start.

Scope (what the generator :func:`tiny_state_doc` produces and this LP understands): one origin
with no handling hours, lanes of one hop (origin → warehouse inbound, warehouse → zone last
mile, origin → zone direct, warehouse → warehouse transfer) priced ``cost_per_unit +
cost_per_kg·weight`` (DESIGN §3, no duty, no distance), a service with no review period, no
safety stock, no capital cost, no on-time share and no late penalty (so only costs, fixed
costs, lost sales and throughput matter), warehouse throughput capacities, storage capacities
(``storage=True``), no lane capacities, one returns rule per country (no category). Lots of a
SKU without demand, or arriving at or after the horizon's end, cannot be used; a unit that
stays pays
``holding_cost_per_m3_day·volume`` per day from its arrival to the end of the horizon. Stock
may be transferred out of any warehouse (used or not) into a used one. Returns: a share
``rate`` of the units delivered to a zone (from a warehouse or direct) comes back; each
returned unit is written off at the SKU's value or taken by a used warehouse with
``returns_handling_cost_per_unit`` in the zone's country (at most ``rate × demand`` units
each), at its cheapest lane to the zone (reversed) plus that handling; the resellable share
supplies that warehouse at any time or stays on its shelf for the horizon.

Storage (a warehouse with ``storage_m3``, used): the stocking level of a (SKU, warehouse) is a
whole number of units, at least the inbound units × lead time (transit hours / 24) / horizon
(no review period, no safety stock); the levels' volume fits ``storage_m3``, and together
with every unit that stays on the warehouse's shelves — each lot there within the horizon
(on hand, or arriving before its end) less the units used from it (there or transferred
out), plus the resold units kept — it fits ``max(storage_m3, volume of those lots)`` (a
warehouse that tonight's lots alone overfill keeps them). With stocking levels the warehouse
set's problem is a small MIP (:func:`scipy.optimize.milp`).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_matrix, vstack


def lane_cost(lane: dict[str, Any], sku: dict[str, Any]) -> float:
    """DESIGN §3: ``cost_per_unit + cost_per_kg·w`` (the generator sets nothing else)."""
    return float(lane.get("cost_per_unit", 0.0)) + float(lane.get("cost_per_kg", 0.0)) * float(
        sku["weight_kg"]
    )


def _fixed_y_lp(doc: dict[str, Any], open_: set[str]) -> float:
    """The cost of the best plan using exactly the warehouses ``open_`` (``inf``: none)."""
    H = float(doc["horizon_days"])
    svc = doc["service"]
    lost = float(svc["lost_sale_penalty_per_unit"])
    nodes = {n["id"]: n for n in doc["nodes"]}
    skus = {k["id"]: k for k in doc["skus"]}
    lanes = doc["lanes"]
    demand = [(d["sku"], d["zone"], float(d["units"])) for d in doc["demand"] if d["units"] > 0]
    dem_skus = {k for k, _z, _u in demand}

    cost: list[float] = []
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    eq_rhs: list[float] = []
    ub_rows: list[tuple[list[int], list[float], float]] = []

    def var(c: float) -> int:
        cost.append(c)
        return len(cost) - 1

    def eq(entries: list[tuple[int, float]], rhs: float) -> None:
        r = len(eq_rhs)
        for j, v in entries:
            rows.append(r)
            cols.append(j)
            vals.append(v)
        eq_rhs.append(rhs)

    rule = {r["country"]: r for r in doc.get("returns", [])}  # one rule per country here
    # outbound units per (SKU, warehouse): x variables, by (sku, wh)
    shipped: dict[tuple[str, str], list[int]] = {}
    # resold returns per (SKU, warehouse): (r variable, resellable share)
    resold: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for k, z, units in demand:
        served: list[tuple[int, float]] = []
        for ln in lanes:
            if ln["to"] != z:
                continue
            src = nodes[ln["from"]]
            if src["kind"] == "warehouse" and ln["from"] in open_:
                j = var(lane_cost(ln, skus[k]) + float(src.get("handling_cost_per_unit", 0.0)))
                shipped.setdefault((k, ln["from"]), []).append(j)
                served.append((j, 1.0))
            elif src["kind"] == "origin":
                served.append((var(lane_cost(ln, skus[k])), 1.0))
        delivered = list(served)
        served.append((var(lost), 1.0))  # lost units
        eq(served, units)
        rr = rule.get(nodes[z]["country"])
        if rr is None or not rr["rate"]:
            continue
        # returns: a share ``rate`` of the delivered units comes back, written off at the
        # SKU's value or taken by a used returns warehouse of the zone's country over its
        # cheapest lane to the zone, reversed (at most rate × demand units each)
        rho, sigma = float(rr["rate"]), float(rr.get("resellable_share", 0.0))
        back = [(var(float(skus[k]["value"])), 1.0)]
        for w in sorted(open_):
            hc = nodes[w].get("returns_handling_cost_per_unit")
            rev = [lane_cost(ln, skus[k]) for ln in lanes if ln["from"] == w and ln["to"] == z]
            if hc is None or not rev or nodes[w]["country"] != nodes[z]["country"]:
                continue
            j = var(min(rev) + float(hc))
            back.append((j, 1.0))
            ub_rows.append(([j], [1.0], rho * units))
            resold.setdefault((k, w), []).append((j, sigma))
        eq(back + [(j, -rho) for j, _v in delivered], 0.0)
    # throughput: Σ x at w ≤ H·throughput
    for w in open_:
        thr = nodes[w].get("throughput_units_per_day")
        if thr is None:
            continue
        xs = [j for (k, ww), js in shipped.items() if ww == w for j in js]
        if xs:
            ub_rows.append((xs, [1.0] * len(xs), H * float(thr)))
    # lots: (sku, warehouse, units, arrival day); holding per unit and day where it sits
    lots = []
    for r in doc.get("inventory", []):
        if r.get("on_hand"):
            lots.append((r["sku"], r["warehouse"], float(r["on_hand"]), 0.0))
        if r.get("in_transit"):
            lots.append(
                (r["sku"], r["warehouse"], float(r["in_transit"]), r["arrives_in_hours"] / 24.0)
            )
    const = 0.0
    # uses: (lot, destination warehouse, arrival day at destination, cost per unit)
    uses: dict[tuple[str, str], list[tuple[int, float, float]]] = {}
    for i, (k, w, units, day) in enumerate(lots):
        hold = float(nodes[w].get("holding_cost_per_m3_day", 0.0)) * float(skus[k]["volume_m3"])
        stay = hold * max(0.0, H - day)
        const += stay * units  # every unit stays unless used (a use saves ``stay``)
        if k not in dem_skus:
            continue
        if w in open_ and day < H:
            uses.setdefault((k, w), []).append((i, day, -stay))
        for ln in lanes:
            if ln["mode"] == "transfer" and ln["from"] == w and ln["to"] in open_:
                arr = day + float(ln["transit_hours"]) / 24.0
                if arr < H:
                    c = lane_cost(ln, skus[k]) - stay
                    uses.setdefault((k, ln["to"]), []).append((i, arr, c))
    # time-expanded balance per (SKU, warehouse) that ships something; resold returns
    # supply any interval or stay on the shelf for the horizon
    lot_vars: dict[int, list[int]] = {}
    resold_use: dict[tuple[str, str], int] = {}
    kept_var: dict[tuple[str, str], int] = {}
    for (k, w), rs in resold.items():
        h_on = float(nodes[w].get("holding_cost_per_m3_day", 0.0)) * float(skus[k]["volume_m3"])
        parts = [var(h_on * H)]  # kept on the shelf
        kept_var[(k, w)] = parts[0]
        if (k, w) in shipped:
            parts.append(var(0.0))  # used to serve demand (balance below)
        eq([(j, 1.0) for j in parts] + [(j, -sig) for j, sig in rs], 0.0)
        resold_use[(k, w)] = parts[1] if len(parts) > 1 else -1
    # stocking level terms per (SKU, warehouse): (inbound variable, lead time / horizon)
    levels: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for (k, w), xs in shipped.items():
        inb = [
            ln
            for ln in lanes
            if ln["to"] == w and ln["from"] in nodes and nodes[ln["from"]]["kind"] == "origin"
        ]
        my_uses = uses.get((k, w), [])
        cuts = sorted({0.0, H, *(d for _i, d, _c in my_uses)})
        pieces = []  # the resold units used, split over the intervals
        for a, b in itertools.pairwise(cuts):
            share = (b - a) / H
            entries = [(j, -share) for j in xs]
            for ln in inb:
                j = var(lane_cost(ln, skus[k]))
                entries.append((j, 1.0))
                levels.setdefault((k, w), []).append((j, float(ln["transit_hours"]) / 24.0 / H))
            if resold_use.get((k, w), -1) >= 0:
                pieces.append(var(0.0))
                entries.append((pieces[-1], 1.0))
            for i, d, c in my_uses:
                if d <= a + 1e-12:
                    g = var(c)
                    lot_vars.setdefault(i, []).append(g)
                    entries.append((g, 1.0))
            eq(entries, 0.0)
        if pieces:
            eq([(resold_use[k, w], 1.0)] + [(j, -1.0) for j in pieces], 0.0)
    for i, gs in lot_vars.items():
        ub_rows.append((gs, [1.0] * len(gs), lots[i][2]))
    # storage of the used warehouses: whole stocking levels S ≥ Σ f·L/H; the levels fit the
    # storage, and with the lots' units left and the resold units kept max(storage, lots)
    integer: list[int] = []
    for w in sorted(open_):
        if nodes[w].get("storage_m3") is None:
            continue
        storage = float(nodes[w]["storage_m3"])
        shelf: list[tuple[int, float]] = []
        lots_m3 = 0.0
        for i, (k, lw, units, day) in enumerate(lots):
            if lw != w or day >= H:
                continue
            v = float(skus[k]["volume_m3"])
            lots_m3 += v * units
            shelf += [(g, -v) for g in lot_vars.get(i, [])]  # a used unit leaves the shelf
        level_terms: list[tuple[int, float]] = []
        for (k, lw), fs in levels.items():
            if lw != w:
                continue
            s_var = var(0.0)
            integer.append(s_var)
            ub_rows.append(([s_var] + [j for j, _c in fs], [-1.0] + [c for _j, c in fs], 0.0))
            level_terms.append((s_var, float(skus[k]["volume_m3"])))
        if level_terms:
            js, vs = [j for j, _v in level_terms], [v for _j, v in level_terms]
            ub_rows.append((js, vs, storage))
        kept_terms = [
            (kept_var[k, w], float(skus[k]["volume_m3"])) for (k, rw) in resold if rw == w
        ]
        terms = level_terms + shelf + kept_terms
        if terms:
            cap = max(storage, lots_m3)
            ub_rows.append(([j for j, _v in terms], [v for _j, v in terms], cap - lots_m3))
    n = len(cost)
    a_eq = coo_matrix((vals, (rows, cols)), shape=(len(eq_rhs), n))
    ur, uc, uv, ub = [], [], [], []
    for r, (js, vs, rhs) in enumerate(ub_rows):
        ur += [r] * len(js)
        uc += js
        uv += vs
        ub.append(rhs)
    a_ub = coo_matrix((uv, (ur, uc)), shape=(len(ub), n)) if ub else None
    fixed = sum(float(nodes[w].get("fixed_cost", 0.0)) for w in open_)
    if integer:
        a_all = vstack([a_eq] + ([a_ub] if a_ub is not None else [])).tocsr()
        lo = np.concatenate([np.array(eq_rhs), np.full(len(ub), -np.inf)])
        hi = np.concatenate([np.array(eq_rhs), np.array(ub)])
        kinds = np.zeros(n)
        kinds[integer] = 1
        mres = milp(
            np.array(cost),
            constraints=LinearConstraint(a_all, lo, hi),
            integrality=kinds,
            bounds=Bounds(0, np.inf),
            options={"mip_rel_gap": 0.0},
        )
        if mres.status != 0:
            return math.inf
        return float(mres.fun) + const + fixed
    res = linprog(
        np.array(cost),
        A_ub=a_ub,
        b_ub=np.array(ub) if ub else None,
        A_eq=a_eq,
        b_eq=np.array(eq_rhs),
        bounds=(0, None),
        method="highs",
    )
    if res.status != 0:
        return math.inf
    return float(res.fun) + const + fixed


def brute_force(doc: dict[str, Any]) -> tuple[float, frozenset[str]]:
    """The cheapest plan over every warehouse set the statuses allow, and that set."""
    whs = [n for n in doc["nodes"] if n["kind"] == "warehouse"]
    must = {n["id"] for n in whs if n.get("status") == "open"}
    free = [n["id"] for n in whs if n.get("status", "candidate") == "candidate"]
    best, best_set = math.inf, frozenset[str]()
    for r in range(len(free) + 1):
        for extra in itertools.combinations(free, r):
            s = must | set(extra)
            v = _fixed_y_lp(doc, s)
            if v < best:
                best, best_set = v, frozenset(s)
    return best, best_set


def tiny_state_doc(
    rng: np.random.Generator, n_wh: int = 3, n_zone: int = 3, *, storage: bool = False
) -> dict[str, Any]:
    """A random tiny scenario in the brute force's scope (module docstring); with ``storage``
    most warehouses get a ``storage_m3`` of the order of their lots and stocking levels (drawn
    after everything else: the rest of the document is the one without)."""

    def lane(i: str, a: str, b: str, mode: str, **kw: Any) -> dict[str, Any]:
        return {"id": i, "from": a, "to": b, "mode": mode, "distance_km": 0.0, **kw}

    nodes: list[dict[str, Any]] = [
        {"id": "O", "kind": "origin", "lat": 22.5, "lon": 114.0, "country": "CN"}
    ]
    lanes: list[dict[str, Any]] = []
    whs = [f"W{i}" for i in range(n_wh)]
    for i, w in enumerate(whs):
        n: dict[str, Any] = {
            "id": w,
            "kind": "warehouse",
            "lat": 3.0 + i,
            "lon": 101.0 + i,
            "country": "MY",
            "fixed_cost": float(rng.integers(0, 2500)),
            "holding_cost_per_m3_day": float(rng.uniform(0, 3)),
            "handling_cost_per_unit": float(rng.uniform(0, 1)),
            "status": str(rng.choice(["candidate", "candidate", "open", "closed"])),
        }
        if rng.random() < 0.5:
            n["throughput_units_per_day"] = float(rng.integers(5, 40))
        if rng.random() < 0.6:
            n["returns_handling_cost_per_unit"] = float(rng.uniform(0, 2))
        nodes.append(n)
        if rng.random() < 0.85:  # some warehouses only have tonight's stock
            lanes.append(
                lane(
                    f"O-{w}",
                    "O",
                    w,
                    "sea",
                    transit_hours=float(rng.integers(100, 500)),
                    cost_per_unit=float(rng.uniform(2, 8)),
                    cost_per_kg=float(rng.uniform(0, 2)),
                )
            )
    for z in range(n_zone):
        zid = f"Z{z}"
        nodes.append({"id": zid, "kind": "zone", "lat": 3.5 + z, "lon": 101.5 + z, "country": "MY"})
        for w in whs:
            if rng.random() < 0.75:
                lanes.append(
                    lane(
                        f"{w}-{zid}",
                        w,
                        zid,
                        "last_mile",
                        transit_hours=float(rng.integers(8, 60)),
                        cost_per_unit=float(rng.uniform(0.5, 3)),
                    )
                )
        if rng.random() < 0.5:
            lanes.append(
                lane(
                    f"O-{zid}",
                    "O",
                    zid,
                    "express",
                    transit_hours=float(rng.integers(30, 120)),
                    cost_per_unit=float(rng.uniform(6, 15)),
                    cost_per_kg=float(rng.uniform(1, 5)),
                )
            )
    for a, b in itertools.permutations(whs, 2):
        if rng.random() < 0.5:
            lanes.append(
                lane(
                    f"{a}-{b}-tr",
                    a,
                    b,
                    "transfer",
                    transit_hours=float(rng.integers(2, 300)),
                    cost_per_unit=float(rng.uniform(0, 3)),
                    cost_per_kg=float(rng.uniform(0, 0.5)),
                )
            )
    skus = [
        {
            "id": f"K{i}",
            "weight_kg": float(rng.uniform(0.1, 3)),
            "volume_m3": float(rng.uniform(0.001, 0.02)),
            "value": float(rng.uniform(5, 50)),
        }
        for i in range(2)
    ]
    demand = [
        {"sku": k["id"], "zone": f"Z{z}", "units": float(rng.integers(0, 300))}
        for k in skus
        for z in range(n_zone)
    ]
    inventory = []
    for k in skus:
        for w in whs:
            if rng.random() < 0.6:
                row: dict[str, Any] = {"sku": k["id"], "warehouse": w}
                if rng.random() < 0.7:
                    row["on_hand"] = float(rng.integers(0, 250))
                if rng.random() < 0.5 or "on_hand" not in row:
                    row["in_transit"] = float(rng.integers(1, 250))
                    row["arrives_in_hours"] = float(rng.integers(0, 900))
                inventory.append(row)
    if storage:
        vol = {k["id"]: k["volume_m3"] for k in skus}
        for n in nodes:
            if n["kind"] == "warehouse" and rng.random() < 0.8:
                # about what tonight's lots there take (sometimes less: overfull), plus room
                # for some stocking levels
                lots = sum(
                    (r.get("on_hand", 0.0) + r.get("in_transit", 0.0)) * vol[r["sku"]]
                    for r in inventory
                    if r["warehouse"] == n["id"]
                )
                n["storage_m3"] = float(lots * rng.uniform(0.3, 1.3) + rng.uniform(0.0, 0.5))
    return {
        "name": "brute",
        "horizon_days": 28,
        "service": {
            "promise_hours": 72,
            "min_on_time_share": 0.0,
            "late_penalty_per_unit": 0.0,
            "lost_sale_penalty_per_unit": float(rng.uniform(20, 60)),
            "review_period_days": 0.0,
            "safety_z": 0.0,
            "capital_cost_rate_per_year": 0.0,
        },
        "nodes": nodes,
        "lanes": lanes,
        "skus": skus,
        "demand": demand,
        "inventory": inventory,
        "returns": [
            {
                "country": "MY",
                "rate": float(rng.uniform(0, 0.3)),
                "resellable_share": float(rng.uniform(0, 1)),
            }
        ],
    }
