"""Independent evaluation of a plan: every cost term, the service and every constraint.

:func:`evaluate` reads only a plan (:class:`optimizer.plan.document.Plan`, DESIGN §7's
``plan.json``; ``Plan.from_json`` reads a document) and the compiled network; it never looks at
the model's columns or at a solver. Each listed flow is matched to the network
option with exactly its lanes (from the right source to the right destination), its cost is
recomputed lane-vector by lane-vector with DESIGN §3's formula (written out element-wise here,
not through ``PathOptions.unit_cost``), and the sums, holding costs, stock rule, capacities,
linking and on-time shares are recomputed from the listed units. With random lane hours
(``time_cv``) each row's ``p_on_time`` is recomputed with
:func:`network.distribution.option_on_time` (itself tested against a large seeded
sample) and, with ``service.promise_probability``, decides the row's on-time flag.

Tolerances: flows and capacities are compared with ``1e-6`` relative slack (plus ``1e-6``
units), costs are summed in float64.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from network.compile import LaneDim, NetworkData, PathOptions
from network.distribution import option_on_time
from optimizer.exceptions import InvalidNetworkError
from optimizer.plan.document import Plan

__all__ = ["Evaluation", "evaluate"]

F = npt.NDArray[np.float64]
REL = 1e-6
ABS = 1e-6


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What :func:`evaluate` found.

    Attributes
    ----------
    cost
        The nine cost terms of DESIGN §7.
    total
        Their sum.
    on_time_share, units_on_time, units_late, units_lost
        Service over all demand (share 1.0 when there is no demand).
    by_country
        Per-country ``on_time_share`` and unit counts.
    violations
        One line per broken rule, naming the item; empty for a feasible plan.
    shortfalls
        Service targets (on-time shares) the plan misses; a plan may miss them and still be
        feasible when no plan can meet them (the plan's diagnosis says why).
    """

    cost: dict[str, float]
    total: float
    on_time_share: float
    units_on_time: float
    units_late: float
    units_lost: float
    by_country: dict[str, dict[str, float]] = field(default_factory=dict)
    violations: tuple[str, ...] = ()
    shortfalls: tuple[str, ...] = ()

    @property
    def feasible(self) -> bool:
        """No rule is broken."""
        return not self.violations


def _unit_cost(vec: F, w: F, v: F, value: F, own: F) -> tuple[F, F]:
    """Row-wise (lane cost without duty, duty) of path vectors for the matching SKUs."""
    lane = vec[:, 1] + vec[:, 2] * w + vec[:, 3] * v
    duty = np.zeros(len(vec))
    n_c = own.shape[1]
    for c in range(n_c):
        n_lanes = vec[:, 4 + 2 * c]
        rate_sum = vec[:, 5 + 2 * c]
        has = ~np.isnan(own[:, c])
        duty += np.where(has, n_lanes * np.where(has, own[:, c], 0.0), rate_sum) * value
    return lane, duty


def _index(
    opts: PathOptions, lanes: tuple[str, ...]
) -> dict[tuple[int, int, tuple[str, ...]], int]:
    out: dict[tuple[int, int, tuple[str, ...]], int] = {}
    for i in range(len(opts)):
        key = (int(opts.src[i]), int(opts.dst[i]), tuple(lanes[j] for j in opts.lanes_of(i)))
        out.setdefault(key, i)
    return out


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= ABS + REL * max(abs(a), abs(b))


