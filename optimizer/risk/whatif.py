"""What-if: tonight's plan under a shock, held or re-planned (DESIGN §10).

:func:`whatif` takes the base scenario, the base plan (made for it) and a
:class:`~optimizer.risk.shock.Shock`, and returns three evaluated plans:

- **base**: the plan as made, evaluated on the base scenario;
- **hold**: the same plan kept under the shock, evaluated on the shocked network by the
  independent evaluator (:func:`optimizer.plan.evaluate.evaluate`). Costs and hours are
  recomputed at the shocked rates. Flows the shock makes impossible are handled by one fixed
  policy (:func:`hold_plan`):

  * a fulfilment flow from a closed warehouse, or from a warehouse that no longer receives its
    SKU (every inbound path the plan replenished it on closed; a pair the plan serves from
    tonight's state alone keeps its flows), or on a closed last-mile path with no other path
    from the same warehouse, **falls back** to the cheapest remaining direct path from an
    origin into its zone (cost + late penalty; no stock needed), else it is **lost**;
  * a fulfilment flow on a closed path whose warehouse still has another path into the zone
    moves to the cheapest such path (same stock);
  * a replenishment flow on a closed inbound path moves to the cheapest remaining inbound path
    into the same warehouse (stock levels are kept; if the new lead time needs more stock, the
    evaluator reports the shortfall as a violation);
  * stock at a closed warehouse is lost with it (its fixed cost is no longer counted);
  * tonight's orders are recomputed for the held plan as the plan defines them (kept stocking
    level less the held inventory position: tonight's stock plus the held transfers in, less
    out, rounded up), booked on the held replenishment's largest path into the warehouse, else
    the cheapest inbound path left into it, and not booked where none is left (the evaluator
    then reports the level the plan cannot reach);
  * each warehouse's reported storage and throughput use is recomputed from the held stock
    and flows before the evaluation;
  * returns (format v1.1) follow the held deliveries of their (SKU, zone) pro rata; those
    whose warehouse or reverse path the shock closes are written off;
  * tonight's transfers (format v1.1) take the shocked lane's hours; a transfer on a closed
    lane, or from or to a closed warehouse, is not made: its units stay where they are
    (``left`` in their lot), and a warehouse that counted on them ships what it planned with
    the difference as new inbound (stock levels are kept, so the evaluator reports
    the level that longer supply needs);
  * more demand than planned is lost (the plan ships what it planned); less demand scales the
    flows of the affected (SKU, zone) pairs down;
  * with tonight's state (format v1.1), a warehouse cut off from new inbound keeps shipping
    the share of its flows the state supplies (lots used there, transfers in, resold returns);
    only the rest falls back. New inbound follows each (SKU, warehouse)'s outflow net of
    what the state supplies more or less than before; state no longer needed is not used
    (lots are left where they are, transfers in are cut, resold units are surplus).

  ``hold`` lists every moved flow (``rerouted``, with from/to lanes and units) and the units
  lost to the shock; any rule the held plan breaks is in its ``violations``;
- **replan**: the optimum under the shock (:func:`optimizer.plan.planning.plan_scenario` with
  the same parameters, so the same time-limit rules as ``tradelane plan``: the limit covers
  the whole what-if, and the re-plan gets what the evaluations and the hold leave of it).

The differences of hold and replan to base are reported per cost term, in on-time share (of
demand, overall and by country) and in lost units. An empty shock gives hold = base exactly,
and replan = base up to ties between equally cheap optima.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from network.compile import NetworkData, compile_network
from network.distribution import on_time_mask, option_on_time
from network.scenario import Scenario
from optimizer.allocation.params import AllocationParams
from optimizer.exceptions import InvalidNetworkError, TimeLimitError
from optimizer.plan.document import (
    CostBreakdown,
    CountryService,
    FulfilmentRow,
    InventoryLotRow,
    LostRow,
    OrderRow,
    Plan,
    PlanEvaluation,
    ReplenishmentRow,
    ReturnRow,
    ServiceSummary,
    StockRow,
    SurplusRow,
    TransferRow,
    WarehouseRow,
    plan_rows,
)
from optimizer.plan.evaluate import Evaluation, evaluate
from optimizer.plan.planning import machine_slowdown, plan_scenario, shortest_limit
from optimizer.plan.state import attach_previous
from optimizer.progress import PhaseReport, quiet
from optimizer.risk.flows import option_keys
from optimizer.risk.shock import AppliedShock, Shock, apply_shock
from optimizer.solver import Status

__all__ = [
    "HoldPlan",
    "WhatIf",
    "check_whatif_limit",
    "hold_plan",
    "plan_rows",
    "shortest_whatif_limit",
    "whatif",
    "whatif_markdown",
]

#: What a what-if adds to the re-plan's own floor (:func:`optimizer.plan.planning.
#: shortest_limit`), in seconds per row of the base plan (fulfilment, replenishment and stock
#: rows): reading the base plan, applying the shock, compiling both networks, the base and
#: held evaluations, the hold and its document before the re-plan; the re-plan's evaluation
#: and both plans' files after it. On sea-L seed 0 (1,049,857 plan rows; 2 cores at load
#: about 1; ``python benchmarks/risk.py --part steps``, benchmarks/README.md "What-if at tier
#: L") the steps before the re-plan take about 37 s, 3.5e-5 s a row, and those after it (an
#: evaluation as long as the base plan's, two files as long as the held one's) about 21 s,
#: 2.0e-5 s a row; this keeps about a third more, for a loaded machine.
WHATIF_S_PER_PLAN_ROW = 7.5e-5
#: Seconds per base-plan row kept after the re-plan, beyond the re-plan's own output reserve,
#: for what the what-if does once the re-plan is back: its evaluation and the plans' files
#: (2.0e-5 s a row on sea-L seed 0, above), times the machine's slowdown
#: (:func:`optimizer.plan.planning.machine_slowdown`).
WHATIF_AFTER_S_PER_PLAN_ROW = 2e-5


def shortest_whatif_limit(
    shocked: Scenario, base_rows: int, params: AllocationParams, *, previous: bool = False
) -> float:
    """The shortest time limit a what-if can keep: the re-plan's floor on the shocked scenario
    (:func:`optimizer.plan.planning.shortest_limit`, 0 off the SKU-block path) plus
    :data:`WHATIF_S_PER_PLAN_ROW` per row of the base plan. Like the plan's floor it is
    counted from the sizes alone, not from the machine's load at the moment. ``previous``:
    the base plan was made against a previous plan, and so is the re-plan."""
    return shortest_limit(shocked, params, previous=previous) + WHATIF_S_PER_PLAN_ROW * base_rows


def check_whatif_limit(
    shocked: Scenario, base_rows: int, params: AllocationParams, *, previous: bool = False
) -> None:
    """Raise :class:`~optimizer.exceptions.TimeLimitError` naming the shortest limit when
    ``params``' time limit is shorter than :func:`shortest_whatif_limit`."""
    TimeLimitError.check(
        params.time_limit_s,
        shortest_whatif_limit(shocked, base_rows, params, previous=previous),
        f"a what-if of a plan of {base_rows:,} rows: reading and holding the plan, the "
        "re-plan's floor and writing both plans",
        name=shocked.name,
    )


