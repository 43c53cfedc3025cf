"""Independent evaluation of a plan: every cost term, the service and every constraint.

:func:`evaluate` reads only a plan (:class:`optimizer.plan.document.Plan`, DESIGN §7's
``plan.json``; ``Plan.from_json`` reads a document) and the compiled network; it never looks at
the model's columns or at a solver. Each listed flow is matched to the network
option with exactly its lanes (from the right source to the right destination), its cost is
recomputed lane-vector by lane-vector with DESIGN §3's formula (written out element-wise here,
not through ``PathOptions.unit_cost``), and the sums, holding costs, stock rule, capacities,
linking and on-time shares are recomputed from the listed units, and the warehouses' reported
``storage_used_m3`` / ``throughput_used_per_day`` are compared with them. With tonight's state
(format v1.1) storage counts every unit on a warehouse's shelves: the stocking levels (which
alone must fit ``storage_m3``) plus the units the ``inventory`` rows leave there (``left`` of
every lot there within the horizon: on hand, or in transit arriving before its end) and the
``surplus`` rows, together within ``max(storage_m3, the volume of tonight's lots there within
the horizon)`` (a warehouse its lots alone overfill keeps them; the scenario's lots, not the
plan's copy of them). The ``inventory`` lots and each stock row's ``on_hand`` / ``in_transit`` are
compared with the scenario's inventory, and tonight's ``orders`` are recomputed from their
definition (:func:`_orders`) from the stocking levels, the inventory and the transfers, not
taken from the code that wrote them. With random lane hours
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
I = npt.NDArray[np.int64]
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
    """(source, destination, lane ids) → the first option with exactly them."""
    names = [lanes[j] for j in opts.lane_idx.tolist()]
    ptr = opts.lane_ptr.tolist()
    out: dict[tuple[int, int, tuple[str, ...]], int] = {}
    for i, (s, d) in enumerate(zip(opts.src.tolist(), opts.dst.tolist(), strict=True)):
        out.setdefault((s, d, tuple(names[ptr[i] : ptr[i + 1]])), i)
    return out


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= ABS + REL * max(abs(a), abs(b))


def _close_v(a: F, b: F) -> npt.NDArray[np.bool_]:
    """:func:`_close` element-wise."""
    return np.abs(a - b) <= ABS + REL * np.maximum(np.abs(a), np.abs(b))


def _codes(ids: list[Any], mapping: dict[str, int]) -> I:
    """The index of each id (-1 for an unknown one)."""
    return np.fromiter((mapping.get(x, -1) for x in ids), np.int64, len(ids))


def _floats(values: list[Any]) -> F:
    return np.array([float(v) for v in values], dtype=np.float64).reshape(len(values))


@dataclass(frozen=True, slots=True)
class _Sums:
    """Sums per key (``k * width + other``), keys sorted and unique; ``vals`` one array per
    quantity, aligned with ``keys``."""

    keys: I
    vals: tuple[F, ...]


def _sum_by(*parts: tuple[I, F]) -> _Sums:
    """The sum of each ``(keys, values)`` part per key, over the union of all parts' keys (a
    key a part does not have sums to 0; each key's rows are added in row order)."""
    keys = np.unique(np.concatenate([np.asarray(k, np.int64) for k, _ in parts]))
    vals = tuple(
        np.bincount(np.searchsorted(keys, k), weights=v, minlength=len(keys)).astype(np.float64)
        if len(k)
        else np.zeros(len(keys))
        for k, v in parts
    )
    return _Sums(keys, vals)


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
    #: m³ per warehouse of what stays on its shelves besides the stocking levels: tonight's
    #: units left there (lots there within the horizon) and the surplus
    shelf: F = field(default_factory=lambda: np.zeros(0))
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
        if hours / 24.0 < H:  # a lot arriving after the horizon takes no space in it
            out.shelf[w] += left * float(data.sku.volume_m3[k])
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
    if not out.uses:
        return
    data = ctx.data
    H = float(data.horizon_days)
    ob = ful.ob
    W = len(data.warehouses)
    shipped_by = _sum_by((ful.k[ob] * W + ful.w[ob], ful.u[ob]))
    shipped = dict(zip(shipped_by.keys.tolist(), shipped_by.vals[0].tolist(), strict=True))
    for kw, lst in out.uses.items():
        for d, _u in lst:
            if d <= 0:
                continue
            late = sum(u for dd, u in lst if dd >= d - 1e-12)
            cap = (1.0 - d / H) * shipped.get(kw[0] * W + kw[1], 0.0)
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
    back: dict[tuple[int, int], float] = defaultdict(float)
    out_idx = _index(data.outbound, data.lanes) if plan.returns else {}
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
    Z = len(data.zones)
    back_keys = np.array([k * Z + z for k, z in back], np.int64)
    by = _sum_by((ful.k * Z + ful.z, ful.u), (back_keys, np.array(list(back.values()), np.float64)))
    delivered, returned = by.vals
    rates, _ = data.returns_of(by.keys // Z, by.keys % Z)
    want = rates * delivered
    for i in np.flatnonzero(~_close_v(returned, want)).tolist():
        k, z = divmod(int(by.keys[i]), Z)
        ctx.viol.append(
            f"SKU {data.skus[k]!r} zone {data.zones[z]!r}: {float(returned[i]):.6g} units "
            f"returned, {float(want[i]):.6g} expected from the deliveries"
        )


def _state_terms(ctx: _Ctx, plan: Plan, ful: _Ful) -> _State:
    """Recompute the format v1.1 terms from the plan's ``inventory``, ``transfers``,
    ``returns`` and ``surplus`` rows: lot balances, transfer costs and hours, arrival times,
    returned units per delivered unit, reverse last-mile and handling costs, resold units, and
    the surplus (resold units a warehouse does not need) held on its shelf."""
    data = ctx.data
    out = _State(returns_in=np.zeros(len(data.warehouses)), shelf=np.zeros(len(data.warehouses)))
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
        if units < -ABS:
            # it would count as inflow: replenishment (and its cost) could be cut by as much
            ctx.viol.append(f"{where}: negative units {units}")
        out.inflow[(k, w)] -= units
        out.holding += units * _holding_rate(data, k, w) * H
        out.shelf[w] += units * float(data.sku.volume_m3[k])
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
    """Match each replenishment row to the inbound option with exactly its lanes (the first
    one, from the row's origin when it names one)."""
    data = ctx.data
    by_origin = _index(data.inbound, data.lanes)
    by_dst: dict[tuple[int, tuple[str, ...]], int] = {}
    for (_o, w_, ln_), i_ in by_origin.items():
        by_dst.setdefault((w_, ln_), i_)
    rep = plan.replenishment or ()
    r_k = _codes([r.sku for r in rep], ctx.sku_i)
    r_w = _codes([r.warehouse for r in rep], ctx.wh_i)
    r_o = np.fromiter(
        (-2 if r.origin is None else ctx.o_i.get(r.origin, -1) for r in rep), np.int64, len(rep)
    )
    r_opt = np.fromiter(
        (
            by_dst.get((w, tuple(r.lanes)), -1)
            if o == -2
            else by_origin.get((o, w, tuple(r.lanes)), -1)
            for r, w, o in zip(rep, r_w.tolist(), r_o.tolist(), strict=True)
        ),
        np.int64,
        len(rep),
    )
    bad = np.flatnonzero((r_k < 0) | (r_w < 0) | (r_o == -1) | (r_opt < 0))
    if len(bad):
        # the first bad row, named as the row-by-row reading names it
        j = int(bad[0])
        rrow, where = rep[j], f"replenishment[{j}]"
        ctx.need(ctx.sku_i, rrow.sku, "SKU", where)
        ctx.need(ctx.wh_i, rrow.warehouse, "warehouse", where)
        if rrow.origin is not None:
            ctx.need(ctx.o_i, rrow.origin, "origin", where)
        raise InvalidNetworkError(
            f"{where}: lanes {list(rrow.lanes)!r} are no inbound path into {rrow.warehouse!r}"
        )
    r_u = _floats([r.units for r in rep])
    for j in np.flatnonzero(r_u < -ABS).tolist():
        ctx.viol.append(f"replenishment[{j}]: negative units {r_u[j]}")
    return _Rep(r_k, r_w, r_opt, r_u)


def _read_fulfilment(ctx: _Ctx, plan: Plan) -> _Ful:
    """Match each fulfilment row to the outbound or direct option with exactly its lanes, and
    check its hours, on-time flag and ``p_on_time`` against the network's."""
    data = ctx.data
    out_idx = _index(data.outbound, data.lanes)
    dir_idx = _index(data.direct, data.lanes)
    ful = plan.fulfilment or ()
    n = len(ful)
    f_k = _codes([r.sku for r in ful], ctx.sku_i)
    f_z = _codes([r.zone for r in ful], ctx.z_i)
    srcs = [r.source for r in ful]
    f_w = _codes(srcs, ctx.wh_i)
    f_o = np.where(f_w >= 0, -1, _codes(srcs, ctx.o_i))
    f_dir = f_o >= 0
    f_opt = np.fromiter(
        (
            out_idx.get((w, z, tuple(r.lanes)), -1)
            if w >= 0
            else dir_idx.get((o, z, tuple(r.lanes)), -1)
            for r, w, o, z in zip(ful, f_w.tolist(), f_o.tolist(), f_z.tolist(), strict=True)
        ),
        np.int64,
        n,
    )
    bad = np.flatnonzero((f_k < 0) | (f_z < 0) | (f_opt < 0))
    if len(bad):
        # the first bad row, named as the row-by-row reading names it
        j = int(bad[0])
        frow, where = ful[j], f"fulfilment[{j}]"
        ctx.need(ctx.sku_i, frow.sku, "SKU", where)
        ctx.need(ctx.z_i, frow.zone, "zone", where)
        lanes = list(frow.lanes)
        if f_w[j] >= 0:
            raise InvalidNetworkError(
                f"{where}: lanes {lanes!r} are no path from {frow.source!r} to {frow.zone!r}"
            )
        if f_o[j] >= 0:
            raise InvalidNetworkError(
                f"{where}: lanes {lanes!r} are no direct path from {frow.source!r} to {frow.zone!r}"
            )
        raise InvalidNetworkError(f"{where}: unknown source {frow.source!r}")
    f_u = _floats([r.units for r in ful])
    for j in np.flatnonzero(f_u < -ABS).tolist():
        ctx.viol.append(f"fulfilment[{j}]: negative units {f_u[j]}")
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
    listed_p = np.array(
        [np.nan if r.p_on_time is None else float(r.p_on_time) for r in ful], np.float64
    ).reshape(n)
    bad_hours = ~_close_v(_floats([r.hours for r in ful]), hours)
    bad_on = np.fromiter((bool(r.on_time) for r in ful), bool, n) != on
    bad_p = ~np.isnan(listed_p) & (np.abs(listed_p - p_on) > 1e-6)
    for j in np.flatnonzero(bad_hours | bad_on | bad_p).tolist():
        frow = ful[j]
        if bad_hours[j]:
            ctx.viol.append(
                f"fulfilment[{j}]: lists {frow.hours} hours, the path takes {hours[j]:.4f}"
            )
        if bad_on[j]:
            ctx.viol.append(f"fulfilment[{j}]: on_time flag {frow.on_time} is wrong")
        if bad_p[j]:
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


def _demand_served(ctx: _Ctx, ful: _Ful) -> tuple[_Sums, float, F]:
    """Demand and units served per (SKU, zone) (key ``sku * n_zones + zone``), lost units in
    all and per zone; serving more than the demand breaks a rule."""
    data = ctx.data
    Z = len(data.zones)
    by = _sum_by(
        (data.dem_sku.astype(np.int64) * Z + data.dem_zone, data.dem_units.astype(np.float64)),
        (ful.k * Z + ful.z, ful.u),
    )
    d, s = by.vals
    for i in np.flatnonzero(s > d + ABS + REL * d).tolist():
        k, z = divmod(int(by.keys[i]), Z)
        ctx.viol.append(
            f"SKU {data.skus[k]!r} zone {data.zones[z]!r}: {float(s[i]):.6g} units "
            f"served, demand is {float(d[i]):.6g}"
        )
    short = np.maximum(0.0, d - s)
    lost_by_zone = np.bincount(by.keys % Z, weights=short, minlength=Z).astype(np.float64)
    return by, float(short.sum()), lost_by_zone


def _state_inflow(state: _State, W: int) -> tuple[I, F]:
    """``state.inflow`` as (key ``sku * n_warehouses + warehouse``, units) arrays."""
    keys = np.array([k * W + w for k, w in state.inflow], np.int64)
    return keys, np.array(list(state.inflow.values()), np.float64)


def _balance(ctx: _Ctx, rep: _Rep, ful: _Ful, state: _State) -> _Sums:
    """Inflow per (SKU, warehouse) (replenishment, inventory used, transfers in, resold
    returns less surplus; key ``sku * n_warehouses + warehouse``), which must equal what the
    warehouse ships."""
    data = ctx.data
    W = len(data.warehouses)
    ob = ful.ob
    s_keys, s_units = _state_inflow(state, W)
    by = _sum_by(
        (rep.k * W + rep.w, rep.u), (s_keys, s_units), (ful.k[ob] * W + ful.w[ob], ful.u[ob])
    )
    rep_in, state_in, outflow = by.vals
    inflow = rep_in + state_in
    for i in np.flatnonzero(~_close_v(inflow, outflow)).tolist():
        k, w = divmod(int(by.keys[i]), W)
        ctx.viol.append(
            f"SKU {data.skus[k]!r} at {data.warehouses[w]!r}: "
            f"replenished {float(inflow[i]):.6g} units but ships {float(outflow[i]):.6g}"
        )
    return _Sums(by.keys, (inflow,))


def _stock_rule(ctx: _Ctx, plan: Plan, rep: _Rep, coef: F) -> _Sums:
    """The listed stocking levels and the levels the rule asks for (lead time + review +
    safety, ``coef`` per unit replenished) per (SKU, warehouse) (``vals``: listed, required);
    a level below the rule, negative or fractional breaks a rule."""
    data = ctx.data
    W = len(data.warehouses)
    rows = plan.stock or ()
    s_k = _codes([r.sku for r in rows], ctx.sku_i)
    s_w = _codes([r.warehouse for r in rows], ctx.wh_i)
    bad = np.flatnonzero((s_k < 0) | (s_w < 0))
    if len(bad):
        j = int(bad[0])
        ctx.need(ctx.sku_i, rows[j].sku, "SKU", f"stock[{j}]")
        ctx.need(ctx.wh_i, rows[j].warehouse, "warehouse", f"stock[{j}]")
    units = _floats([r.units for r in rows])
    for j in np.flatnonzero((units < 0) | (units != np.floor(units))).tolist():
        ctx.viol.append(
            f"stock[{j}]: stocking level {float(units[j])} is not a non-negative integer"
        )
    by = _sum_by((s_k * W + s_w, units), (rep.k * W + rep.w, coef * rep.u))
    stock, need = by.vals
    required = np.isin(by.keys, rep.k * W + rep.w)
    for i in np.flatnonzero(required & (stock < need - ABS - REL * need)).tolist():
        k, w = divmod(int(by.keys[i]), W)
        ctx.viol.append(
            f"SKU {data.skus[k]!r} at {data.warehouses[w]!r}: stocking "
            f"level {float(stock[i]):.6g} below the required {float(need[i]):.6g}"
        )
    return by


def _tonight(data: NetworkData) -> tuple[dict[int, float], dict[int, float]]:
    """Tonight's units on hand and in transit per (SKU, warehouse) key ``sku * W + wh``, from
    the scenario's inventory."""
    W = len(data.warehouses)
    on_hand: dict[int, float] = defaultdict(float)
    in_transit: dict[int, float] = defaultdict(float)
    for k, w, u, t in zip(
        data.inv_sku.tolist(),
        data.inv_wh.tolist(),
        data.inv_units.tolist(),
        data.inv_transit.tolist(),
        strict=True,
    ):
        (in_transit if t else on_hand)[k * W + w] += float(u)
    return on_hand, in_transit


def _stock_state(ctx: _Ctx, plan: Plan) -> None:
    """Each stock row's ``on_hand`` and ``in_transit`` (summed over the rows of one (SKU,
    warehouse)) equal tonight's units there in the scenario's inventory; a row without them
    (a plan written before format v1.1) is not checked, nor a (SKU, warehouse) without a
    stock row (the ``inventory`` rows account for every lot)."""
    data = ctx.data
    W = len(data.warehouses)
    tonight = dict(zip(("on_hand", "in_transit"), _tonight(data), strict=True))
    listed: dict[str, dict[int, float]] = {n: defaultdict(float) for n in tonight}
    first: dict[int, int] = {}
    for j, row in enumerate(plan.stock or ()):
        where = f"stock[{j}]"
        key = ctx.need(ctx.sku_i, row.sku, "SKU", where) * W
        key += ctx.need(ctx.wh_i, row.warehouse, "warehouse", where)
        first.setdefault(key, j)
        for name, v in (("on_hand", row.on_hand), ("in_transit", row.in_transit)):
            if v is not None:
                listed[name][key] += float(v)
    for name, got in listed.items():
        for key, have in sorted(got.items()):
            need = tonight[name].get(key, 0.0)
            if not _close(have, need):
                k, w = divmod(key, W)
                ctx.viol.append(
                    f"stock[{first[key]}] (sku {data.skus[k]!r}, warehouse "
                    f"{data.warehouses[w]!r}): {name} {have:.6g}, tonight's state has {need:.6g}"
                )


def _inbound_paths(data: NetworkData) -> dict[tuple[str, ...], set[int]]:
    """Every inbound lane sequence of the network and the warehouses it ends at."""
    opts = data.inbound
    names = [data.lanes[j] for j in opts.lane_idx.tolist()]
    ptr = opts.lane_ptr.tolist()
    out: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for i, d in enumerate(opts.dst.tolist()):
        out[tuple(names[ptr[i] : ptr[i + 1]])].add(int(d))
    return out


def _orders(ctx: _Ctx, plan: Plan, levels: _Sums) -> None:
    """Tonight's orders (format v1.1), recomputed from their definition.

    Per (SKU, warehouse) the need is the stocking level (the ``stock`` rows, ``levels``) less
    the inventory position: tonight's units on hand and in transit there (the scenario's
    inventory, not the plan's copy of it) plus the plan's transfers in, less its transfers
    out. The order is the need rounded up to whole units, none when the need is not positive;
    a need within the tolerance of a whole number may be read as either side of it. An order
    with units is booked on an inbound path of the network ending at its warehouse: the
    plan's largest replenishment row of that (SKU, warehouse) when it has one (the path the
    units will come by). Each broken rule names the order row (or the (SKU, warehouse) of a
    missing order). A plan without an ``orders`` list (written before format v1.1) is not
    checked for them.
    """
    if plan.orders is None:
        return
    data = ctx.data
    W = len(data.warehouses)
    on_hand, in_transit = _tonight(data)
    t_in: dict[int, float] = defaultdict(float)
    t_out: dict[int, float] = defaultdict(float)
    for j, trow in enumerate(plan.transfers or ()):
        k = ctx.need(ctx.sku_i, trow.sku, "SKU", f"transfers[{j}]")
        t_in[k * W + ctx.need(ctx.wh_i, trow.to, "warehouse", f"transfers[{j}]")] += float(
            trow.units
        )
        t_out[k * W + ctx.need(ctx.wh_i, trow.from_, "warehouse", f"transfers[{j}]")] += float(
            trow.units
        )
    # the largest replenishment rows' lanes per (SKU, warehouse)
    rep_max: dict[int, float] = {}
    rep_rows: dict[int, list[tuple[float, tuple[str, ...]]]] = defaultdict(list)
    for rrow in plan.replenishment or ():
        key = ctx.sku_i[rrow.sku] * W + ctx.wh_i[rrow.warehouse]  # known: read before
        u = float(rrow.units)
        rep_rows[key].append((u, tuple(rrow.lanes)))
        rep_max[key] = max(rep_max.get(key, 0.0), u)
    paths = _inbound_paths(data)
    ordered: dict[int, float] = defaultdict(float)
    first: dict[int, int] = {}
    for j, orow in enumerate(plan.orders or ()):
        where = f"orders[{j}]"
        k = ctx.need(ctx.sku_i, orow.sku, "SKU", where)
        w = ctx.need(ctx.wh_i, orow.warehouse, "warehouse", where)
        where = f"orders[{j}] (sku {orow.sku!r}, warehouse {orow.warehouse!r})"
        key = k * W + w
        first.setdefault(key, j)
        u = float(orow.units)
        ordered[key] += u
        if u < -ABS:
            ctx.viol.append(f"{where}: negative units {u:.6g}")
        if not abs(u - round(u)) <= ABS:
            ctx.viol.append(f"{where}: {u:.6g} units is not a whole number")
        if u <= ABS:
            continue
        lanes = tuple(orow.lanes)
        if not lanes:
            ctx.viol.append(f"{where}: {u:.6g} units on no lanes (nothing to book them on)")
            continue
        ends = paths.get(lanes)
        if ends is None:
            ctx.viol.append(f"{where}: lanes {list(lanes)!r} are no inbound path of the network")
            continue
        if w not in ends:
            at = ", ".join(sorted(repr(data.warehouses[x]) for x in ends))
            ctx.viol.append(
                f"{where}: lanes {list(lanes)!r} end at {at}, not at {orow.warehouse!r}"
            )
            continue
        if key in rep_rows:
            top = rep_max[key]
            best = {ln for uu, ln in rep_rows[key] if _close(uu, top)}
            if lanes not in best:
                ctx.viol.append(
                    f"{where}: lanes {list(lanes)!r} are not the plan's largest replenishment "
                    f"path into {orow.warehouse!r} ({' or '.join(str(list(b)) for b in best)})"
                )
    level = dict(zip(levels.keys.tolist(), levels.vals[0].tolist(), strict=True))
    keys = set(level) | set(on_hand) | set(in_transit) | set(t_in) | set(t_out) | set(ordered)
    for key in sorted(keys):
        s = level.get(key, 0.0)
        oh, it, ti, to = on_hand[key], in_transit[key], t_in[key], t_out[key]
        need = s - (oh + it + ti - to)
        tol = ABS + REL * max(abs(s), oh + it + abs(ti) + abs(to))
        lo, hi = max(0, math.ceil(need - tol)), max(0, math.ceil(need + tol))
        u = ordered.get(key, 0.0)
        if lo - ABS <= u <= hi + ABS:
            continue
        k, w = divmod(key, W)
        why = (
            f"the stocking level {s:.6g} less the inventory position (on hand {oh:.6g} + in "
            f"transit {it:.6g} + transfers in {ti:.6g} - out {to:.6g}) needs {lo}"
        )
        if key in first:
            ctx.viol.append(
                f"orders[{first[key]}] (sku {data.skus[k]!r}, warehouse "
                f"{data.warehouses[w]!r}): {u:.6g} units ordered, {why}"
            )
        else:
            ctx.viol.append(
                f"SKU {data.skus[k]!r} at {data.warehouses[w]!r}: no order, {why} units"
            )


def _reported_use(ctx: _Ctx, plan: Plan, used_m3: F, shelf_m3: F, thr: F) -> None:
    """Each warehouse row's ``storage_used_m3`` and ``throughput_used_per_day`` equal the
    storage its stock rows take, plus what its inventory and surplus rows leave on its shelves
    (``shelf_m3``, which a row that lists it must equal), and the units per day its fulfilment
    rows ship."""
    for j, wrow in enumerate(plan.warehouses or ()):
        w = ctx.wh_i[wrow.id]  # known: read before
        where = f"warehouses[{j}] ({wrow.id!r})"
        total = float(used_m3[w] + shelf_m3[w])
        if not _close(float(wrow.storage_used_m3), total):
            ctx.viol.append(
                f"{where}: reports storage_used_m3 {wrow.storage_used_m3:.6g}, its stock rows "
                f"take {used_m3[w]:.6g} m3 and tonight's stock and surplus left there "
                f"{shelf_m3[w]:.6g} m3"
            )
        if wrow.shelf_m3 is not None and not _close(float(wrow.shelf_m3), float(shelf_m3[w])):
            ctx.viol.append(
                f"{where}: reports shelf_m3 {wrow.shelf_m3:.6g}, its inventory and surplus rows "
                f"leave {shelf_m3[w]:.6g} m3"
            )
        if not _close(float(wrow.throughput_used_per_day), float(thr[w])):
            ctx.viol.append(
                f"{where}: reports throughput_used_per_day {wrow.throughput_used_per_day:.6g}, "
                f"its fulfilment rows ship {thr[w]:.6g} units/day"
            )


def _against_previous(
    data: NetworkData, levels: _Sums, is_open: npt.NDArray[np.bool_]
) -> tuple[float, float]:
    """With a previous plan: (on-hand holding of the stock above the rule, stability cost:
    the penalty per unit of stocking level moved plus the fixed cost of every warehouse
    opened or closed against it)."""
    H = float(data.horizon_days)
    sk = data.sku
    W = len(data.warehouses)
    stock, need = levels.vals
    k, w = np.divmod(levels.keys, W)
    rate = data.wh_holding_per_m3_day[w] * sk.volume_m3[k] + sk.holding_per_unit_day[k]
    excess = float((rate * H * (stock - need)).sum())
    none_i = np.zeros(0, np.int64)
    p_k = data.prev_sku if data.prev_sku is not None else none_i
    p_w = data.prev_wh if data.prev_wh is not None else none_i
    p_u = data.prev_units if data.prev_units is not None else np.zeros(0)
    by = _sum_by(
        (levels.keys, stock),
        (np.asarray(p_k, np.int64) * W + p_w, np.asarray(p_u, np.float64)),
    )
    moved = float(np.abs(by.vals[0] - by.vals[1]).sum())
    prev_open = data.prev_open if data.prev_open is not None else np.zeros(len(is_open))
    stability = float(
        getattr(data.service, "stability_penalty_per_unit", 0.0) * moved
        + data.wh_fixed_cost @ np.abs(is_open.astype(float) - prev_open)
    )
    return excess, stability


def _warehouse_rules(
    ctx: _Ctx,
    levels: _Sums,
    ful: _Ful,
    is_open: npt.NDArray[np.bool_],
    inflow: _Sums,
    state: _State,
) -> tuple[F, F]:
    """Storage and throughput per warehouse; an unopened warehouse stocks, ships or takes
    returns nothing. Returns the storage (m³) the stocking levels take and the throughput
    (units per day) used.

    Storage: the stocking levels fit ``storage_m3``; with what else stays on the shelves
    (``state.shelf``: tonight's units left there, on hand or arriving within the horizon, and
    the surplus) they fit ``max(storage_m3, tonight's lots there within the horizon)``: a
    warehouse whose lots alone overfill it tonight holds them whatever the plan does, so its
    capacity is their volume (the plan's notes name it)."""
    data = ctx.data
    W = len(data.warehouses)
    sk = data.sku
    H = float(data.horizon_days)
    ob = ful.ob
    lk, lw = np.divmod(levels.keys, W)
    used_m3 = np.bincount(lw, weights=levels.vals[0] * sk.volume_m3[lk], minlength=W).astype(
        np.float64
    )
    # tonight's lots at each warehouse within the horizon (the scenario's, not the plan's)
    there = data.inv_day < H
    lots_m3 = np.bincount(
        data.inv_wh[there],
        weights=data.inv_units[there] * sk.volume_m3[data.inv_sku[there]],
        minlength=W,
    ).astype(np.float64)
    per_day = ful.u[ob] / float(data.horizon_days)
    thr = np.bincount(ful.w[ob], weights=per_day, minlength=W).astype(np.float64)
    fed = np.zeros(W, dtype=bool)
    fed[inflow.keys[inflow.vals[0] > ABS] % W] = True
    for w in range(W):
        name = data.warehouses[w]
        if used_m3[w] > data.wh_storage_m3[w] * (1 + REL) + ABS:
            ctx.viol.append(
                f"warehouse {name!r}: stock takes {used_m3[w]:.6g} m3, storage is "
                f"{data.wh_storage_m3[w]:.6g}"
            )
        on_shelf = used_m3[w] + state.shelf[w]
        cap = max(float(data.wh_storage_m3[w]), float(lots_m3[w]))
        if state.shelf[w] > 0 and on_shelf > cap * (1 + REL) + ABS:
            over = (
                f" (tonight's lots there alone take {lots_m3[w]:.6g})"
                if cap > data.wh_storage_m3[w]
                else ""
            )
            ctx.viol.append(
                f"warehouse {name!r}: stock takes {on_shelf:.6g} m3 (stocking levels "
                f"{used_m3[w]:.6g} + tonight's stock left and surplus {state.shelf[w]:.6g}), "
                f"storage is {cap:.6g}{over}"
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
    return used_m3, thr


def _lane_rules(ctx: _Ctx, rep: _Rep, ful: _Ful, state: _State) -> None:
    """Lane capacities per day (kg, m³, units), averaged over the horizon."""
    data = ctx.data
    sk = data.sku
    H = float(data.horizon_days)
    ob, dr = ful.ob, ful.direct
    lanes, k, u = [], [], []
    for opts, opt, kk, uu in (
        (data.inbound, rep.opt, rep.k, rep.u),
        (data.outbound, ful.opt[ob], ful.k[ob], ful.u[ob]),
        (data.direct, ful.opt[dr], ful.k[dr], ful.u[dr]),
    ):
        # each row's units on every lane of its option (the CSR incidence, expanded)
        start, stop = opts.lane_ptr[opt], opts.lane_ptr[opt + 1]
        n = stop - start
        first = np.repeat(np.cumsum(n) - n, n)
        lanes.append(opts.lane_idx[np.repeat(start, n) + np.arange(int(n.sum())) - first])
        k.append(np.repeat(kk, n))
        u.append(np.repeat(uu, n))
    lanes.append(np.array([li for li, _, _ in state.lane_load], np.int64))
    k.append(np.array([kk for _, kk, _ in state.lane_load], np.int64))
    u.append(np.array([uu for _, _, uu in state.lane_load], np.float64))
    li_all, k_all, u_all = np.concatenate(lanes), np.concatenate(k), np.concatenate(u)
    n_lanes = len(data.lanes)
    load = np.zeros((n_lanes, len(LaneDim)))
    load[:, LaneDim.KG] = np.bincount(li_all, u_all * sk.weight_kg[k_all] / H, n_lanes)
    load[:, LaneDim.M3] = np.bincount(li_all, u_all * sk.volume_m3[k_all] / H, n_lanes)
    load[:, LaneDim.UNITS] = np.bincount(li_all, u_all / H, n_lanes)
    caps = data.lane_caps
    for li, d in np.argwhere(load > caps * (1 + REL) + ABS).tolist():
        ctx.viol.append(
            f"lane {data.lanes[li]!r}: {load[li, d]:.6g} {LaneDim(d).unit}/day over capacity "
            f"{caps[li, d]:.6g}"
        )


def _service(
    data: NetworkData, dem: _Sums, ful: _Ful, lost_by_zone: F
) -> tuple[float, dict[str, dict[str, float]], tuple[str, ...]]:
    """On-time share over all demand, per country, and the targets missed (``dem``: demand
    per (SKU, zone), as :func:`_demand_served` sums it)."""
    svc = data.service
    on = ful.on
    Z = len(data.zones)
    total_dem = float(dem.vals[0].sum())
    share = float(ful.u[on].sum()) / total_dem if total_dem > 0 else 1.0
    by_country: dict[str, dict[str, float]] = {}
    zc = np.array(data.zone_country)
    dem_z = np.bincount(dem.keys % Z, weights=dem.vals[0], minlength=Z).astype(np.float64)
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
        rows (``inventory``, ``transfers``, ``orders``, ``returns``, ``surplus``) are read
        (absent lists read as empty, except that a plan without ``orders`` is not checked for
        them); everything else is ignored.

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
    levels = _stock_rule(ctx, plan, rep, ((L + R) + zf * sk.demand_cv[rep.k] * sq) / H)
    if data.has_previous:
        excess, cost["stability"] = _against_previous(data, levels, is_open)
        cost["holding"] += excess
    _stock_state(ctx, plan)
    _orders(ctx, plan, levels)
    used_m3, thr = _warehouse_rules(ctx, levels, ful, is_open, inflow, state)
    _reported_use(ctx, plan, used_m3, state.shelf, thr)
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