@dataclass(slots=True)
class _State:
    """What the v1.1 sections of a plan add (see :func:`_state_terms`)."""

    transfer: float = 0.0
    returns: float = 0.0
    duty: float = 0.0
    holding: float = 0.0
    #: units into each (SKU, warehouse) besides replenishment: inventory used there, transfers
    #: in, resold returns, less the surplus left on the shelf
    inflow: dict[tuple[int, int], float] = field(default_factory=lambda: defaultdict(float))
    #: (lane, SKU, units) of every transfer, for the lane capacities
    lane_load: list[tuple[int, int, float]] = field(default_factory=list)
    #: returned units taken per warehouse
    returns_in: F = field(default_factory=lambda: np.zeros(0))
    #: (SKU, warehouse) -> [(day available, units)] of tonight's stock used there
    uses: dict[tuple[int, int], list[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )


#: A lot of tonight's stock: (SKU, warehouse, in transit, hours until it arrives)
_Lot = tuple[int, int, bool, float]


def _holding_rate(data: NetworkData, k: int, w: int) -> float:
    """On-hand holding cost per unit and day of SKU ``k`` at warehouse ``w``."""
    sk = data.sku
    return float(data.wh_holding_per_m3_day[w] * sk.volume_m3[k] + sk.holding_per_unit_day[k])


def _lots(ctx: _Ctx, plan: Plan, out: _State) -> tuple[dict[_Lot, float], dict[_Lot, float]]:
    """The network's lots, and the units the plan's inventory rows move away from each; every
    row must be a lot of the network, fully accounted (used + transferred + left)."""
    data = ctx.data
    H = float(data.horizon_days)
    lots: dict[_Lot, float] = defaultdict(float)
    for k, w, u, d, t in zip(
        data.inv_sku.tolist(),
        data.inv_wh.tolist(),
        data.inv_units.tolist(),
        data.inv_day.tolist(),
        data.inv_transit.tolist(),
        strict=True,
    ):
        lots[(k, w, bool(t), round(d * 24.0, 6))] += u
    seen: dict[_Lot, float] = defaultdict(float)
    moved_from: dict[_Lot, float] = defaultdict(float)
    for j, row in enumerate(plan.inventory or ()):
        where = f"inventory[{j}]"
        k = ctx.need(ctx.sku_i, row.sku, "SKU", where)
        w = ctx.need(ctx.wh_i, row.warehouse, "warehouse", where)
        transit = row.kind == "in_transit"
        hours = float(row.arrives_in_hours or 0.0) if transit else 0.0
        key = (k, w, transit, round(hours, 6))
        units = float(row.units)
        seen[key] += units
        here, moved, left = float(row.used_here), float(row.transferred), float(row.left)
        if min(here, moved, left) < -ABS:
            ctx.viol.append(f"{where}: negative units")
        if not _close(here + moved + left, units):
            ctx.viol.append(
                f"{where}: used {here:.6g} + transferred {moved:.6g} + left {left:.6g} "
                f"is not the lot's {units:.6g} units"
            )
        moved_from[key] += moved
        out.holding += left * _holding_rate(data, k, w) * max(0.0, H - hours / 24.0)
        if here > 0:
            out.uses[(k, w)].append((hours / 24.0, here))
            out.inflow[(k, w)] += here
    for key in set(lots) | set(seen):
        if not _close(lots.get(key, 0.0), seen.get(key, 0.0)):
            ctx.viol.append(
                f"SKU {data.skus[key[0]]!r} at {data.warehouses[key[1]]!r}: the plan lists "
                f"{seen.get(key, 0.0):.6g} units of inventory, tonight's state has "
                f"{lots.get(key, 0.0):.6g}"
            )
    return lots, moved_from


def _transfers(
    ctx: _Ctx, plan: Plan, lots: dict[_Lot, float], moved_from: dict[_Lot, float], out: _State
) -> None:
    """Each transfer on a transfer lane between its two warehouses, its cost, duty and hours
    from the lane, from a lot of the network, arriving within the horizon; the units sent from
    each lot equal what the inventory rows say moved."""
    data = ctx.data
    sk = data.sku
    H = float(data.horizon_days)
    tr = data.transfer
    lane_i = {ln: i for i, ln in enumerate(data.lanes)}
    sent: dict[_Lot, float] = defaultdict(float)
    for j, trow in enumerate(plan.transfers or ()):
        where = f"transfers[{j}]"
        k = ctx.need(ctx.sku_i, trow.sku, "SKU", where)
        a = ctx.need(ctx.wh_i, trow.from_, "warehouse", where)
        b = ctx.need(ctx.wh_i, trow.to, "warehouse", where)
        ln = trow.lane
        hit = []
        if tr is not None and ln in lane_i:
            hit = [
                t
                for t in range(len(tr))
                if int(tr.src[t]) == a
                and int(tr.dst[t]) == b
                and int(tr.lane_idx[tr.lane_ptr[t]]) == lane_i[ln]
            ]
        if not hit or tr is None:
            raise InvalidNetworkError(
                f"{where}: {ln!r} is no transfer lane from {trow.from_!r} to {trow.to!r}"
            )
        t = hit[0]
        units = float(trow.units)
        if units < -ABS:
            ctx.viol.append(f"{where}: negative units {units}")
        lane, duty = _unit_cost(
            tr.vec[[t]], sk.weight_kg[[k]], sk.volume_m3[[k]], sk.value[[k]], sk.own_duty[[k]]
        )
        out.transfer += float(lane[0]) * units
        out.duty += float(duty[0]) * units
        hours = float(tr.hours[t])
        if not _close(float(trow.hours), hours):
            ctx.viol.append(f"{where}: lists {trow.hours} hours, the lane takes {hours:.4f}")
        transit = trow.lot == "in_transit"
        lot_h = float(trow.available_in_hours or 0.0) - hours if transit else 0.0
        key = (k, a, transit, round(lot_h, 6))
        if key not in lots:
            ctx.viol.append(
                f"{where}: no {trow.lot or 'on_hand'} lot of {trow.sku!r} at {trow.from_!r}"
            )
        sent[key] += units
        day = (lot_h + hours) / 24.0
        if day >= H - 1e-9 and units > ABS:
            ctx.viol.append(f"{where}: arrives after the horizon")
        out.uses[(k, b)].append((day, units))
        out.inflow[(k, b)] += units
        out.lane_load.append((int(tr.lane_idx[tr.lane_ptr[t]]), k, units))
    for key in set(sent) | set(moved_from):
        if not _close(sent.get(key, 0.0), moved_from.get(key, 0.0)):
            ctx.viol.append(
                f"SKU {data.skus[key[0]]!r} at {data.warehouses[key[1]]!r}: transfers list "
                f"{sent.get(key, 0.0):.6g} units, the inventory rows {moved_from.get(key, 0.0):.6g}"
            )


def _arrivals(ctx: _Ctx, ful: _Ful, out: _State) -> None:
    """Stock available from day ``d`` serves at most the demand shipped from day ``d`` on (the
    warehouse's outflow is spread evenly over the horizon)."""
    data = ctx.data
    H = float(data.horizon_days)
    ob = ful.ob
    shipped: dict[tuple[int, int], float] = defaultdict(float)
    for k, w, u in zip(ful.k[ob].tolist(), ful.w[ob].tolist(), ful.u[ob].tolist(), strict=True):
        shipped[(k, w)] += u
    for kw, lst in out.uses.items():
        for d, _u in lst:
            if d <= 0:
                continue
            late = sum(u for dd, u in lst if dd >= d - 1e-12)
            cap = (1.0 - d / H) * shipped.get(kw, 0.0)
            if late > cap + ABS + REL * cap:
                ctx.viol.append(
                    f"SKU {data.skus[kw[0]]!r} at {data.warehouses[kw[1]]!r}: {late:.6g} "
                    f"units available from day {d:.3g} but only {cap:.6g} shipped after it"
                )


def _returns(ctx: _Ctx, plan: Plan, ful: _Ful, out: _State) -> None:
    """Returned units are the rate × the units delivered per (SKU, zone); each is taken by a
    returns-taking warehouse of the zone's country (reverse last mile + handling; the resellable
    share re-enters its stock) or written off at the goods' value."""
    data = ctx.data
    sk = data.sku
    delivered: dict[tuple[int, int], float] = defaultdict(float)
    for k, z, u in zip(ful.k.tolist(), ful.z.tolist(), ful.u.tolist(), strict=True):
        delivered[(k, z)] += u
    back: dict[tuple[int, int], float] = defaultdict(float)
    out_idx = _index(data.outbound, data.lanes)
    rc = data.wh_returns_cost
    for j, rrow in enumerate(plan.returns or ()):
        where = f"returns[{j}]"
        k = ctx.need(ctx.sku_i, rrow.sku, "SKU", where)
        z = ctx.need(ctx.z_i, rrow.zone, "zone", where)
        units = float(rrow.units)
        if units < -ABS:
            ctx.viol.append(f"{where}: negative units {units}")
        back[(k, z)] += units
        _, resell = data.returns_of(np.array([k]), np.array([z]))
        if rrow.warehouse is None:
            out.returns += float(sk.value[k]) * units
            if float(rrow.resold_units) > ABS:
                ctx.viol.append(f"{where}: written-off units cannot be resold")
            continue
        w = ctx.need(ctx.wh_i, rrow.warehouse, "warehouse", where)
        if rc is None or np.isnan(rc[w]):
            ctx.viol.append(f"{where}: warehouse {rrow.warehouse!r} takes no returns")
            continue
        if data.wh_country[w] != data.zone_country[z]:
            ctx.viol.append(f"{where}: warehouse {rrow.warehouse!r} is not in the zone's country")
        lanes = tuple(rrow.lanes or ())
        key2 = (w, z, lanes)
        if key2 not in out_idx:
            raise InvalidNetworkError(
                f"{where}: lanes {list(lanes)!r} are no path between {rrow.warehouse!r} "
                f"and {rrow.zone!r}"
            )
        lane, _duty = _unit_cost(
            data.outbound.vec[[out_idx[key2]]],
            sk.weight_kg[[k]],
            sk.volume_m3[[k]],
            sk.value[[k]],
            sk.own_duty[[k]],
        )
        out.returns += (float(lane[0]) + float(rc[w])) * units
        resold = float(resell[0]) * units
        if not _close(float(rrow.resold_units), resold):
            ctx.viol.append(f"{where}: resold_units {rrow.resold_units} should be {resold:.6g}")
        out.inflow[(k, w)] += resold
        out.returns_in[w] += units
    pairs = sorted(set(delivered) | set(back))
    rates, _ = data.returns_of(
        np.array([k for k, _ in pairs], np.int64), np.array([z for _, z in pairs], np.int64)
    )
    for kz, rate_kz in zip(pairs, rates.tolist(), strict=True):
        k, z = kz
        want = rate_kz * delivered.get(kz, 0.0)
        if not _close(back.get(kz, 0.0), want):
            ctx.viol.append(
                f"SKU {data.skus[k]!r} zone {data.zones[z]!r}: {back.get(kz, 0.0):.6g} units "
                f"returned, {want:.6g} expected from the deliveries"
            )


def _state_terms(ctx: _Ctx, plan: Plan, ful: _Ful) -> _State:
    """Recompute the format v1.1 terms from the plan's ``inventory``, ``transfers``,
    ``returns`` and ``surplus`` rows: lot balances, transfer costs and hours, arrival times,
    returned units per delivered unit, reverse last-mile and handling costs, resold units, and
    the surplus (resold units a warehouse does not need) held on its shelf."""
    data = ctx.data
    out = _State(returns_in=np.zeros(len(data.warehouses)))
    lots, moved_from = _lots(ctx, plan, out)
    _transfers(ctx, plan, lots, moved_from, out)
    _arrivals(ctx, ful, out)
    _returns(ctx, plan, ful, out)
    H = float(data.horizon_days)
    for j, srow in enumerate(plan.surplus or ()):
        where = f"surplus[{j}]"
        k = ctx.need(ctx.sku_i, srow.sku, "SKU", where)
        w = ctx.need(ctx.wh_i, srow.warehouse, "warehouse", where)
        units = float(srow.units)
        out.inflow[(k, w)] -= units
        out.holding += units * _holding_rate(data, k, w) * H
    return out


@dataclass(slots=True)
class _Ctx:
    """The network's id → index maps and the violations found so far."""

    data: NetworkData
    viol: list[str]
    sku_i: dict[str, int]
    wh_i: dict[str, int]
    z_i: dict[str, int]
    o_i: dict[str, int]

    @classmethod
    def of(cls, data: NetworkData) -> _Ctx:
        return cls(
            data=data,
            viol=[],
            sku_i={s: i for i, s in enumerate(data.skus)},
            wh_i={w: i for i, w in enumerate(data.warehouses)},
            z_i={z: i for i, z in enumerate(data.zones)},
            o_i={o: i for i, o in enumerate(data.origins)},
        )

    def need(self, mapping: dict[str, int], key: Any, what: str, where: str) -> int:
        """The index of ``key``; an unknown id is an error naming the row."""
        if key not in mapping:
            raise InvalidNetworkError(f"{where}: unknown {what} {key!r}")
        return mapping[key]


@dataclass(frozen=True, slots=True)
class _Rep:
    """The plan's replenishment rows as arrays: SKU, warehouse, inbound option, units."""

    k: npt.NDArray[np.int64]
    w: npt.NDArray[np.int64]
    opt: npt.NDArray[np.int64]
    u: F


@dataclass(frozen=True, slots=True)
class _Ful:
    """The plan's fulfilment rows as arrays; ``w`` is -1 and ``direct`` True for direct rows,
    ``on`` the on-time flag the network gives each row."""

    k: npt.NDArray[np.int64]
    z: npt.NDArray[np.int64]
    w: npt.NDArray[np.int64]
    opt: npt.NDArray[np.int64]
    u: F
    direct: npt.NDArray[np.bool_]
    on: npt.NDArray[np.bool_]

    @property
    def ob(self) -> npt.NDArray[np.bool_]:
        """Rows shipped from a warehouse."""
        return ~self.direct


def _read_warehouses(ctx: _Ctx, plan: Plan) -> npt.NDArray[np.bool_]:
    """Which warehouses the plan uses; a used closed one or an unused ``open`` one breaks a
    rule."""
    data = ctx.data
    is_open = np.zeros(len(data.warehouses), dtype=bool)
    for j, wrow in enumerate(plan.warehouses or ()):
        is_open[ctx.need(ctx.wh_i, wrow.id, "warehouse", f"warehouses[{j}]")] = bool(wrow.open)
    for w in np.flatnonzero(data.wh_kept_open & ~is_open).tolist():
        ctx.viol.append(f"warehouse {data.warehouses[w]!r} has status open but is not used")
    for w in np.flatnonzero(~data.wh_usable & is_open).tolist():
        ctx.viol.append(f"warehouse {data.warehouses[w]!r} is closed but the plan uses it")
    return is_open


def _read_replenishment(ctx: _Ctx, plan: Plan) -> _Rep:
    """Match each replenishment row to the inbound option with exactly its lanes."""
    data = ctx.data
    in_by_dst: dict[tuple[int, tuple[str, ...]], list[int]] = defaultdict(list)
    for (_o, w_, ln_), i_ in _index(data.inbound, data.lanes).items():
        in_by_dst[(w_, ln_)].append(i_)
    rep = plan.replenishment or ()
    r_k = np.zeros(len(rep), np.int64)
    r_w = np.zeros(len(rep), np.int64)
    r_opt = np.zeros(len(rep), np.int64)
    r_u = np.zeros(len(rep))
    for j, rrow in enumerate(rep):
        where = f"replenishment[{j}]"
        r_k[j] = ctx.need(ctx.sku_i, rrow.sku, "SKU", where)
        r_w[j] = ctx.need(ctx.wh_i, rrow.warehouse, "warehouse", where)
        lanes = tuple(rrow.lanes)
        hit = in_by_dst.get((int(r_w[j]), lanes), [])
        if rrow.origin is not None:
            o = ctx.need(ctx.o_i, rrow.origin, "origin", where)
            hit = [i for i in hit if int(data.inbound.src[i]) == o]
        if not hit:
            raise InvalidNetworkError(
                f"{where}: lanes {list(lanes)!r} are no inbound path into {rrow.warehouse!r}"
            )
        r_opt[j] = hit[0]
        r_u[j] = float(rrow.units)
        if r_u[j] < -ABS:
            ctx.viol.append(f"{where}: negative units {r_u[j]}")
    return _Rep(r_k, r_w, r_opt, r_u)


def _read_fulfilment(ctx: _Ctx, plan: Plan) -> _Ful:
    """Match each fulfilment row to the outbound or direct option with exactly its lanes, and
    check its hours, on-time flag and ``p_on_time`` against the network's."""
    data = ctx.data
    out_idx = _index(data.outbound, data.lanes)
    dir_idx = _index(data.direct, data.lanes)
    ful = plan.fulfilment or ()
    n = len(ful)
    f_k = np.zeros(n, np.int64)
    f_z = np.zeros(n, np.int64)
    f_w = np.full(n, -1, np.int64)
    f_opt = np.zeros(n, np.int64)
    f_u = np.zeros(n)
    f_dir = np.zeros(n, dtype=bool)
    for j, frow in enumerate(ful):
        where = f"fulfilment[{j}]"
        f_k[j] = ctx.need(ctx.sku_i, frow.sku, "SKU", where)
        f_z[j] = ctx.need(ctx.z_i, frow.zone, "zone", where)
        src = frow.source
        lanes = tuple(frow.lanes)
        if src in ctx.wh_i:
            f_w[j] = ctx.wh_i[src]
            key = (ctx.wh_i[src], int(f_z[j]), lanes)
            if key not in out_idx:
                raise InvalidNetworkError(
                    f"{where}: lanes {list(lanes)!r} are no path from {src!r} to {frow.zone!r}"
                )
            f_opt[j] = out_idx[key]
        elif src in ctx.o_i:
            f_dir[j] = True
            key = (ctx.o_i[src], int(f_z[j]), lanes)
            if key not in dir_idx:
                raise InvalidNetworkError(
                    f"{where}: lanes {list(lanes)!r} are no direct path "
                    f"from {src!r} to {frow.zone!r}"
                )
            f_opt[j] = dir_idx[key]
        else:
            raise InvalidNetworkError(f"{where}: unknown source {src!r}")
        f_u[j] = float(frow.units)
        if f_u[j] < -ABS:
            ctx.viol.append(f"{where}: negative units {f_u[j]}")
    # hours and on-time flags from the network, checked against what the plan says; on time:
    # mean hours ≤ promise, or with promise_probability P(hours ≤ promise) ≥ it
    svc = data.service
    hours = np.zeros(n)
    p_on = np.zeros(n)
    for opts, m in ((data.direct, f_dir), (data.outbound, ~f_dir)):
        if m.any():
            hours[m] = opts.hours[f_opt[m]]
            p_on[m] = option_on_time(opts, data, f_opt[m]).p
    if svc.promise_probability is None:
        on = hours <= float(svc.promise_hours) + 1e-9
    else:
        on = p_on >= svc.promise_probability - 1e-12
    for j, frow in enumerate(ful):
        if not _close(float(frow.hours), float(hours[j])):
            ctx.viol.append(
                f"fulfilment[{j}]: lists {frow.hours} hours, the path takes {hours[j]:.4f}"
            )
        if bool(frow.on_time) != bool(on[j]):
            ctx.viol.append(f"fulfilment[{j}]: on_time flag {frow.on_time} is wrong")
        if frow.p_on_time is not None and abs(float(frow.p_on_time) - p_on[j]) > 1e-6:
            ctx.viol.append(
                f"fulfilment[{j}]: lists p_on_time {frow.p_on_time}, the path's "
                f"probability is {p_on[j]:.6f}"
            )
    return _Ful(f_k, f_z, f_w, f_opt, f_u, f_dir, on)


def _priced(
    data: NetworkData, opts: PathOptions, opt: npt.NDArray[np.int64], k: npt.NDArray[np.int64]
) -> tuple[F, F]:
    """(lane cost, duty) per unit of the given options for the given SKUs."""
    if len(opt) == 0:
        return np.zeros(0), np.zeros(0)
    sk = data.sku
    return _unit_cost(opts.vec[opt], sk.weight_kg[k], sk.volume_m3[k], sk.value[k], sk.own_duty[k])


def _demand_served(ctx: _Ctx, ful: _Ful) -> tuple[dict[tuple[int, int], float], float, F]:
    """Demand per (SKU, zone), lost units in all and per zone; serving more than the demand
    breaks a rule."""
    data = ctx.data
    dem: dict[tuple[int, int], float] = defaultdict(float)
    for k, z, u in zip(
        data.dem_sku.tolist(), data.dem_zone.tolist(), data.dem_units.tolist(), strict=True
    ):
        dem[(k, z)] += u
    served: dict[tuple[int, int], float] = defaultdict(float)
    for k, z, u in zip(ful.k.tolist(), ful.z.tolist(), ful.u.tolist(), strict=True):
        served[(k, z)] += u
    lost = 0.0
    lost_by_zone = np.zeros(len(data.zones))
    for key in set(dem) | set(served):
        d, s = dem.get(key, 0.0), served.get(key, 0.0)
        if s > d + ABS + REL * d:
            ctx.viol.append(
                f"SKU {data.skus[key[0]]!r} zone {data.zones[key[1]]!r}: {s:.6g} units "
                f"served, demand is {d:.6g}"
            )
        lost += max(0.0, d - s)
        lost_by_zone[key[1]] += max(0.0, d - s)
    return dem, lost, lost_by_zone


def _balance(ctx: _Ctx, rep: _Rep, ful: _Ful, state: _State) -> dict[tuple[int, int], float]:
    """Inflow per (SKU, warehouse) (replenishment, inventory used, transfers in, resold
    returns less surplus), which must equal what the warehouse ships."""
    data = ctx.data
    ob = ful.ob
    inflow: dict[tuple[int, int], float] = defaultdict(float)
    outflow: dict[tuple[int, int], float] = defaultdict(float)
    for k, w, u in zip(rep.k.tolist(), rep.w.tolist(), rep.u.tolist(), strict=True):
        inflow[(k, w)] += u
    for k, w, u in zip(ful.k[ob].tolist(), ful.w[ob].tolist(), ful.u[ob].tolist(), strict=True):
        outflow[(k, w)] += u
    for key_, u in state.inflow.items():
        inflow[key_] += u
    for key in set(inflow) | set(outflow):
        a, b = inflow.get(key, 0.0), outflow.get(key, 0.0)
        if not _close(a, b):
            ctx.viol.append(
                f"SKU {data.skus[key[0]]!r} at {data.warehouses[key[1]]!r}: "
                f"replenished {a:.6g} units but ships {b:.6g}"
            )
    return inflow


def _stock_rule(
    ctx: _Ctx, plan: Plan, rep: _Rep, coef: F
) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int], float]]:
    """The listed stocking levels and the levels the rule asks for (lead time + review +
    safety, ``coef`` per unit replenished); a level below the rule, negative or fractional
    breaks a rule."""
    data = ctx.data
    need_stock: dict[tuple[int, int], float] = defaultdict(float)
    for k, w, v in zip(rep.k.tolist(), rep.w.tolist(), (coef * rep.u).tolist(), strict=True):
        need_stock[(k, w)] += v
    stock: dict[tuple[int, int], float] = defaultdict(float)
    for j, srow in enumerate(plan.stock or ()):
        k = ctx.need(ctx.sku_i, srow.sku, "SKU", f"stock[{j}]")
        w = ctx.need(ctx.wh_i, srow.warehouse, "warehouse", f"stock[{j}]")
        units = float(srow.units)
        if units < 0 or units != math.floor(units):
            ctx.viol.append(f"stock[{j}]: stocking level {units} is not a non-negative integer")
        stock[(k, w)] += units
    for key, req in need_stock.items():
        if stock.get(key, 0.0) < req - ABS - REL * req:
            ctx.viol.append(
                f"SKU {data.skus[key[0]]!r} at {data.warehouses[key[1]]!r}: stocking "
                f"level {stock.get(key, 0.0):.6g} below the required {req:.6g}"
            )
    return stock, need_stock


