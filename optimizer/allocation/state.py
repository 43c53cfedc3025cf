"""Column blocks of format v1.1's state: inventory uses, transfers, returns (vectorised).

See :mod:`optimizer.allocation` for the formulation. Every builder here works on whole arrays
(no per-lot or per-pair Python loops); :func:`optimizer.allocation.columns.build_columns`
calls them and stores the blocks in :class:`~optimizer.allocation.columns.Columns`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from network.compile import NetworkData, PathOptions, SkuData

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

__all__ = [
    "LotUses",
    "ReturnCols",
    "lot_shelf_m3",
    "lot_uses",
    "on_hand_rate",
    "overfull_warehouses",
    "return_columns",
    "shelf_capacity",
    "tonight_m3",
]


def _csr_join(left_key: I, right_key: I, n_keys: int) -> tuple[I, I]:
    """All index pairs ``(i, j)`` with ``left_key[i] == right_key[j]`` (CSR, no dense matrix)."""
    order = np.argsort(right_key, kind="stable")
    ptr = np.zeros(n_keys + 1, dtype=np.int64)
    np.add.at(ptr, right_key + 1, 1)
    ptr = np.cumsum(ptr)
    counts = ptr[left_key + 1] - ptr[left_key]
    i = np.repeat(np.arange(len(left_key)), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(int(counts.sum())) - np.repeat(starts, counts)
    j = order[ptr[left_key][i] + rank]
    return i.astype(np.int64), j.astype(np.int64)


def on_hand_rate(data: NetworkData, sku: I, wh: I) -> F:
    """Holding cost of one unit on a warehouse shelf for one day (space + capital)."""
    return (
        data.wh_holding_per_m3_day[wh] * data.sku.volume_m3[sku]
        + data.sku.holding_per_unit_day[sku]
    )


def lot_shelf_m3(data: NetworkData) -> F:
    """The volume (m³) of one unit of each lot of ``data.inv_*`` while it stays at its
    warehouse: the SKU's volume for a lot that is there within the horizon (on hand, or in
    transit arriving before its end), 0 for one that arrives after it (it never takes space
    in the planned horizon)."""
    here = data.inv_day < float(data.horizon_days)
    return np.where(here, data.sku.volume_m3[data.inv_sku], 0.0).astype(np.float64)


def tonight_m3(data: NetworkData) -> F:
    """Per warehouse, the volume (m³) of tonight's lots there within the horizon (on hand, or
    in transit arriving before its end): what stays if the plan neither uses nor moves any."""
    return np.bincount(
        data.inv_wh, weights=lot_shelf_m3(data) * data.inv_units, minlength=len(data.warehouses)
    ).astype(np.float64)


def shelf_capacity(data: NetworkData) -> F:
    """Per warehouse, the storage (m³) that the stocking levels, tonight's stock left on the
    shelf and the resold surplus share: ``max(storage_m3, tonight_m3)``.

    A warehouse whose lots alone (on hand, and in transit arriving within the horizon) take
    more than its ``storage_m3`` holds them tonight whatever the plan does: its capacity is
    taken as that volume, so that keeping tonight's stock is always a feasible plan (moving
    the excess is not: a transfer only moves units that the destination ships, on capacitated
    lanes), and new stock fits only into the space the plan frees by using or moving units.
    The stocking levels alone still fit ``storage_m3``. The plan names such a warehouse and
    its excess (:func:`overfull_warehouses`).
    """
    return np.maximum(data.wh_storage_m3, tonight_m3(data))


def overfull_warehouses(data: NetworkData) -> list[tuple[int, float, float]]:
    """``(warehouse, tonight_m3, storage_m3)`` of each warehouse whose lots alone take more
    than its storage (:func:`shelf_capacity`)."""
    v = tonight_m3(data)
    over = np.flatnonzero(v > data.wh_storage_m3 * (1 + 1e-9) + 1e-9)
    return [(int(w), float(v[w]), float(data.wh_storage_m3[w])) for w in over.tolist()]


def split_cost(opts: PathOptions, sk: SkuData) -> tuple[F, F]:
    """Per-unit (lane cost without duty, duty) of every option for every SKU given."""
    full = opts.unit_cost(sk)
    no_duty = SkuData(
        sk.weight_kg,
        sk.volume_m3,
        np.zeros_like(sk.value),
        sk.demand_cv,
        sk.holding_per_unit_day,
        sk.own_duty,
    )
    lane = opts.unit_cost(no_duty)
    return lane, np.maximum(full - lane, 0.0)


@dataclass(frozen=True, slots=True)
class LotUses:
    """Inventory lots and the ways each can be used (at its warehouse or after a transfer).

    ``lot_hold`` per lot of ``data.inv_*``: the holding cost of a unit that stays (on the
    shelf from its arrival to the end of the horizon). ``e_*`` per use column: the lot, the
    transfer option (``-1``: used where it is), the warehouse it is used at, the day it is
    available there, and per-unit transfer lane cost, duty and hours.
    """

    lot_hold: F
    e_lot: I
    e_topt: I
    e_wh: I
    e_day: F
    e_lane: F
    e_duty: F
    e_hours: F


def lot_uses(data: NetworkData, usable: B) -> LotUses:
    """Every use of every lot whose SKU has demand and that arrives within the horizon."""
    H = float(data.horizon_days)
    n = len(data.inv_sku)
    lot_hold = on_hand_rate(data, data.inv_sku, data.inv_wh) * np.maximum(0.0, H - data.inv_day)
    has_dem = np.zeros(len(data.skus), dtype=bool)
    has_dem[data.dem_sku[data.dem_units > 0]] = True
    ok = has_dem[data.inv_sku] if n else np.zeros(0, bool)
    # used where it is
    loc = np.flatnonzero(ok & usable[data.inv_wh] & (data.inv_day < H)) if n else np.zeros(0, int)
    e_lot = [loc]
    e_topt = [np.full(len(loc), -1, np.int64)]
    e_wh = [data.inv_wh[loc]]
    e_day = [data.inv_day[loc]]
    e_lane = [np.zeros(len(loc))]
    e_duty = [np.zeros(len(loc))]
    e_hours = [np.zeros(len(loc))]
    tr = data.transfer
    if tr is not None and len(tr) and n:
        lots = np.flatnonzero(ok)
        # every (lot, transfer option leaving the lot's warehouse) pair
        li, ti = _csr_join(data.inv_wh[lots], tr.src, len(data.warehouses))
        j = lots[li]
        day = data.inv_day[j] + tr.hours[ti] / 24.0
        keep = usable[tr.dst[ti]] & (day < H)
        j, ti, day = j[keep], ti[keep], day[keep]
        if len(j):
            uk, inv = np.unique(data.inv_sku[j], return_inverse=True)
            lane, duty = split_cost(tr, data.sku.take(uk))
            e_lot.append(j)
            e_topt.append(ti.astype(np.int64))
            e_wh.append(tr.dst[ti])
            e_day.append(day)
            e_lane.append(lane[ti, inv.ravel()])
            e_duty.append(duty[ti, inv.ravel()])
            e_hours.append(tr.hours[ti])
    return LotUses(
        lot_hold=lot_hold,
        e_lot=np.concatenate(e_lot).astype(np.int64),
        e_topt=np.concatenate(e_topt).astype(np.int64),
        e_wh=np.concatenate(e_wh).astype(np.int64),
        e_day=np.concatenate(e_day).astype(float),
        e_lane=np.concatenate(e_lane).astype(float),
        e_duty=np.concatenate(e_duty).astype(float),
        e_hours=np.concatenate(e_hours).astype(float),
    )


@dataclass(frozen=True, slots=True)
class ReturnCols:
    """Returns of each demand pair: rate and resellable share per pair; ``r_*`` columns
    (returned units of a pair taken by a returns warehouse of its country, over the cheapest
    reverse last-mile option ``r_opt`` of ``data.outbound``, at ``r_lane`` + ``r_handling`` per
    unit); ``o_*`` columns (written-off returns of a pair, at ``o_cost`` per unit)."""

    p_rate: F
    p_resell: F
    r_pair: I
    r_wh: I
    r_opt: I
    r_lane: F
    r_handling: F
    o_pair: I
    o_cost: F


def return_columns(
    data: NetworkData, p_sku: I, p_zone: I, usable: B, lane_out: F | None, p_k: I
) -> ReturnCols:
    """Returns columns for the demand pairs (see :class:`ReturnCols`).

    ``lane_out`` is the outbound lane cost (without duty) per (option, local SKU) and ``p_k``
    the local SKU of each pair.
    """
    p_rate, p_resell = data.returns_of(p_sku, p_zone)
    rp = np.flatnonzero(p_rate > 0)
    z0 = np.zeros(0, np.int64)
    if not len(rp):
        return ReturnCols(p_rate, p_resell, z0, z0, z0, np.zeros(0), np.zeros(0), z0, np.zeros(0))
    o_pair = rp.astype(np.int64)
    o_cost = data.sku.value[p_sku[rp]].astype(float)
    outb = data.outbound
    rc = data.wh_returns_cost
    takes = usable & ~np.isnan(rc) if rc is not None else np.zeros(len(usable), bool)
    if not len(outb) or not takes.any() or lane_out is None:
        return ReturnCols(p_rate, p_resell, z0, z0, z0, np.zeros(0), np.zeros(0), o_pair, o_cost)
    wc = np.array(data.wh_country)
    zc = np.array(data.zone_country)
    # outbound options out of returns warehouses into a zone of the warehouse's own country
    sel = np.flatnonzero(takes[outb.src] & (wc[outb.src] == zc[outb.dst]))
    zone_of = p_zone[rp]
    pi, oi = _csr_join(zone_of, outb.dst[sel], len(data.zones))
    pair = rp[pi]
    opt = sel[oi]
    cost = lane_out[opt, p_k[pair]]
    wh = outb.src[opt].astype(np.int64)
    # cheapest reverse option per (pair, warehouse)
    order = np.lexsort((opt, cost, wh, pair))
    first = np.r_[True, (pair[order][1:] != pair[order][:-1]) | (wh[order][1:] != wh[order][:-1])]
    keep = order[first] if len(order) else order
    return ReturnCols(
        p_rate=p_rate,
        p_resell=p_resell,
        r_pair=pair[keep].astype(np.int64),
        r_wh=wh[keep],
        r_opt=opt[keep].astype(np.int64),
        r_lane=cost[keep].astype(float),
        r_handling=rc[wh[keep]].astype(float) if rc is not None else np.zeros(len(keep)),
        o_pair=o_pair,
        o_cost=o_cost,
    )
