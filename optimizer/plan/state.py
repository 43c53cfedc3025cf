"""The plan sections of format v1.1 (DESIGN §10): tonight's inventory, transfers, orders,
returns, and the previous plan to compare against.

:func:`state_sections` turns a solution's v1.1 blocks into plain rows; :func:`attach_previous`
reads a previous ``plan.json`` into the network data (stocking levels and warehouse use).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from network.compile import NetworkData
from network.indices import flat_key
from optimizer.allocation.columns import Columns
from optimizer.allocation.result import Solution
from optimizer.exceptions import InvalidNetworkError
from optimizer.plan.document import (
    UNITS_ROUNDOFF,
    InventoryLotRow,
    OrderRow,
    Plan,
    ReturnRow,
    SurplusRow,
    TransferRow,
)

__all__ = ["StateSections", "attach_previous", "state_sections"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StateSections:
    """The v1.1 rows of a plan, and tonight's units per (SKU, warehouse) key ``sku * W + wh``."""

    inventory: tuple[InventoryLotRow, ...]
    transfers: tuple[TransferRow, ...]
    orders: tuple[OrderRow, ...]
    returns: tuple[ReturnRow, ...]
    surplus: tuple[SurplusRow, ...]
    on_hand: dict[int, float]
    in_transit: dict[int, float]


def attach_previous(data: NetworkData, previous: Plan) -> NetworkData:
    """The network data with a previous plan's stocking levels and warehouse use attached.

    Rows naming SKUs or warehouses this network does not have are ignored (a catalogue
    changes); a plan without ``stock`` or ``warehouses`` lists is refused.

    Raises
    ------
    InvalidNetworkError
        If ``previous`` lists no stock or no warehouses, or a stocking level is negative.
    """
    if previous.stock is None or previous.warehouses is None:
        missing = "stock" if previous.stock is None else "warehouses"
        raise InvalidNetworkError(f"previous plan: no {missing!r} list")
    sku_i = {s: i for i, s in enumerate(data.skus)}
    wh_i = {w: i for i, w in enumerate(data.warehouses)}
    for j, r in enumerate(previous.stock):  # j: the row's index in the plan's own list
        if r.units < -UNITS_ROUNDOFF:  # the plan reader's tolerance for solver round-off
            raise InvalidNetworkError(f"previous plan: stock[{j}].units {r.units!r} is negative")
    rows = [r for r in previous.stock if r.sku in sku_i and r.warehouse in wh_i]
    y = np.zeros(len(data.warehouses))
    for w in previous.warehouses:
        if w.id in wh_i and w.open:
            y[wh_i[w.id]] = 1.0
    if (previous.stock or previous.warehouses) and not rows and not y.any():
        # nothing to be stable against: most likely another scenario's plan
        log.warning(
            "previous plan: none of its %d stock row(s) and %d open warehouse(s) is in this "
            "network (a plan of another scenario?); stability has nothing to keep",
            len(previous.stock),
            sum(1 for w in previous.warehouses if w.open),
        )
    return dataclasses.replace(
        data,
        prev_sku=np.array([sku_i[r.sku] for r in rows], np.int64),
        prev_wh=np.array([wh_i[r.warehouse] for r in rows], np.int64),
        prev_units=np.array([float(r.units) for r in rows], float),
        prev_open=y,
    )


def _lanes(data: NetworkData, opts: Any, i: int) -> tuple[str, ...]:
    return tuple(data.lanes[j] for j in opts.lanes_of(int(i)).tolist())