def _against_previous(
    data: NetworkData,
    stock: dict[tuple[int, int], float],
    need_stock: dict[tuple[int, int], float],
    is_open: npt.NDArray[np.bool_],
) -> tuple[float, float]:
    """With a previous plan: (on-hand holding of the stock above the rule, stability cost:
    the penalty per unit of stocking level moved plus the fixed cost of every warehouse
    opened or closed against it)."""
    H = float(data.horizon_days)
    sk = data.sku
    keys = set(stock) | set(need_stock)
    prev: dict[tuple[int, int], float] = defaultdict(float)
    none_i = np.zeros(0, np.int64)
    for k, w, u in zip(
        (data.prev_sku if data.prev_sku is not None else none_i).tolist(),
        (data.prev_wh if data.prev_wh is not None else none_i).tolist(),
        (data.prev_units if data.prev_units is not None else np.zeros(0)).tolist(),
        strict=True,
    ):
        prev[(k, w)] += u
    excess = 0.0
    for k, w in keys:
        rate = data.wh_holding_per_m3_day[w] * sk.volume_m3[k] + sk.holding_per_unit_day[k]
        excess += rate * H * (stock.get((k, w), 0.0) - need_stock.get((k, w), 0.0))
    moved = sum(abs(stock.get(key, 0.0) - prev.get(key, 0.0)) for key in keys | set(prev))
    prev_open = data.prev_open if data.prev_open is not None else np.zeros(len(is_open))
    stability = float(
        getattr(data.service, "stability_penalty_per_unit", 0.0) * moved
        + data.wh_fixed_cost @ np.abs(is_open.astype(float) - prev_open)
    )
    return float(excess), stability


