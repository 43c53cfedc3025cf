"""A plan's flows as index arrays on a compiled network (shared by simulation and what-if).

:func:`plan_flows` reads a ``plan.json`` document (DESIGN §7) and matches every listed flow to
the network option with exactly its lanes from its source to its destination, as the
independent evaluator does, and returns the matches as arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from network.compile import NetworkData, PathOptions
from optimizer.exceptions import InvalidNetworkError
from optimizer.plan.document import Plan

__all__ = ["PlanFlows", "option_keys", "plan_flows"]

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class PlanFlows:
    """Flows of one plan as arrays.

    ``f_*`` fulfilment rows (``f_direct`` marks direct rows, whose ``f_opt`` indexes
    ``data.direct``; the others index ``data.outbound`` and have a warehouse ``f_wh``);
    ``r_*`` replenishment rows (``r_opt`` into ``data.inbound``); ``s_*`` stock rows.
    """

    f_sku: I
    f_zone: I
    f_wh: I
    f_direct: B
    f_opt: I
    f_units: F
    r_sku: I
    r_wh: I
    r_opt: I
    r_units: F
    s_sku: I
    s_wh: I
    s_units: F


def option_keys(
    opts: PathOptions, lanes: tuple[str, ...]
) -> dict[tuple[int, int, tuple[str, ...]], int]:
    """``(src, dst, lane ids) → option index`` (the first option of each key)."""
    out: dict[tuple[int, int, tuple[str, ...]], int] = {}
    for i in range(len(opts)):
        key = (int(opts.src[i]), int(opts.dst[i]), tuple(lanes[j] for j in opts.lanes_of(i)))
        out.setdefault(key, i)
    return out


def plan_flows(data: NetworkData, plan: Plan) -> PlanFlows:
    """Match the plan's listed flows to the network's options.

    Raises
    ------
    InvalidNetworkError
        If a row names an unknown SKU, zone, warehouse or origin, or lanes that are no option
        of the network (the row is named).
    """
    sku_i = {s: i for i, s in enumerate(data.skus)}
    wh_i = {w: i for i, w in enumerate(data.warehouses)}
    z_i = {z: i for i, z in enumerate(data.zones)}
    o_i = {o: i for i, o in enumerate(data.origins)}

    def need(mapping: dict[str, int], key: Any, what: str, where: str) -> int:
        if key not in mapping:
            raise InvalidNetworkError(f"{where}: unknown {what} {key!r}")
        return mapping[key]

    out_k = option_keys(data.outbound, data.lanes)
    dir_k = option_keys(data.direct, data.lanes)
    in_k = option_keys(data.inbound, data.lanes)
    ful = plan.fulfilment or ()
    n = len(ful)
    f_sku = np.zeros(n, np.int64)
    f_zone = np.zeros(n, np.int64)
    f_wh = np.full(n, -1, np.int64)
    f_dir = np.zeros(n, dtype=bool)
    f_opt = np.zeros(n, np.int64)
    f_units = np.zeros(n)
    for j, row in enumerate(ful):
        where = f"fulfilment[{j}]"
        f_sku[j] = need(sku_i, row.sku, "SKU", where)
        f_zone[j] = need(z_i, row.zone, "zone", where)
        src = row.source
        lanes = tuple(row.lanes)
        if src in wh_i:
            f_wh[j] = wh_i[src]
            hit = out_k.get((wh_i[src], int(f_zone[j]), lanes))
        elif src in o_i:
            f_dir[j] = True
            hit = dir_k.get((o_i[src], int(f_zone[j]), lanes))
        else:
            raise InvalidNetworkError(f"{where}: unknown source {src!r}")
        if hit is None:
            raise InvalidNetworkError(
                f"{where}: lanes {list(lanes)!r} are no path from {src!r} to {row.zone!r}"
            )
        f_opt[j] = hit
        f_units[j] = float(row.units)
    rep = plan.replenishment or ()
    m = len(rep)
    r_sku = np.zeros(m, np.int64)
    r_wh = np.zeros(m, np.int64)
    r_opt = np.zeros(m, np.int64)
    r_units = np.zeros(m)
    for j, rrow in enumerate(rep):
        where = f"replenishment[{j}]"
        r_sku[j] = need(sku_i, rrow.sku, "SKU", where)
        r_wh[j] = need(wh_i, rrow.warehouse, "warehouse", where)
        lanes = tuple(rrow.lanes)
        if rrow.origin is not None:
            hit = in_k.get((need(o_i, rrow.origin, "origin", where), int(r_wh[j]), lanes))
        else:
            hit = next(
                (i for (o, w, ln), i in in_k.items() if w == r_wh[j] and ln == lanes and o >= 0),
                None,
            )
        if hit is None:
            raise InvalidNetworkError(
                f"{where}: lanes {list(lanes)!r} are no inbound path into {rrow.warehouse!r}"
            )
        r_opt[j] = hit
        r_units[j] = float(rrow.units)
    st = plan.stock or ()
    s_sku = np.array([need(sku_i, r.sku, "SKU", f"stock[{j}]") for j, r in enumerate(st)], np.int64)
    s_wh = np.array(
        [need(wh_i, r.warehouse, "warehouse", f"stock[{j}]") for j, r in enumerate(st)],
        np.int64,
    )
    s_units = np.array([float(r.units) for r in st])
    return PlanFlows(
        f_sku,
        f_zone,
        f_wh,
        f_dir,
        f_opt,
        f_units,
        r_sku,
        r_wh,
        r_opt,
        r_units,
        s_sku.reshape(-1),
        s_wh.reshape(-1),
        s_units.reshape(-1),
    )