def state_sections(data: NetworkData, cols: Columns, sol: Solution) -> StateSections:
    """The v1.1 plan sections for a solution (empty lists without state).

    ``inventory`` (one row per lot: used where it is, transferred, left), ``transfers``,
    ``orders`` (order-up-to level minus inventory position, never negative), ``returns``
    (a row per SKU, zone and taking warehouse; ``warehouse`` null for written-off units),
    ``surplus`` (resold units a warehouse does not need), and per (SKU, warehouse) the
    ``on_hand`` and ``in_transit`` units for the ``stock`` rows.
    """
    W = len(data.warehouses)
    e = sol.e if len(sol.e) == len(cols.e_lot) else np.zeros(len(cols.e_lot))
    nlot = len(data.inv_units)
    lo = sol.lo if len(sol.lo) == nlot else data.inv_units.astype(float).copy()
    here = np.zeros(nlot)
    moved = np.zeros(nlot)
    loc = cols.e_topt < 0
    np.add.at(here, cols.e_lot[loc], e[loc])
    np.add.at(moved, cols.e_lot[~loc], e[~loc])
    inventory = tuple(
        InventoryLotRow(
            sku=data.skus[data.inv_sku[j]],
            warehouse=data.warehouses[data.inv_wh[j]],
            kind="in_transit" if data.inv_transit[j] else "on_hand",
            units=float(data.inv_units[j]),
            arrives_in_hours=float(data.inv_day[j] * 24.0) if data.inv_transit[j] else None,
            used_here=float(here[j]),
            transferred=float(moved[j]),
            left=float(lo[j]),
        )
        for j in range(nlot)
    )
    transfers: list[TransferRow] = []
    tr = data.transfer
    for i in np.flatnonzero(~loc & (e > 0)).tolist():
        j = int(cols.e_lot[i])
        t = int(cols.e_topt[i])
        assert tr is not None
        transfers.append(
            TransferRow(
                sku=data.skus[data.inv_sku[j]],
                from_=data.warehouses[int(tr.src[t])],
                to=data.warehouses[int(tr.dst[t])],
                lane=_lanes(data, tr, t)[0],
                units=float(e[i]),
                hours=float(cols.e_hours[i]),
                lot="in_transit" if data.inv_transit[j] else "on_hand",
                available_in_hours=float(cols.e_day[i] * 24.0),
            )
        )
    # inventory position per (SKU, warehouse): on hand + in transit + transfers in - out
    key = data.inv_sku * W + data.inv_wh
    on_hand: dict[int, float] = {}
    in_transit: dict[int, float] = {}
    for k_, u, t_ in zip(
        key.tolist(), data.inv_units.tolist(), data.inv_transit.tolist(), strict=True
    ):
        d = in_transit if t_ else on_hand
        d[k_] = d.get(k_, 0.0) + u
    pos = np.zeros(len(cols.kw_sku))
    kw_key = flat_key(cols.kw_sku, W, cols.kw_wh)
    kw_ix = {int(k): i for i, k in enumerate(kw_key.tolist())}
    for k_, u in (*on_hand.items(), *in_transit.items()):
        if k_ in kw_ix:
            pos[kw_ix[k_]] += u
    if len(e) and tr is not None:
        t_in = np.flatnonzero(~loc)
        dst_key = data.inv_sku[cols.e_lot[t_in]] * W + tr.dst[cols.e_topt[t_in]]
        src_key = data.inv_sku[cols.e_lot[t_in]] * W + tr.src[cols.e_topt[t_in]]
        for a, b, u in zip(dst_key.tolist(), src_key.tolist(), e[t_in].tolist(), strict=True):
            if a in kw_ix:
                pos[kw_ix[a]] += u
            if b in kw_ix:
                pos[kw_ix[b]] -= u
    need = sol.stock - pos
    # the inbound path used most for each (SKU, warehouse)
    best = np.full(len(cols.kw_sku), -1, np.int64)
    if len(sol.f):
        order = np.lexsort((-sol.f, cols.f_kw))
        first = np.r_[True, cols.f_kw[order][1:] != cols.f_kw[order][:-1]]
        pick = order[first]
        pick = pick[sol.f[pick] > 0]
        best[cols.f_kw[pick]] = pick
    osel = np.flatnonzero(need > 1e-9)
    b = best[osel]
    o_opt = np.full(len(osel), -1, np.int64)  # the inbound option of each order (-1: none)
    o_opt[b >= 0] = cols.f_opt[b[b >= 0]]
    # an order with no replenishment to take its lanes from (a level kept by the stability
    # penalty, say): the cheapest inbound path into its warehouse, so that it can be booked
    none = np.flatnonzero(b < 0)
    if len(none) and len(data.inbound):
        nk = cols.kw_sku[osel[none]]
        nw = cols.kw_wh[osel[none]]
        uk, inv = np.unique(nk, return_inverse=True)
        cost = data.inbound.unit_cost(data.sku.take(uk))[:, inv.ravel()]
        cost = np.where(data.inbound.dst[:, None] == nw[None, :], cost, np.inf)
        pick = np.argmin(cost, axis=0)
        ok = np.isfinite(cost[pick, np.arange(len(none))])
        o_opt[none[ok]] = pick[ok]
    lanes_of: dict[int, tuple[str, ...]] = {-1: ()}  # made once per option
    for opt in np.unique(o_opt[o_opt >= 0]).tolist():
        lanes_of[opt] = _lanes(data, data.inbound, opt)
    orders = tuple(
        OrderRow(sku=data.skus[k], warehouse=data.warehouses[w], lanes=lanes_of[opt], units=u)
        for k, w, opt, u in zip(
            cols.kw_sku[osel].tolist(),
            cols.kw_wh[osel].tolist(),
            o_opt.tolist(),
            np.ceil(need[osel] - 1e-9).astype(np.float64).tolist(),
            strict=True,
        )
    )
    returns: list[ReturnRow] = []
    r = sol.r if len(sol.r) == len(cols.r_pair) else np.zeros(len(cols.r_pair))
    for i in np.flatnonzero(r > 0).tolist():
        p = int(cols.r_pair[i])
        returns.append(
            ReturnRow(
                country=data.zone_country[cols.p_zone[p]],
                warehouse=data.warehouses[cols.r_wh[i]],
                units=float(r[i]),
                resold_units=float(r[i] * cols.p_resell[p]),
                sku=data.skus[cols.p_sku[p]],
                zone=data.zones[cols.p_zone[p]],
                lanes=_lanes(data, data.outbound, cols.r_opt[i]),
            )
        )
    o = sol.o if len(sol.o) == len(cols.o_pair) else np.zeros(len(cols.o_pair))
    for i in np.flatnonzero(o > 0).tolist():
        p = int(cols.o_pair[i])
        returns.append(
            ReturnRow(
                country=data.zone_country[cols.p_zone[p]],
                warehouse=None,
                units=float(o[i]),
                resold_units=0.0,
                sku=data.skus[cols.p_sku[p]],
                zone=data.zones[cols.p_zone[p]],
                written_off=True,
            )
        )
    sp = sol.sp if len(sol.sp) == len(cols.sp_kw) else np.zeros(len(cols.sp_kw))
    surplus = tuple(
        SurplusRow(
            sku=data.skus[cols.kw_sku[cols.sp_kw[i]]],
            warehouse=data.warehouses[cols.kw_wh[cols.sp_kw[i]]],
            units=float(sp[i]),
        )
        for i in np.flatnonzero(sp > 0).tolist()
    )
    return StateSections(
        inventory=inventory,
        transfers=tuple(transfers),
        orders=orders,
        returns=tuple(returns),
        surplus=surplus,
        on_hand=on_hand,
        in_transit=in_transit,
    )