def _warehouse_rules(
    ctx: _Ctx,
    stock: dict[tuple[int, int], float],
    ful: _Ful,
    is_open: npt.NDArray[np.bool_],
    inflow: dict[tuple[int, int], float],
    state: _State,
) -> None:
    """Storage and throughput per warehouse; an unopened warehouse stocks, ships or takes
    returns nothing."""
    data = ctx.data
    W = len(data.warehouses)
    sk = data.sku
    ob = ful.ob
    used_m3 = np.zeros(W)
    for (k, w), units in stock.items():
        used_m3[w] += units * sk.volume_m3[k]
    thr = np.zeros(W)
    np.add.at(thr, ful.w[ob], ful.u[ob] / float(data.horizon_days))
    fed = np.zeros(W, dtype=bool)
    for (_k, w), v in inflow.items():
        fed[w] |= v > ABS
    for w in range(W):
        name = data.warehouses[w]
        if used_m3[w] > data.wh_storage_m3[w] * (1 + REL) + ABS:
            ctx.viol.append(
                f"warehouse {name!r}: stock takes {used_m3[w]:.6g} m3, storage is "
                f"{data.wh_storage_m3[w]:.6g}"
            )
        if thr[w] > data.wh_throughput_per_day[w] * (1 + REL) + ABS:
            ctx.viol.append(
                f"warehouse {name!r}: ships {thr[w]:.6g} units/day, throughput is "
                f"{data.wh_throughput_per_day[w]:.6g}"
            )
        if not is_open[w] and state.returns_in[w] > ABS:
            ctx.viol.append(f"warehouse {name!r} is not open but takes returns")
        if not is_open[w] and (thr[w] > ABS or used_m3[w] > ABS or fed[w]):
            ctx.viol.append(f"warehouse {name!r} is not open but the plan stocks or ships there")