@dataclass(frozen=True, slots=True)
class HoldPlan:
    """The base plan rewritten for the shocked network, and what had to move."""

    plan: Plan
    rerouted: tuple[dict[str, Any], ...]
    lost_to_shock: float
    stock_lost: float
    demand_lost: float


@dataclass(frozen=True, slots=True)
class WhatIf:
    """Base, hold and replan, each with its evaluation."""

    applied: AppliedShock
    base: Plan
    base_eval: Evaluation
    hold: HoldPlan
    hold_eval: Evaluation
    replan: Plan
    replan_eval: Evaluation | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """The ``whatif.json`` document (DESIGN §10); full plans are written beside it."""
        base = _summary(self.base, self.base_eval)
        hold = {
            **_summary(self.hold.plan, self.hold_eval),
            "status": "hold",
            "policy": "flows on a closed lane or warehouse fall back to the next option "
            "(another path from the same warehouse, else the cheapest direct path), else "
            "they are lost",
            "rerouted_units": float(
                sum(r["units"] for r in self.hold.rerouted if not r.get("lost"))
            ),
            "rerouted": list(self.hold.rerouted),
            "lost_to_shock_units": self.hold.lost_to_shock,
            "demand_not_covered_units": self.hold.demand_lost,
            "stock_lost_units": self.hold.stock_lost,
        }
        replan: dict[str, Any] = (
            _summary(self.replan, self.replan_eval)
            if self.replan_eval is not None
            else {"status": str(self.replan.status), "objective": None}
        )
        replan["status"] = str(self.replan.status)
        replan["gap"] = self.replan.gap
        replan["solve_seconds"] = self.replan.solve_seconds
        replan["seed"] = self.replan.seed  # with the shock and the base plan, reproducible
        # what the re-plan says of itself (a block on its naive plan, a limit cut short, ...)
        replan["notes"] = list(self.replan.notes or ())
        a = self.applied
        return {
            "scenario": self.base.scenario,
            "currency": self.base.currency,
            "shock": {
                **a.shock.to_json(),
                "matched": list(a.matched),
                "closed_lanes": list(a.closed_lanes),
                "closed_rate_cards": list(a.closed_cards),
                "closed_warehouses": list(a.closed_warehouses),
            },
            "base": base,
            "hold": hold,
            "replan": replan,
            "diff": {
                "hold": _diff(base, hold),
                "replan": _diff(base, replan) if self.replan_eval is not None else None,
            },
            "notes": list(self.notes),
        }


def _service(ev: Evaluation, demand: float) -> dict[str, Any]:
    return {
        "on_time_share": ev.on_time_share,
        "units_on_time": ev.units_on_time,
        "units_late": ev.units_late,
        "units_lost": ev.units_lost,
        "fill_rate": 1.0 - ev.units_lost / demand if demand > 0 else 1.0,
        "by_country": {
            c: {
                "on_time_share": v["on_time_share"],
                "units_lost": v["units_lost"],
                "fill_rate": 1.0 - v["units_lost"] / v["demand"] if v["demand"] > 0 else 1.0,
            }
            for c, v in ev.by_country.items()
        },
    }


def _summary(plan: Plan, ev: Evaluation) -> dict[str, Any]:
    demand = ev.units_on_time + ev.units_late + ev.units_lost
    return {
        "status": str(plan.status),
        "objective": ev.total,
        "cost": dict(ev.cost),
        "service": _service(ev, demand),
        "warehouses": [{"id": w.id, "open": w.open} for w in plan.warehouses or () if w.open],
        "feasible": ev.feasible,
        "violations": list(ev.violations),
        "shortfalls": list(ev.shortfalls),
    }