def _lane_rules(ctx: _Ctx, rep: _Rep, ful: _Ful, state: _State) -> None:
    """Lane capacities per day (kg, m³, units), averaged over the horizon."""
    data = ctx.data
    sk = data.sku
    H = float(data.horizon_days)
    ob, dr = ful.ob, ful.direct
    load = np.zeros((len(data.lanes), len(LaneDim)))
    for opts, opt, k, u in (
        (data.inbound, rep.opt, rep.k, rep.u),
        (data.outbound, ful.opt[ob], ful.k[ob], ful.u[ob]),
        (data.direct, ful.opt[dr], ful.k[dr], ful.u[dr]),
    ):
        for i, kk, uu in zip(opt.tolist(), k.tolist(), u.tolist(), strict=True):
            ln = opts.lanes_of(i)
            load[ln, LaneDim.KG] += uu * sk.weight_kg[kk] / H
            load[ln, LaneDim.M3] += uu * sk.volume_m3[kk] / H
            load[ln, LaneDim.UNITS] += uu / H
    for li, kk, uu in state.lane_load:
        load[li, LaneDim.KG] += uu * sk.weight_kg[kk] / H
        load[li, LaneDim.M3] += uu * sk.volume_m3[kk] / H
        load[li, LaneDim.UNITS] += uu / H
    caps = data.lane_caps
    for li, d in np.argwhere(load > caps * (1 + REL) + ABS).tolist():
        ctx.viol.append(
            f"lane {data.lanes[li]!r}: {load[li, d]:.6g} {LaneDim(d).unit}/day over capacity "
            f"{caps[li, d]:.6g}"
        )