def _diff(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    countries = sorted(set(base["service"]["by_country"]) | set(other["service"]["by_country"]))

    def share(doc: dict[str, Any], c: str) -> float | None:
        v = doc["service"]["by_country"].get(c)
        return None if v is None else float(v["on_time_share"])

    return {
        "objective": other["objective"] - base["objective"],
        "cost": {k: other["cost"].get(k, 0.0) - v for k, v in base["cost"].items()},
        "on_time_share": other["service"]["on_time_share"] - base["service"]["on_time_share"],
        "on_time_share_by_country": {
            c: (
                None
                if share(other, c) is None or share(base, c) is None
                else share(other, c) - share(base, c)  # type: ignore[operator]
            )
            for c in countries
        },
        "units_lost": other["service"]["units_lost"] - base["service"]["units_lost"],
        "fill_rate": other["service"]["fill_rate"] - base["service"]["fill_rate"],
    }


# -- hold ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Hold:
    """The shocked network as :func:`hold_plan` reads it: id maps, usable warehouses, option
    keys, unit costs and on-time masks, and the moves made so far."""

    data: NetworkData
    sku_i: dict[str, int]
    wh_i: dict[str, int]
    z_i: dict[str, int]
    o_i: dict[str, int]
    rerouted: list[dict[str, Any]]

    @classmethod
    def of(cls, data: NetworkData) -> _Hold:
        return cls(
            data=data,
            sku_i={s: i for i, s in enumerate(data.skus)},
            wh_i={w: i for i, w in enumerate(data.warehouses)},
            z_i={z: i for i, z in enumerate(data.zones)},
            o_i={o: i for i, o in enumerate(data.origins)},
            rerouted=[],
        )

    def need(self, mapping: dict[str, int], key: Any, what: str, where: str) -> int:
        """The index of ``key``; an id the shocked network does not have is an error."""
        if key not in mapping:
            raise InvalidNetworkError(f"{where}: unknown {what} {key!r} in the shocked network")
        return mapping[key]


def _unit_costs(opts: Any, data: NetworkData) -> npt.NDArray[np.float64]:
    return opts.unit_cost(data.sku) if len(opts) else np.zeros((0, 0))


def _hold_replenishment(
    ctx: _Hold, plan: Plan
) -> tuple[list[ReplenishmentRow], set[tuple[int, int]]]:
    """Replenishment kept, moved to the cheapest other inbound path into its warehouse, or
    dropped (warehouse closed or unreachable); the (SKU, warehouse) pairs cut off (replenished
    in the plan, no longer). A pair the plan ships from tonight's state alone (format v1.1:
    lots there, transfers in, resold returns; no replenishment) is not cut off."""
    data, sku_i, wh_i, o_i = ctx.data, ctx.sku_i, ctx.wh_i, ctx.o_i
    need, rerouted = ctx.need, ctx.rerouted
    usable = data.wh_usable.tolist()
    in_k = option_keys(data.inbound, data.lanes)
    in_hours = data.inbound.hours.astype(float).tolist()
    cost_in = _unit_costs(data.inbound, data)
    # -- replenishment: keep, move to another inbound path, or drop (warehouse unreachable) ---
    new_rep: list[ReplenishmentRow] = []
    fed: set[tuple[int, int]] = set()
    had: set[tuple[int, int]] = set()
    for j, row in enumerate(plan.replenishment or ()):
        k = need(sku_i, row.sku, "SKU", f"replenishment[{j}]")
        w = need(wh_i, row.warehouse, "warehouse", f"replenishment[{j}]")
        if float(row.units) > 0:
            had.add((k, w))
        if not usable[w]:
            continue
        lanes = tuple(row.lanes)
        o = o_i.get(row.origin or "", -1)
        hit = in_k.get((o, w, lanes)) if o >= 0 else None
        if hit is None:
            cand = np.flatnonzero(data.inbound.dst == w)
            if not len(cand):
                continue
            best = int(cand[np.argmin(cost_in[cand, k])])
            new = replace(
                row,
                lanes=tuple(data.lanes[x] for x in data.inbound.lanes_of(best).tolist()),
                origin=data.origins[int(data.inbound.src[best])],
            )
            rerouted.append(
                {
                    "kind": "replenishment",
                    "sku": row.sku,
                    "warehouse": row.warehouse,
                    "from_lanes": list(lanes),
                    "to_lanes": list(new.lanes),
                    "units": float(row.units),
                }
            )
            row = new
            hit = best
        # every field of the row, as ``replace`` would give it
        new_rep.append(
            ReplenishmentRow(
                row.sku, row.warehouse, row.lanes, row.units, row.origin, in_hours[hit]
            )
        )
        fed.add((k, w))

    return new_rep, had - fed


def _demand_scale(
    ctx: _Hold, plan: Plan
) -> tuple[
    dict[tuple[int, int], float], dict[tuple[int, int], float], dict[tuple[int, int], float]
]:
    """Demand now and the units the plan serves per (SKU, zone), and the factor (≤ 1) that caps
    the planned flows at the shocked demand, pro rata per pair."""
    sku_i, z_i, data = ctx.sku_i, ctx.z_i, ctx.data
    # -- demand now: planned flows are capped at the shocked demand (pro rata per pair) -------
    dem: dict[tuple[int, int], float] = {}
    for k, z, u in zip(
        data.dem_sku.tolist(), data.dem_zone.tolist(), data.dem_units.tolist(), strict=True
    ):
        dem[(k, z)] = dem.get((k, z), 0.0) + u
    served: dict[tuple[int, int], float] = {}
    for frow in plan.fulfilment or ():
        key = (sku_i.get(frow.sku, -1), z_i.get(frow.zone, -1))
        served[key] = served.get(key, 0.0) + float(frow.units)
    scale = {key: min(1.0, dem.get(key, 0.0) / s) for key, s in served.items() if s > 0}

    return dem, served, scale


def _hold_fulfilment(
    ctx: _Hold, plan: Plan, keep: dict[tuple[int, int], float], scale: dict[tuple[int, int], float]
) -> tuple[list[FulfilmentRow], float, dict[tuple[int, int], float], dict[tuple[int, int], float]]:
    """Fulfilment under the shock (module docstring): the new rows, the units lost to it, and
    the units each (SKU, warehouse) ships after and before."""
    data, sku_i, wh_i, z_i, o_i = ctx.data, ctx.sku_i, ctx.wh_i, ctx.z_i, ctx.o_i
    need, rerouted = ctx.need, ctx.rerouted
    usable = data.wh_usable
    out_k = option_keys(data.outbound, data.lanes)
    dir_k = option_keys(data.direct, data.lanes)
    late_pen = float(data.service.late_penalty_per_unit)
    cost_out = _unit_costs(data.outbound, data)
    cost_dir = _unit_costs(data.direct, data)
    on_out = on_time_mask(data.outbound, data) if len(data.outbound) else np.zeros(0, bool)
    on_dir = on_time_mask(data.direct, data) if len(data.direct) else np.zeros(0, bool)
    # -- fulfilment ---------------------------------------------------------------------------
    new_ful: list[FulfilmentRow] = []
    lost_to_shock = 0.0
    out_by_wz: dict[tuple[int, int], list[int]] = {}
    for i in range(len(data.outbound)):
        out_by_wz.setdefault((int(data.outbound.src[i]), int(data.outbound.dst[i])), []).append(i)
    shipped_kw: dict[tuple[int, int], float] = {}
    shipped_kw_before: dict[tuple[int, int], float] = {}
    # the rows of a plan share few (source, zone, lanes) keys and fewer options: the option a
    # key moves to is chosen once (once per SKU only when the choice falls back to the
    # cheapest path, which depends on the SKU's costs), and an option's fields (source, lanes,
    # hours, on time, P(on time)) are read once; each row then costs two dict lookups
    choice: dict[tuple[Any, ...], tuple[str, int] | None] = {}
    by_k: dict[tuple[Any, ...], tuple[str, int] | None] = {}
    fields: dict[tuple[str, int], tuple[str | None, tuple[str, ...], float, bool, float]] = {}

    def _fallback_direct(k: int, z: int) -> tuple[str, int] | None:
        cand = np.flatnonzero(data.direct.dst == z) if len(data.direct) else np.zeros(0, int)
        if not len(cand):
            return None
        return "direct", int(cand[np.argmin(cost_dir[cand, k] + late_pen * ~on_dir[cand])])

    def _choose(src: str, z: int, k: int, lanes: tuple[str, ...], from_wh: bool) -> Any:
        """The (kind, option) a row moves to, or None when the zone has no path left."""
        key = (from_wh, src, z, lanes)
        got = choice.get(key, key)
        if got is not key:
            return got
        kind_opt: Any = key  # "depends on the SKU" until shown otherwise
        if from_wh and src in wh_i and usable[wh_i[src]]:
            w = wh_i[src]
            opt = out_k.get((w, z, lanes))
            if opt is not None:
                kind_opt = ("warehouse", opt)
        elif src in o_i:
            opt = dir_k.get((o_i[src], z, lanes))
            if opt is not None:
                kind_opt = ("direct", opt)
        if kind_opt is not key:
            choice[key] = kind_opt
            return kind_opt
        # the choice is the cheapest path for the row's SKU: another path from the same
        # warehouse when the row's closed, else the cheapest direct path into the zone
        kk = (*key, k)
        got = by_k.get(kk, kk)
        if got is not kk:
            return got
        alt = out_by_wz.get((wh_i[src], z), []) if from_wh and src in wh_i else []
        if alt and usable[wh_i[src]]:
            c = np.array(alt)
            got = ("warehouse", int(c[np.argmin(cost_out[c, k] + late_pen * ~on_out[c])]))
        else:
            got = _fallback_direct(k, z)
        by_k[kk] = got
        return got

    def _fields(kind: str, opt: int) -> tuple[str | None, tuple[str, ...], float, bool, float]:
        got = fields.get((kind, opt))
        if got is None:
            is_out = kind == "warehouse"
            opts = data.outbound if is_out else data.direct
            got = (
                None if is_out else data.origins[int(opts.src[opt])],
                tuple(data.lanes[x] for x in opts.lanes_of(opt).tolist()),
                float(opts.hours[opt]),
                bool((on_out if is_out else on_dir)[opt]),
                float(option_on_time(opts, data, np.array([opt])).p[0]),
            )
            fields[(kind, opt)] = got
        return got

    def _moved(frow: FulfilmentRow, to: str | None, to_lanes: Any, units: float) -> None:
        """Record a flow moved to ``to`` along ``to_lanes`` (None: lost, no path is left)."""
        rerouted.append(
            {
                "kind": "fulfilment",
                "sku": frow.sku,
                "zone": frow.zone,
                "from_source": frow.source,
                "from_lanes": list(frow.lanes),
                "to_source": to,
                "to_lanes": None if to_lanes is None else list(to_lanes),
                "units": units,
                "lost": to is None,
            }
        )

    def _place(frow: FulfilmentRow, k: int, z: int, units: float, from_wh: bool) -> None:
        nonlocal lost_to_shock
        lanes = tuple(frow.lanes)
        src = frow.source
        got = _choose(src, z, k, lanes, from_wh)
        if got is None:  # no path into the zone is left: lost
            lost_to_shock += units
            _moved(frow, None, None, units)
            return
        kind, opt = got
        origin, new_lanes, hours, on, p = _fields(kind, opt)
        new_src = src if origin is None else origin
        if new_src != src or new_lanes != lanes:
            _moved(frow, new_src, new_lanes, units)
        # every field of the row, as ``replace`` would give it
        new_ful.append(
            FulfilmentRow(frow.sku, frow.zone, new_src, new_lanes, units, hours, on, p, kind)
        )
        if kind == "warehouse":
            key = (k, wh_i[new_src])
            shipped_kw[key] = shipped_kw.get(key, 0.0) + units

    for j, frow in enumerate(plan.fulfilment or ()):
        where = f"fulfilment[{j}]"
        k = need(sku_i, frow.sku, "SKU", where)
        z = need(z_i, frow.zone, "zone", where)
        units = float(frow.units) * scale.get((k, z), 1.0)
        src = frow.source
        if src in wh_i:
            w = wh_i[src]
            shipped_kw_before[(k, w)] = shipped_kw_before.get((k, w), 0.0) + float(frow.units)
        if units <= 0:
            continue
        # a pair cut off keeps the share tonight's state supplies (``keep``); the rest moves
        q = keep.get((k, wh_i[src]), 1.0) if src in wh_i else 1.0
        parts = (
            [(units * q, True), (units * (1.0 - q), False)] if 0.0 < q < 1.0 else [(units, q > 0)]
        )
        for part, from_wh in parts:
            _place(frow, k, z, part, from_wh)

    return new_ful, lost_to_shock, shipped_kw, shipped_kw_before


def _hold_transfers(
    ctx: _Hold, plan: Plan
) -> tuple[tuple[TransferRow, ...] | None, tuple[InventoryLotRow, ...] | None]:
    """Tonight's transfers under the shock: hours (and arrival) from the shocked lane; a
    transfer whose lane is closed, or whose warehouse the shock closes, is not made and its
    units stay in the lot it was to leave (the inventory rows say so)."""
    data, wh_i, rerouted = ctx.data, ctx.wh_i, ctx.rerouted
    if not plan.transfers:
        return plan.transfers, plan.inventory
    tr = data.transfer
    lane_i = {ln: i for i, ln in enumerate(data.lanes)}
    usable = data.wh_usable
    kept: list[TransferRow] = []
    back: dict[tuple[str, str, str, float], float] = {}
    # the first transfer option of each (from, to, lane), looked up per row (a scan of every
    # option per row was quadratic in the transfers)
    first: dict[tuple[int, int, int], int] = {}
    if tr is not None and len(tr):
        first_lane = tr.lane_idx[tr.lane_ptr[: len(tr)]]
        for t, abl in enumerate(
            zip(tr.src.tolist(), tr.dst.tolist(), first_lane.tolist(), strict=True)
        ):
            first.setdefault(abl, t)
    for trow in plan.transfers:
        a, b, ln = wh_i.get(trow.from_, -1), wh_i.get(trow.to, -1), lane_i.get(trow.lane, -1)
        t_hit = first.get((a, b, ln)) if a >= 0 and b >= 0 and usable[a] and usable[b] else None
        hit = [] if t_hit is None else [t_hit]
        transit = trow.lot == "in_transit"
        lot_h = float(trow.available_in_hours or 0.0) - float(trow.hours) if transit else 0.0
        if not hit or tr is None:
            key = (trow.sku, trow.from_, "in_transit" if transit else "on_hand", round(lot_h, 6))
            back[key] = back.get(key, 0.0) + float(trow.units)
            rerouted.append(
                {
                    "kind": "transfer",
                    "sku": trow.sku,
                    "from_source": trow.from_,
                    "to_source": trow.to,
                    "from_lanes": [trow.lane],
                    "to_lanes": None,
                    "units": float(trow.units),
                    "lost": True,
                }
            )
            continue
        hours = float(tr.hours[hit[0]])
        kept.append(replace(trow, hours=hours, available_in_hours=lot_h + hours))
    inventory = plan.inventory
    if back and inventory is not None:
        rows = []
        for irow in inventory:
            h = float(irow.arrives_in_hours or 0.0) if irow.kind == "in_transit" else 0.0
            key = (irow.sku, irow.warehouse, irow.kind, round(h, 6))
            u = min(back.get(key, 0.0), float(irow.transferred))
            if u > 0:
                back[key] -= u
                irow = replace(irow, transferred=float(irow.transferred) - u, left=irow.left + u)
            rows.append(irow)
        inventory = tuple(rows)
    return tuple(kept), inventory


def _hold_returns(
    ctx: _Hold, plan: Plan, new_ful: list[FulfilmentRow]
) -> tuple[ReturnRow, ...] | None:
    """Returns follow the held deliveries: each row scaled by the units delivered to its
    (SKU, zone) after over before; a row whose warehouse the shock closes or whose reverse
    path is closed is written off (no resold units)."""
    if not plan.returns:
        return plan.returns
    data, wh_i, rerouted = ctx.data, ctx.wh_i, ctx.rerouted
    out_k = option_keys(data.outbound, data.lanes)
    usable = data.wh_usable
    before: dict[tuple[str, str], float] = {}
    after: dict[tuple[str, str], float] = {}
    for frow in plan.fulfilment or ():
        before[(frow.sku, frow.zone)] = before.get((frow.sku, frow.zone), 0.0) + float(frow.units)
    for frow in new_ful:
        after[(frow.sku, frow.zone)] = after.get((frow.sku, frow.zone), 0.0) + float(frow.units)
    rows: list[ReturnRow] = []
    for rrow in plan.returns:
        key = (rrow.sku or "", rrow.zone or "")
        b = before.get(key, 0.0)
        f = after.get(key, 0.0) / b if b > 0 else 1.0
        row = (
            rrow
            if f == 1.0
            else replace(
                rrow, units=float(rrow.units) * f, resold_units=float(rrow.resold_units) * f
            )
        )
        if row.warehouse is not None and float(row.units) > 0:
            w = wh_i.get(row.warehouse, -1)
            z = ctx.z_i.get(row.zone or "", -1)
            ok = w >= 0 and bool(usable[w]) and (w, z, tuple(row.lanes or ())) in out_k
            if not ok:
                rerouted.append(
                    {
                        "kind": "returns",
                        "sku": row.sku,
                        "zone": row.zone,
                        "from_source": row.warehouse,
                        "from_lanes": list(row.lanes or ()),
                        "to_source": None,
                        "to_lanes": None,
                        "units": float(row.units),
                        "lost": True,
                    }
                )
                row = replace(row, warehouse=None, lanes=None, resold_units=0.0, written_off=True)
        if float(row.units) > 0:
            rows.append(row)
    return tuple(rows)


def _state_supply(
    ctx: _Hold,
    inventory: tuple[InventoryLotRow, ...] | None,
    transfers: tuple[TransferRow, ...] | None,
    returns: tuple[ReturnRow, ...] | None,
    plan: Plan,
) -> dict[tuple[int, int], float]:
    """Units per (SKU, warehouse) from tonight's state (format v1.1): lots used there,
    transfers in and resold returns, less the surplus left on the shelf."""
    sku_i, wh_i = ctx.sku_i, ctx.wh_i
    out: dict[tuple[int, int], float] = {}

    def add(sku: str | None, wh: str | None, u: float) -> None:
        if sku in sku_i and wh in wh_i:
            key = (sku_i[sku], wh_i[wh])
            out[key] = out.get(key, 0.0) + u

    for irow in inventory or ():
        add(irow.sku, irow.warehouse, float(irow.used_here))
    for trow in transfers or ():
        add(trow.sku, trow.to, float(trow.units))
    for rrow in returns or ():
        add(rrow.sku, rrow.warehouse, float(rrow.resold_units))
    for srow in plan.surplus or ():
        add(srow.sku, srow.warehouse, -float(srow.units))
    return out


def _release(
    ctx: _Hold,
    extra: dict[tuple[int, int], float],
    inventory: tuple[InventoryLotRow, ...] | None,
    transfers: tuple[TransferRow, ...] | None,
    surplus: tuple[SurplusRow, ...] | None,
) -> tuple[
    tuple[InventoryLotRow, ...] | None,
    tuple[TransferRow, ...] | None,
    tuple[SurplusRow, ...] | None,
]:
    """Give back ``extra`` units of tonight's state per (SKU, warehouse): lots used there are
    left, then transfers in are cut (their units left in the lot they came from), then the
    rest (resold returns) is surplus on the shelf."""
    if not extra:
        return inventory, transfers, surplus
    data, sku_i, wh_i = ctx.data, ctx.sku_i, ctx.wh_i
    inv = list(inventory or ())
    trs = list(transfers or ())
    sur = list(surplus or ())

    def take(sku: str, wh: str, most: float) -> float:
        """Up to ``most`` units of ``extra`` at (sku, wh), taken off it."""
        key = (sku_i[sku], wh_i[wh]) if sku in sku_i and wh in wh_i else None
        u = min(extra.get(key, 0.0), most) if key is not None else 0.0
        if key is not None and u > 0:
            extra[key] -= u
        return u

    def lot_key(sku: str, wh: str, kind: str, h: float) -> tuple[str, str, str, float]:
        return (sku, wh, kind, round(h, 6))

    back: dict[tuple[str, str, str, float], float] = {}
    for i, irow in enumerate(inv):
        u = take(irow.sku, irow.warehouse, float(irow.used_here))
        if u > 0:
            inv[i] = replace(irow, used_here=float(irow.used_here) - u, left=float(irow.left) + u)
    for i, trow in enumerate(trs):
        u = take(trow.sku, trow.to, float(trow.units))
        if u > 0:
            trs[i] = replace(trow, units=float(trow.units) - u)
            transit = trow.lot == "in_transit"
            h = float(trow.available_in_hours or 0.0) - float(trow.hours) if transit else 0.0
            lk = lot_key(trow.sku, trow.from_, "in_transit" if transit else "on_hand", h)
            back[lk] = back.get(lk, 0.0) + u
    for i, irow in enumerate(inv):
        h = float(irow.arrives_in_hours or 0.0) if irow.kind == "in_transit" else 0.0
        lk = lot_key(irow.sku, irow.warehouse, irow.kind, h)
        u = min(back.get(lk, 0.0), float(irow.transferred))
        if u > 0:
            back[lk] -= u
            inv[i] = replace(
                irow, transferred=float(irow.transferred) - u, left=float(irow.left) + u
            )
    for key, x in sorted(extra.items()):
        if x > 1e-9:
            sur.append(
                SurplusRow(sku=data.skus[key[0]], warehouse=data.warehouses[key[1]], units=x)
            )
    return (
        tuple(inv) if inventory is not None else None,
        tuple(t for t in trs if float(t.units) > 0) if transfers is not None else None,
        tuple(sur) if sur or surplus is not None else None,
    )


def _hold_orders(
    ctx: _Hold,
    plan: Plan,
    stock: list[StockRow],
    transfers: tuple[TransferRow, ...] | None,
    rep: list[ReplenishmentRow],
) -> tuple[OrderRow, ...] | None:
    """Tonight's orders of the held plan, as a plan defines them (``optimizer.plan.state``):
    per (SKU, warehouse) the kept stocking level less the held inventory position (tonight's
    units on hand and in transit, the held transfers in, less out), rounded up, where
    positive. Booked on the held replenishment's largest path into the warehouse (a path the
    hold moved the replenishment to, say), else on the cheapest inbound path left into it;
    not booked where no inbound path is left. A plan without orders (written before format
    v1.1) gets none."""
    if plan.orders is None:
        return None
    data, sku_i, wh_i = ctx.data, ctx.sku_i, ctx.wh_i
    pos: dict[tuple[int, int], float] = {}
    for k, w, u in zip(
        data.inv_sku.tolist(), data.inv_wh.tolist(), data.inv_units.tolist(), strict=True
    ):
        pos[(k, w)] = pos.get((k, w), 0.0) + float(u)
    for t in transfers or ():
        k = sku_i[t.sku]
        pos[(k, wh_i[t.to])] = pos.get((k, wh_i[t.to]), 0.0) + float(t.units)
        pos[(k, wh_i[t.from_])] = pos.get((k, wh_i[t.from_]), 0.0) - float(t.units)
    level: dict[tuple[int, int], float] = {}
    for srow in stock:
        key = (sku_i[srow.sku], wh_i[srow.warehouse])
        level[key] = level.get(key, 0.0) + float(srow.units)
    largest: dict[tuple[int, int], tuple[float, tuple[str, ...]]] = {}
    for rrow in rep:
        key = (sku_i[rrow.sku], wh_i[rrow.warehouse])
        if key not in largest or float(rrow.units) > largest[key][0]:
            largest[key] = (float(rrow.units), tuple(rrow.lanes))
    cost_in: npt.NDArray[np.float64] | None = None
    out: list[OrderRow] = []
    usable = data.wh_usable.tolist()
    for (k, w), s_ in sorted(level.items()):
        need = s_ - pos.get((k, w), 0.0)
        if need <= 1e-9 or not usable[w]:
            continue
        if (k, w) in largest:
            lanes = largest[(k, w)][1]
        else:
            cand = np.flatnonzero(data.inbound.dst == w)
            if not len(cand):
                continue
            cost_in = _unit_costs(data.inbound, data) if cost_in is None else cost_in
            best = int(cand[np.argmin(cost_in[cand, k])])
            lanes = tuple(data.lanes[x] for x in data.inbound.lanes_of(best).tolist())
        out.append(
            OrderRow(
                sku=data.skus[k],
                warehouse=data.warehouses[w],
                lanes=lanes,
                units=float(math.ceil(need - 1e-9)),
            )
        )
    return tuple(out)


def _warehouse_use(plan: Plan, data: NetworkData) -> tuple[WarehouseRow, ...]:
    """The plan's warehouse rows with the use recomputed from its rows: a warehouse the shock
    closes ships and stocks nothing, the others' throughput comes from the held flows and their
    storage from the held stock; tonight's units left on a warehouse's shelves (lots there
    within the horizon) and its surplus take its storage whether it is closed or not
    (``shelf_m3``)."""
    wh_i = {w: i for i, w in enumerate(data.warehouses)}
    sku_i = {k: i for i, k in enumerate(data.skus)}
    H = float(data.horizon_days)
    thr: dict[str, float] = {}
    for f in plan.fulfilment or ():
        if f.source in wh_i:
            thr[f.source] = thr.get(f.source, 0.0) + float(f.units) / H
    m3: dict[str, float] = {}
    for srow in plan.stock or ():
        k = sku_i.get(srow.sku)
        vol = float(data.sku.volume_m3[k]) if k is not None else 0.0
        m3[srow.warehouse] = m3.get(srow.warehouse, 0.0) + float(srow.units) * vol

    shelf: dict[str, float] = {}
    for irow in plan.inventory or ():
        k = sku_i.get(irow.sku)
        here = irow.kind != "in_transit" or float(irow.arrives_in_hours or 0.0) / 24.0 < H
        if k is not None and here:
            vol = float(data.sku.volume_m3[k])
            shelf[irow.warehouse] = shelf.get(irow.warehouse, 0.0) + float(irow.left) * vol
    for surow in plan.surplus or ():
        k = sku_i.get(surow.sku)
        if k is not None:
            vol = float(data.sku.volume_m3[k])
            shelf[surow.warehouse] = shelf.get(surow.warehouse, 0.0) + float(surow.units) * vol
    state = plan.inventory is not None or plan.surplus is not None

    def used(wid: str) -> bool:
        return wid in wh_i and bool(data.wh_usable[wh_i[wid]])

    return tuple(
        replace(
            w,
            open=bool(w.open and used(w.id)),
            storage_used_m3=(m3.get(w.id, 0.0) if used(w.id) else 0.0) + shelf.get(w.id, 0.0),
            throughput_used_per_day=thr.get(w.id, 0.0) if used(w.id) else 0.0,
            shelf_m3=shelf.get(w.id, 0.0) if state else w.shelf_m3,
        )
        for w in plan.warehouses or ()
    )


def hold_plan(base_plan: Plan, shocked: NetworkData) -> HoldPlan:
    """Rewrite ``base_plan`` for the shocked network with the policy of the module docstring.

    Raises
    ------
    InvalidNetworkError
        If the base plan names a SKU, zone or warehouse the shocked network does not have.
    """
    plan = base_plan
    ctx = _Hold.of(shocked)
    sku_i, wh_i, rerouted = ctx.sku_i, ctx.wh_i, ctx.rerouted
    usable = shocked.wh_usable
    new_rep, cut = _hold_replenishment(ctx, plan)
    dem, served, scale = _demand_scale(ctx, plan)
    transfers, inventory = _hold_transfers(ctx, plan)
    # tonight's lots at a closed warehouse are lost with it
    lots_lost = 0.0
    if inventory is not None:
        rows = []
        for irow in inventory:
            wl = wh_i.get(irow.warehouse)
            if wl is not None and not usable[wl] and float(irow.used_here) > 0:
                lots_lost += float(irow.used_here)
                irow = replace(irow, used_here=0.0, left=float(irow.left) + float(irow.used_here))
            rows.append(irow)
        inventory = tuple(rows)
    state_before = _state_supply(ctx, plan.inventory, plan.transfers, plan.returns, plan)
    # a pair cut off from new inbound keeps shipping what tonight's state supplies
    out_before: dict[tuple[int, int], float] = {}
    for frow in plan.fulfilment or ():
        if frow.source in wh_i and frow.sku in sku_i:
            key = (sku_i[frow.sku], wh_i[frow.source])
            out_before[key] = out_before.get(key, 0.0) + float(frow.units)
    # ... which depends on the resold returns of the deliveries it keeps (a contraction: a
    # round changes the shares by at most the resold share of the returns rate times the last
    # change), so rounds until the shares settle
    state_mid = _state_supply(ctx, inventory, transfers, plan.returns, plan)
    n_moves = len(rerouted)
    keep: dict[tuple[int, int], float] = {}
    has_state = bool(plan.inventory or plan.transfers or plan.returns)
    for _ in range(60 if cut and has_state else 1):
        del rerouted[n_moves:]
        last, keep = (
            keep,
            {
                key: min(1.0, max(0.0, state_mid.get(key, 0.0) / out_before[key]))
                if out_before.get(key, 0.0) > 0
                else 0.0
                for key in cut
            },
        )
        new_ful, lost_to_shock, shipped_kw, shipped_kw_before = _hold_fulfilment(
            ctx, plan, keep, scale
        )
        returns = _hold_returns(ctx, plan, new_ful)
        state_mid = state_after = _state_supply(ctx, inventory, transfers, returns, plan)
        if last and max(abs(keep[k] - last[k]) for k in keep) <= 1e-13:
            break
    # new inbound follows the warehouse's outflow (less demand, moved flows) net of what
    # tonight's state supplies more or less than before
    rep_before: dict[tuple[int, int], float] = {}
    for rrow in new_rep:
        key = (sku_i[rrow.sku], wh_i[rrow.warehouse])
        rep_before[key] = rep_before.get(key, 0.0) + float(rrow.units)
    rep_out = []
    for rrow in new_rep:
        key = (sku_i[rrow.sku], wh_i[rrow.warehouse])
        need_in = (
            rep_before[key]
            + (shipped_kw.get(key, 0.0) - shipped_kw_before.get(key, 0.0))
            - (state_after.get(key, 0.0) - state_before.get(key, 0.0))
        )
        f = need_in / rep_before[key] if rep_before[key] > 0 else 0.0
        if f > 0:
            rep_out.append(replace(rrow, units=float(rrow.units) * f))
    # what tonight's state now supplies beyond a pair's outflow is not used: lots stay where
    # they are, transfers in are not made, resold returns stay on the shelf (surplus)
    rep_base: dict[tuple[int, int], float] = {}
    for rrow in plan.replenishment or ():
        if rrow.sku in sku_i and rrow.warehouse in wh_i:
            key = (sku_i[rrow.sku], wh_i[rrow.warehouse])
            rep_base[key] = rep_base.get(key, 0.0) + float(rrow.units)
    rep_after: dict[tuple[int, int], float] = {}
    for rrow in rep_out:
        key = (sku_i[rrow.sku], wh_i[rrow.warehouse])
        rep_after[key] = rep_after.get(key, 0.0) + float(rrow.units)
    extra: dict[tuple[int, int], float] = {}
    for key in sorted(set(state_before) | set(state_after) | set(shipped_kw_before)):
        if not usable[key[1]]:
            continue
        d_out = shipped_kw.get(key, 0.0) - shipped_kw_before.get(key, 0.0)
        d_state = state_after.get(key, 0.0) - state_before.get(key, 0.0)
        d_rep = rep_after.get(key, 0.0) - rep_base.get(key, 0.0)
        if d_out == 0.0 and d_state == 0.0 and d_rep == 0.0:
            continue
        x = d_rep + d_state - d_out
        if x > 1e-9:
            extra[key] = x
    inventory, transfers, surplus = _release(ctx, extra, inventory, transfers, plan.surplus)
    stock_lost = 0.0
    stock = []
    for srow in plan.stock or ():
        ws = wh_i.get(srow.warehouse)
        if ws is None or not usable[ws]:
            stock_lost += float(srow.units)
            continue
        stock.append(srow)
    orders = _hold_orders(ctx, plan, stock, transfers, rep_out)
    held = replace(
        plan,
        orders=orders,
        returns=returns,
        transfers=transfers,
        inventory=inventory,
        replenishment=tuple(rep_out),
        surplus=surplus,
        fulfilment=tuple(new_ful),
        stock=tuple(stock),
        strategy="hold",
    )
    held = replace(held, warehouses=_warehouse_use(held, shocked))
    demand_lost = float(sum(max(0.0, d - served.get(key, 0.0)) for key, d in dem.items()))
    return HoldPlan(held, tuple(rerouted), lost_to_shock, stock_lost + lots_lost, demand_lost)


HELD_NOTE = (
    "held: the base plan kept under the shock (the hold policy of optimizer.risk.whatif), "
    "evaluated on the shocked network, not solved"
)


def held_document(plan: Plan, shocked: NetworkData, ev: Evaluation) -> Plan:
    """The held plan as a document of its own: every figure from the shocked network and the
    evaluator, none left from the base plan it was rewritten from.

    - cost, objective, evaluation and service (overall and by country, against the shocked
      targets) are the evaluator's; no bound (it was not solved), ``solve_seconds`` 0;
    - ``status`` is ``feasible`` when the evaluator finds no broken rule, else ``infeasible``
      (the evaluation lists the rules);
    - ``lost`` rows are the shocked demand each (SKU, zone) is not served;
    - a warehouse the shock closes uses nothing; the others' throughput is recomputed from the
      held flows and their storage from the held stock;
    - tonight's orders into a warehouse the shock closes are dropped;
    - notes say what the document is; solver statistics, diagnosis and baseline are removed.
    """
    data = shocked
    wh_i = {w: i for i, w in enumerate(data.warehouses)}
    usable = data.wh_usable
    served: dict[tuple[str, str], float] = {}
    for f in plan.fulfilment or ():
        served[(f.sku, f.zone)] = served.get((f.sku, f.zone), 0.0) + float(f.units)
    dem: dict[tuple[str, str], float] = {}
    for k, z, u in zip(
        data.dem_sku.tolist(), data.dem_zone.tolist(), data.dem_units.tolist(), strict=True
    ):
        key = (data.skus[k], data.zones[z])
        dem[key] = dem.get(key, 0.0) + float(u)
    lost = tuple(
        LostRow(sku=s_, zone=z_, units=d - served.get((s_, z_), 0.0))
        for (s_, z_), d in sorted(dem.items())
        if d - served.get((s_, z_), 0.0) > 1e-9
    )

    def used(wid: str) -> bool:
        return wid in wh_i and bool(usable[wh_i[wid]])

    warehouses = _warehouse_use(plan, data)
    targets = data.service.min_on_time_share_by_country
    service = ServiceSummary(
        on_time_share=ev.on_time_share,
        units_on_time=ev.units_on_time,
        units_late=ev.units_late,
        units_lost=ev.units_lost,
        by_country={
            c: CountryService(
                on_time_share=v["on_time_share"],
                units_on_time=v.get("units_on_time"),
                units_late=v.get("units_late"),
                units_lost=v.get("units_lost"),
                demand=v.get("demand"),
                target=targets.get(c),
            )
            for c, v in ev.by_country.items()
        },
        target=float(data.service.min_on_time_share),
    )
    orders = plan.orders
    if orders is not None:
        orders = tuple(o for o in orders if used(o.warehouse))
    return replace(
        plan,
        status=Status.FEASIBLE if ev.feasible else Status.INFEASIBLE,
        objective=ev.total,
        bound=None,
        gap=None,
        solve_seconds=0.0,
        cost=CostBreakdown(**ev.cost),
        service=service,
        warehouses=warehouses,
        lost=lost,
        orders=orders,
        evaluation=PlanEvaluation(
            feasible=ev.feasible, violations=ev.violations, shortfalls=ev.shortfalls
        ),
        notes=(HELD_NOTE,),
        stats=None,
        diagnosis=None,
        baseline=None,
    )


def whatif(
    scenario: Scenario,
    base_plan: Plan,
    shock: Shock,
    params: AllocationParams | None = None,
    *,
    base_data: NetworkData | None = None,
    started: float | None = None,
    previous: Plan | None = None,
    progress: PhaseReport | None = None,
) -> WhatIf:
    """Evaluate the base plan, hold it under the shock and re-plan (module docstring).

    ``params.time_limit`` bounds the whole call, as it bounds ``plan_scenario``: counted from
    ``started`` (``time.perf_counter()``; default: now), so the evaluations and the hold
    before the re-plan are counted, and the re-plan gets what is left.

    ``previous`` is the previous plan the base plan was made against (format v1.1 stability,
    ``tradelane plan --previous``): the base and held plans are evaluated and the re-plan is
    made against it too, so their costs carry the same stability and excess-holding terms as
    the base plan's own.

    ``progress`` is told each step (the evaluations, the hold, then the re-plan's own phases).

    Raises
    ------
    ScenarioError
        If the shock does not fit the scenario (a selector matches nothing, ...).
    InvalidNetworkError
        If the base plan was not made for this scenario (a flow is no option of it).
    TimeLimitError
        The time limit is shorter than the what-if can keep (:func:`check_whatif_limit`: the
        re-plan's floor on the shocked scenario and the work that grows with the base plan's
        rows), found before any other work.
    """
    params = params or AllocationParams()
    say = progress or quiet
    started = time.perf_counter() if started is None else started
    applied = apply_shock(scenario, shock)
    rows = plan_rows(base_plan)
    check_whatif_limit(applied.scenario, rows, params, previous=previous is not None)
    say("what-if: compiling the base and shocked networks")
    base_data = base_data if base_data is not None else compile_network(scenario)
    shocked = compile_network(applied.scenario)
    if previous is not None:
        base_data = attach_previous(base_data, previous)
        shocked = attach_previous(shocked, previous)
    say(f"what-if: evaluating the base plan ({rows:,} rows)")
    base_eval = evaluate(base_data, base_plan)
    say("what-if: holding the plan under the shock")
    hold = hold_plan(base_plan, shocked)
    say("what-if: evaluating the held plan")
    hold_eval = evaluate(shocked, hold.plan)
    hold = replace(hold, plan=held_document(hold.plan, shocked, hold_eval))
    # the re-plan keeps its own output reserve; what comes after it here (its evaluation and
    # the second plan's file) is kept on top, so the what-if as a whole keeps the limit
    replan_params = params
    if math.isfinite(params.time_limit_s):
        after = WHATIF_AFTER_S_PER_PLAN_ROW * rows * machine_slowdown()
        replan_params = replace(params, time_limit=max(0.0, params.time_limit_s - after))
    replan = plan_scenario(
        applied.scenario,
        replan_params,
        data=shocked,
        started=started,
        previous=previous,
        progress=(lambda text, /, **kw: say(f"re-plan: {text}", **kw)) if progress else None,
    ).plan
    say("what-if: evaluating the re-plan")
    replan_eval = evaluate(shocked, replan) if replan.objective is not None else None
    notes = []
    if base_eval.violations:
        notes.append(f"the base plan breaks {len(base_eval.violations)} rule(s) on its scenario")
    if replan_eval is None:
        notes.append(f"no re-plan within the limits (status {replan.status})")
    return WhatIf(applied, base_plan, base_eval, hold, hold_eval, replan, replan_eval, tuple(notes))


def _f(v: float | None, spec: str = ",.2f") -> str:
    return (
        "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, spec)
    )


def whatif_markdown(doc: dict[str, Any]) -> str:
    """``whatif.md``: the what-if for people (from the ``whatif.json`` document)."""
    sh = doc["shock"]
    lines = [f"# What if: {sh['name']} on {doc['scenario']}", ""]
    if sh.get("description"):
        lines += [sh["description"], ""]
    if sh.get("source"):
        lines += [f"Source: {sh['source']}", ""]
    lines += ["## The shock", ""]
    for c in sh["changes"]:
        lines.append(f"- `{json.dumps(c)}`")
    if sh["closed_warehouses"]:
        lines.append(f"- warehouses closed: {', '.join(sh['closed_warehouses'])}")
    if sh["closed_lanes"] or sh["closed_rate_cards"]:
        lines.append(
            f"- lanes closed: {len(sh['closed_lanes'])}, rate cards closed: "
            f"{len(sh['closed_rate_cards'])}"
        )
    lines += ["", "## Hold tonight's plan or re-plan?", ""]
    cols = [("base", doc["base"]), ("hold", doc["hold"]), ("re-plan", doc["replan"])]
    lines.append("| | " + " | ".join(n for n, _ in cols) + " |")
    lines.append("| --- | " + " | ".join("---:" for _ in cols) + " |")

    def row(label: str, get: Any) -> None:
        vals = []
        for _, d in cols:
            try:
                vals.append(get(d))
            except (KeyError, TypeError):
                vals.append("n/a")
        lines.append(f"| {label} | " + " | ".join(vals) + " |")

    row("status", lambda d: str(d["status"]))
    row("total cost", lambda d: _f(d["objective"]))
    for term in doc["base"]["cost"]:
        row(f"  {term}", lambda d, t=term: _f(d["cost"][t]))
    row("on time (share of demand)", lambda d: _f(d["service"]["on_time_share"], ".2%"))
    row("fill rate", lambda d: _f(d["service"]["fill_rate"], ".2%"))
    row("units lost", lambda d: _f(d["service"]["units_lost"], ",.0f"))
    row("warehouses used", lambda d: str(len(d["warehouses"])))
    row("rules broken", lambda d: str(len(d["violations"])))
    row("service targets missed", lambda d: str(len(d.get("shortfalls", []))))
    countries = sorted(doc["base"]["service"]["by_country"])
    if countries:
        lines += ["", "On-time share by country:", ""]
        lines.append("| country | " + " | ".join(n for n, _ in cols) + " |")
        lines.append("| --- | " + " | ".join("---:" for _ in cols) + " |")
        for c in countries:
            vals = []
            for _, d in cols:
                v = (d.get("service") or {}).get("by_country", {}).get(c)
                vals.append(_f(v["on_time_share"], ".2%") if v else "n/a")
            lines.append(f"| {c} | " + " | ".join(vals) + " |")
    h = doc["hold"]
    lines += [
        "",
        (
            f"Holding the plan: {_f(h['rerouted_units'], ',.0f')} units move to another path "
            f"({h['policy']}); {_f(h['lost_to_shock_units'], ',.0f')} units find none and "
            "are lost; "
            f"{_f(h['stock_lost_units'], ',.0f')} units of stock are lost with closed warehouses; "
            f"{_f(h['demand_not_covered_units'], ',.0f')} units of demand are not covered by "
            "the plan."
        ),
    ]
    for name, d in (("base", doc["base"]), ("held", h), ("re-planned", doc["replan"])):
        if d.get("violations"):
            lines += ["", f"The {name} plan breaks {len(d['violations'])} rule(s), e.g.:", ""]
            lines += [f"- {v}" for v in d["violations"][:10]]
    rp = doc["replan"]
    if rp.get("notes"):
        secs = rp.get("solve_seconds")
        took = f" in {secs:,.1f} s" if isinstance(secs, int | float) else ""
        lines += ["", f"The re-plan ({rp['status']}{took}) says:", ""]
        lines += [f"- {n}" for n in rp["notes"][:10]]
    for name, d in (("held", h), ("re-planned", doc["replan"])):
        if d.get("shortfalls"):
            lines += ["", f"The {name} plan misses {len(d['shortfalls'])} service target(s):", ""]
            lines += [f"- {v}" for v in d["shortfalls"]]
    d = doc["diff"]
    lines += ["", "## Differences to the base plan", ""]
    for name in ("hold", "replan"):
        dd = d.get(name)
        if dd is None:
            lines.append(f"- {name}: no plan")
            continue
        lines.append(
            f"- {name}: cost {dd['objective']:+,.2f}, on-time share "
            f"{dd['on_time_share'] * 100:+.2f} pp, lost units {dd['units_lost']:+,.0f}"
        )
    lines += [f"- note: {n}" for n in doc.get("notes", [])]
    return "\n".join(lines) + "\n"