def _service(
    data: NetworkData, dem: dict[tuple[int, int], float], ful: _Ful, lost_by_zone: F
) -> tuple[float, dict[str, dict[str, float]], tuple[str, ...]]:
    """On-time share over all demand, per country, and the targets missed."""
    svc = data.service
    on = ful.on
    total_dem = float(sum(dem.values()))
    share = float(ful.u[on].sum()) / total_dem if total_dem > 0 else 1.0
    by_country: dict[str, dict[str, float]] = {}
    zc = np.array(data.zone_country)
    dem_z = np.zeros(len(data.zones))
    for (_k, z), d in dem.items():
        dem_z[z] += d
    on_z = np.zeros(len(data.zones))
    late_z = np.zeros(len(data.zones))
    np.add.at(on_z, ful.z[on], ful.u[on])
    np.add.at(late_z, ful.z[~on], ful.u[~on])
    for c in sorted(set(zc[dem_z > 0].tolist())):
        m = zc == c
        dc = float(dem_z[m].sum())
        by_country[c] = {
            "on_time_share": float(on_z[m].sum()) / dc if dc > 0 else 1.0,
            "units_on_time": float(on_z[m].sum()),
            "units_late": float(late_z[m].sum()),
            "units_lost": float(lost_by_zone[m].sum()),
            "demand": dc,
        }
    tol_share = 1e-6
    short: list[str] = []
    if total_dem > 0 and share < svc.min_on_time_share - tol_share:
        short.append(f"on-time share {share:.4f} below the target {svc.min_on_time_share}")
    for c, target in svc.min_on_time_share_by_country.items():
        got = by_country.get(c, {}).get("on_time_share", 1.0)
        if got < target - tol_share:
            short.append(f"country {c!r}: on-time share {got:.4f} below the target {target}")
    return share, by_country, tuple(short)


def evaluate(data: NetworkData, plan: Plan) -> Evaluation:
    """Recompute costs, service and feasibility of ``plan`` from its listed flows.

    Parameters
    ----------
    data
        The compiled network the plan was made for.
    plan
        The plan: ``warehouses``, ``stock``, ``replenishment``, ``fulfilment`` and the v1.1
        rows (``inventory``, ``transfers``, ``returns``, ``surplus``) are read (absent lists
        read as empty); everything else is ignored.

    Raises
    ------
    InvalidNetworkError
        If the plan names an unknown SKU, warehouse, zone or origin, or lists a lane sequence
        that is no option of the network (the item is named).
    """
    svc = data.service
    H = float(data.horizon_days)
    R = float(svc.review_period_days)
    zf = float(svc.safety_z)
    sk = data.sku
    ctx = _Ctx.of(data)
    is_open = _read_warehouses(ctx, plan)
    rep = _read_replenishment(ctx, plan)
    ful = _read_fulfilment(ctx, plan)
    ob, dr = ful.ob, ful.direct

    # -- costs (DESIGN §3 and §7) -------------------------------------------------------------
    in_lane, in_duty = _priced(data, data.inbound, rep.opt, rep.k)
    L = data.inbound.hours[rep.opt] / 24.0 if len(rep.u) else np.zeros(0)
    hk = sk.holding_per_unit_day[rep.k]
    h_on = data.wh_holding_per_m3_day[rep.w] * sk.volume_m3[rep.k] + hk
    sq = np.sqrt(L + R)
    hold = hk * L + h_on * (R / 2.0 + zf * sk.demand_cv[rep.k] * sq)
    o_lane, o_duty = _priced(data, data.outbound, ful.opt[ob], ful.k[ob])
    d_lane, d_duty = _priced(data, data.direct, ful.opt[dr], ful.k[dr])
    dem, lost, lost_by_zone = _demand_served(ctx, ful)
    late_units = float(ful.u[~ful.on].sum())
    state = _state_terms(ctx, plan, ful)
    cost = {
        "fixed": float(data.wh_fixed_cost[is_open].sum()),
        "inbound": float(in_lane @ rep.u),
        "duty": float(in_duty @ rep.u + o_duty @ ful.u[ob] + d_duty @ ful.u[dr]) + state.duty,
        "holding": float(hold @ rep.u) + state.holding,
        "handling": float(data.wh_handling_per_unit[ful.w[ob]] @ ful.u[ob]) if ob.any() else 0.0,
        "outbound": float(o_lane @ ful.u[ob]),
        "direct": float(d_lane @ ful.u[dr]),
        "late_penalty": float(svc.late_penalty_per_unit * late_units),
        "lost_sale_penalty": float(svc.lost_sale_penalty_per_unit * lost),
        "transfer": state.transfer,
        "returns": state.returns,
        "stability": 0.0,
    }

    # -- rules -----------------------------------------------------------------------------
    inflow = _balance(ctx, rep, ful, state)
    stock, need_stock = _stock_rule(ctx, plan, rep, ((L + R) + zf * sk.demand_cv[rep.k] * sq) / H)
    if data.has_previous:
        excess, cost["stability"] = _against_previous(data, stock, need_stock, is_open)
        cost["holding"] += excess
    _warehouse_rules(ctx, stock, ful, is_open, inflow, state)
    _lane_rules(ctx, rep, ful, state)

    share, by_country, short = _service(data, dem, ful, lost_by_zone)
    return Evaluation(
        cost=cost,
        total=float(sum(cost.values())),
        on_time_share=share,
        units_on_time=float(ful.u[ful.on].sum()),
        units_late=late_units,
        units_lost=lost,
        by_country=by_country,
        violations=tuple(ctx.viol),
        shortfalls=short,
    )
