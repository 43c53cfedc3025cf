"""Decomposition for large allocation models: decide warehouses on an aggregate, then flows.

The monolithic MIP (:mod:`optimizer.allocation`) has one linking row per (demand pair,
warehouse); with hundreds of SKUs and zones that is hundreds of thousands of rows and HiGHS
finds no incumbent in a minute. Only the warehouse decision ``y`` is combinatorial, and it
depends on SKUs only through their costs, so:

1. **Aggregate** SKUs per zone: one aggregate column per (zone, warehouse, on-time class)
   whose per-unit cost is the demand-weighted mean over the zone's SKUs of the cheapest
   outbound option of that class *plus* the cheapest inbound option of that SKU at that
   warehouse; the same for direct lines. Rows: zone demand, throughput, storage (through the
   mean stock coefficient), strong linking ``x[z,w] ≤ D_z·y_w`` and the on-time targets. This
   MIP has ~zones × warehouses × 2 columns and is solved to a small gap in seconds.
2. **Fix y** to the aggregate's choice (and to the naive plan's, and keep the cheaper) and solve
   the full model with no binaries left: an LP over all SKUs with stocking levels relaxed,
   storage tightened by one unit of each SKU so that rounding stocking levels up stays feasible
   (:func:`optimizer.allocation.stock_levels`).
3. **Bound**: a Lagrangian relaxation (:mod:`optimizer.allocation.lagrange`): the rows that couple
   demand pairs (storage, throughput, lane capacities, on-time targets) are priced with the
   fixed-y LP's duals, which leaves a facility-location problem over the demand pairs that
   is solved exactly by Benders; projected subgradient steps then improve the prices for the
   first ``LAGRANGE_SHARE`` of the time left. Every iterate is a valid bound; the best is
   reported, so the gap is honest. Its best is about the LP relaxation's, which the
   throughput rows' integrality keeps above the target gap on capacitated networks.
4. **Tighter bound** (:mod:`optimizer.allocation.capacity_bound`), for the rest of the time
   when the gap is still above the target: with the best multipliers of step 3 for storage,
   lanes and on-time, the throughput rows are kept instead of priced; the subproblem is then a
   capacitated facility-location problem, solved by Benders over ``y`` with min-cost-flow
   duals and per-country functions under fixed hub prices. If it stops below the target
   (its multipliers were not good enough), the subgradient resumes from its best multipliers
   and the bound is computed again (at most ``MAX_BOUND_ROUNDS`` rounds). When no duals are
   available (the fixed-y LP failed or had to lower its targets) the earlier
   bound is used: from each demand pair's costs subtract its cheapest way to meet its demand
   (exact), then aggregate over (zone, SKU family) groups taking, for every column, the
   *cheapest* SKU's reduced cost and stock volume (``how="min"``), without lane capacities;
   the best of its LP (12 families) and its MIP bound (1, 4, 12 and 24 families, while time
   remains).

The step-1 aggregate with ``y`` fixed (an LP of ~2k columns, milliseconds) ranks warehouse sets
well: its cost sits a nearly constant amount above the exact fixed-y LP's for neighbouring
sets. It is used to skip the naive set's exact LP when the aggregate ranks it clearly worse,
and, when the aggregate MIP stopped before optimality, for a one-flip local search whose
proposals are priced by the exact fixed-y LP.

The measurements behind these steps (the gap after each on sea-72h, the ranking check of the
aggregate) are in ``benchmarks/README.md``, "Allocation" sections.

Inbound options that use capacitated lanes are not dominated by free ones and so survive exact
pruning; in the decomposition only the ``max_inbound`` cheapest per (SKU, warehouse) are kept
(a heuristic restriction, recorded in the result's notes). Lane capacities are ignored in
step 1 and enforced in step 2.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from network.compile import NetworkData
from network.indices import flat_key
from optimizer.allocation.capacity_bound import capacity_bound
from optimizer.allocation.columns import (
    Columns,
    build_columns,
    cost_terms,
    drop_closed,
    select_columns,
)
from optimizer.allocation.lagrange import (
    Multipliers,
    capacitated_lane_keys,
    lagrangian_search,
    multipliers_from_duals,
)
from optimizer.allocation.mip import lower_targets
from optimizer.allocation.model import (
    AllocationModel,
    RowBlocks,
    build_allocation_model,
    default_targets,
    required_targets,
    solution_from_values,
)
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import AllocationResult, Solution, SolveStats, Status
from optimizer.allocation.solve import solve_allocation
from optimizer.progress import PhaseReport, quiet
from optimizer.solver import solve_lp_duals, solve_model

__all__ = [
    "aggregate_model",
    "restrict_inbound",
    "restrict_to_warehouses",
    "sku_families",
    "solve_decomposed",
]

log = logging.getLogger(__name__)
F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]

#: Share of the time left after the first plan that the Lagrangian search gets in each round;
#: the rest goes to :func:`optimizer.allocation.capacity_bound.capacity_bound` when the gap is
#: still above
#: the target (all of it when no warehouse has a throughput capacity). The capacitated bound
#: needs multipliers from a few subgradient steps, not the plateau: on sea-72h at 60 s and the
#: default gap (``benchmarks/allocation.py --lagrange-share``), two runs each on the final code:
#: 0.08 → 0.008 % in 14.9 / 15.7 s, 0.15 → 0.008 % in 18.6 / 18.7 s; before the master gap
#: went to 2e-7, 0.08 needed three rounds (0.0115 % in 32 s) and 0.22 took 25.1 s. 0.15 keeps
#: a margin for loaded machines (after only 5 subgradient steps the bound took 22 masters and
#: 17.3 s to reach 0.01 %, after 11 steps 8 and 4.8 s: ``benchmarks/capacity_bound.py``).
LAGRANGE_SHARE = 0.15
#: Rounds of (subgradient, capacitated bound): a round that ends below the target with time
#: left continues the subgradient from its best multipliers and bounds again.
MAX_BOUND_ROUNDS = 3


def _cheapest_per_group(key: npt.NDArray[np.int64], cost: F, n: int) -> npt.NDArray[np.bool_]:
    """Mask of the ``n`` cheapest entries of each ``key`` group (ties by position)."""
    order = np.lexsort((cost, key))
    k = key[order]
    start = np.r_[0, np.flatnonzero(k[1:] != k[:-1]) + 1]
    rank = np.arange(len(k)) - np.repeat(start, np.diff(np.r_[start, len(k)]))
    keep = np.zeros(len(k), dtype=bool)
    keep[order[rank < n]] = True
    return keep


def restrict_inbound(cols: Columns, max_inbound: int) -> Columns:
    """Keep the ``max_inbound`` cheapest inbound columns per (SKU, warehouse)."""
    if len(cols.f_sku) == 0:
        return cols
    keep = _cheapest_per_group(cols.f_kw, cols.f_cost(), max_inbound)
    stats = dict(cols.stats)
    stats["f_restricted"] = int(keep.sum())
    return replace(select_columns(cols, f=keep), stats=stats)


def sku_families(cols: Columns, n_skus: int, n_families: int) -> npt.NDArray[np.int64]:
    """Group SKUs with similar per-unit costs: quantile bins of each SKU's mean serving cost."""
    tot = np.zeros(n_skus)
    cnt = np.zeros(n_skus)
    k = cols.p_sku[cols.x_pair]
    np.add.at(tot, k, cols.x_lane + cols.x_duty)
    np.add.at(cnt, k, 1.0)
    np.add.at(tot, cols.f_sku, cols.f_cost())
    np.add.at(cnt, cols.f_sku, 1.0)
    mean = np.where(cnt > 0, tot / np.maximum(cnt, 1), 0.0)
    ranks = np.argsort(np.argsort(mean, kind="stable"), kind="stable")
    return (ranks * n_families // max(n_skus, 1)).astype(np.int64)


def restrict_to_warehouses(cols: Columns, y: F) -> Columns:
    """Drop outbound and inbound columns at warehouses not in use (for fixed-y solves).

    With format v1.1 state the (SKU, warehouse) pairs stay as they are (lots' uses, returns
    and stability index them): :func:`~optimizer.allocation.columns.drop_closed`.
    """
    if cols.has_state:
        return drop_closed(cols, y)
    on = np.asarray(y) > 0.5
    return select_columns(cols, x=on[cols.x_wh], f=on[cols.f_wh], kw=on[cols.kw_wh])


def restrict_outbound(cols: Columns, max_outbound: int) -> Columns:
    """Keep per (pair, on-time class) the ``max_outbound`` cheapest outbound columns, priced
    with the cheapest inbound column of their (SKU, warehouse) (a heuristic restriction).

    Without state the inbound columns and pairs no kept outbound column uses go too; with
    format v1.1 state every inbound column and pair stays (the lots' uses, returns and
    stability index the pairs, and stock may be held for them)."""
    if len(cols.x_pair) == 0:
        return cols
    in_min = _group_min(cols.f_kw, cols.f_cost(), len(cols.kw_sku))
    cost = cols.x_cost() + in_min[cols.x_kw]
    key = flat_key(cols.x_pair, 2, ~cols.x_ontime)
    keep = _cheapest_per_group(key, cost, max_outbound)
    if cols.has_state:
        return select_columns(cols, x=keep)
    used = np.zeros(len(cols.kw_sku), dtype=bool)
    used[cols.x_kw[keep]] = True
    return select_columns(cols, x=keep, f=used[cols.f_kw], kw=used)


def _group_min(key: npt.NDArray[np.int64], val: F, n: int) -> F:
    out = np.full(n, np.inf)
    np.minimum.at(out, key, val)
    return out


@dataclass(frozen=True, slots=True)
class _AggColumns:
    """The aggregate's columns: per (group, warehouse, class) ``zk`` with cost, demand bound
    and stock volume, group ``a_z``, warehouse ``a_w`` and late flag ``a_late``; per (group,
    class) direct columns ``qzk`` likewise; each demand pair's group ``p_grp`` and each group's
    zone ``zone_of``; the lost-sale cost per pair ``lost_red`` and the reduction ``offset``."""

    p_grp: I
    zone_of: I
    Z: int
    zcost: F
    zd: F
    zvol: F
    a_z: I
    a_w: I
    a_late: npt.NDArray[np.bool_]
    qcost: F
    qd: F
    b_z: I
    b_late: npt.NDArray[np.bool_]
    lost_red: F
    offset: float


def _aggregate_columns(
    data: NetworkData, cols: Columns, family: npt.NDArray[np.int64] | None, how: str
) -> _AggColumns:
    """The aggregate's columns and costs (see :func:`aggregate_model`)."""
    W = len(data.warehouses)
    NF = 1 if family is None else int(family.max()) + 1
    fam = np.zeros(len(data.skus), np.int64) if family is None else family
    Z = len(data.zones) * NF
    p_grp = flat_key(cols.p_zone, NF, fam[cols.p_sku])
    zone_of = np.arange(Z) // NF
    P = len(cols.p_dem)
    # cheapest inbound cost and its stock coefficient per (SKU, warehouse) pair
    nkw = len(cols.kw_sku)
    f_cost = cols.f_cost()
    in_min = _group_min(cols.f_kw, f_cost, nkw)
    best = np.lexsort((f_cost, cols.f_kw))
    first = best[np.r_[True, cols.f_kw[best][1:] != cols.f_kw[best][:-1]]] if len(best) else best
    in_coef = np.zeros(nkw)
    in_coef[cols.f_kw[first]] = cols.f_coef[first]
    if how == "min":
        in_coef = np.where(np.isfinite(c_ := _group_min(cols.f_kw, cols.f_coef, nkw)), c_, 0.0)
    # per (pair, warehouse, class): cheapest outbound + inbound
    xc = cols.x_cost() - cols.late_penalty * ~cols.x_ontime + in_min[cols.x_kw]
    cls = (~cols.x_ontime).astype(np.int64)
    key = flat_key(flat_key(cols.x_pair, W, cols.x_wh), 2, cls)
    uk, inv = np.unique(key, return_inverse=True)
    pmin = _group_min(inv, xc, len(uk))
    u_pair = uk // (2 * W)
    u_wh = (uk // 2) % W
    u_cls = uk % 2
    # direct: per (pair, class) cheapest
    qc = cols.q_lane + cols.q_duty
    qkey = flat_key(cols.q_pair, 2, ~cols.q_ontime)
    qk, qinv = np.unique(qkey, return_inverse=True)
    qmin = _group_min(qinv, qc, len(qk))
    q_pair = qk // 2
    offset = 0.0
    lost_red = np.full(P, cols.lost_penalty)
    if how == "min":
        # reduced costs: subtract each pair's cheapest way to meet its demand, m_p (exact, as
        # Σ x + Σ q + u = D_p); the SKU-specific level then drops out of the family minimum
        m_p = np.full(P, cols.lost_penalty)
        np.minimum.at(m_p, u_pair, pmin + cols.late_penalty * u_cls)
        np.minimum.at(m_p, q_pair, qmin + cols.late_penalty * (qk % 2))
        pmin = pmin - m_p[u_pair]
        qmin = qmin - m_p[q_pair]
        lost_red = cols.lost_penalty - m_p
        offset = float(m_p @ cols.p_dem)
    # aggregate to (zone, warehouse, class)
    dem = cols.p_dem[u_pair]
    zkey = (p_grp[u_pair] * W + u_wh) * 2 + u_cls
    zk, zinv = np.unique(zkey, return_inverse=True)
    zd = np.bincount(zinv, weights=dem, minlength=len(zk))
    if how == "min":
        zcost = _group_min(zinv, pmin, len(zk))
    else:
        zcost = np.bincount(zinv, weights=dem * pmin, minlength=len(zk)) / np.maximum(zd, 1e-12)
    # stock volume per unit through the pair's SKU and warehouse's best inbound
    kw_index = flat_key(cols.kw_sku, W, cols.kw_wh)
    sku_w = flat_key(cols.p_sku[u_pair], W, u_wh)
    pos = np.searchsorted(kw_index, sku_w)
    vol = data.sku.volume_m3[cols.p_sku[u_pair]] * in_coef[np.clip(pos, 0, nkw - 1)]
    if how == "min":
        zvol = _group_min(zinv, vol, len(zk))
    else:
        zvol = np.bincount(zinv, weights=dem * vol, minlength=len(zk)) / np.maximum(zd, 1e-12)
    a_z = zk // (2 * W)
    a_w = (zk // 2) % W
    a_late = (zk % 2).astype(bool)
    # direct aggregated per (group, class)
    qzkey = p_grp[q_pair] * 2 + qk % 2
    qzk, qzinv = np.unique(qzkey, return_inverse=True)
    qd = np.bincount(qzinv, weights=cols.p_dem[q_pair], minlength=len(qzk))
    if how == "min":
        qcost = _group_min(qzinv, qmin, len(qzk))
    else:
        qcost = np.bincount(
            qzinv, weights=cols.p_dem[q_pair] * qmin, minlength=len(qzk)
        ) / np.maximum(qd, 1e-12)
    b_z = qzk // 2
    b_late = (qzk % 2).astype(bool)
    return _AggColumns(
        p_grp=p_grp,
        zone_of=zone_of,
        Z=Z,
        zcost=zcost,
        zd=np.asarray(zd, dtype=float),
        zvol=zvol,
        a_z=a_z,
        a_w=a_w,
        a_late=a_late,
        qcost=qcost,
        qd=np.asarray(qd, dtype=float),
        b_z=b_z,
        b_late=b_late,
        lost_red=lost_red,
        offset=offset,
    )


def aggregate_model(
    data: NetworkData,
    cols: Columns,
    targets: dict[str, float],
    *,
    family: npt.NDArray[np.int64] | None = None,
    how: str = "mean",
) -> tuple[AllocationModel, dict[str, Any]]:
    """The aggregate MIP over (zone, SKU family) groups.

    ``how="mean"`` (step 1) uses demand-weighted mean costs; ``how="min"`` first subtracts from
    every cost of a demand pair the pair's cheapest way to meet its demand ``m_p`` (an exact
    reformulation, since each pair's units sum to its demand; ``Σ m_p·D_p`` is returned as
    ``offset``), then uses the cheapest SKU of the group for every reduced cost and stock
    volume: a relaxation of the full model (lane capacities dropped too), so its optimum plus
    the offset is a valid lower bound.
    ``family`` maps each SKU index to a family (default: one family).
    """
    ac = _aggregate_columns(data, cols, family, how)
    H = float(data.horizon_days)
    p_grp, zone_of, Z = ac.p_grp, ac.zone_of, ac.Z
    a_z, a_w, a_late, b_z, b_late = ac.a_z, ac.a_w, ac.a_late, ac.b_z, ac.b_late
    zd, qd = ac.zd, ac.qd
    W = len(data.warehouses)
    # zones
    Dz = np.asarray(np.bincount(p_grp, weights=cols.p_dem, minlength=Z), dtype=float)
    zones = np.flatnonzero(Dz > 0)
    zrow = np.full(Z, -1, np.int64)
    zrow[zones] = np.arange(len(zones))
    nx_, nq, nu = len(zd), len(qd), len(zones)
    n = W + nx_ + nq + nu
    y_lb = data.wh_kept_open.astype(float)
    y_ub = data.wh_usable.astype(float)
    if how == "min":
        u_cost = _group_min(p_grp, ac.lost_red, Z)[zones]
    else:
        u_cost = np.full(nu, cols.lost_penalty)
    c = np.concatenate(
        [
            data.wh_fixed_cost,
            ac.zcost + cols.late_penalty * a_late,
            ac.qcost + cols.late_penalty * b_late,
            u_cost,
        ]
    )
    lb = np.concatenate([y_lb, np.zeros(n - W)])
    ub = np.concatenate([y_ub, zd, qd, Dz[zones]])
    xs = W + np.arange(nx_)
    qs = W + nx_ + np.arange(nq)
    us = W + nx_ + nq + np.arange(nu)
    rows = RowBlocks()
    block = rows.block
    # demand per zone
    block(
        "demand",
        np.concatenate([zrow[a_z], zrow[b_z], np.arange(nu)]),
        np.concatenate([xs, qs, us]),
        np.ones(nx_ + nq + nu),
        Dz[zones],
        Dz[zones],
    )
    # throughput and storage per warehouse
    tp = np.isfinite(data.wh_throughput_per_day)
    block(
        "throughput",
        np.concatenate([a_w, np.arange(W)]),
        np.concatenate([xs, np.arange(W)]),
        np.concatenate([np.ones(nx_), -H * np.where(tp, data.wh_throughput_per_day, 0)]),
        np.full(W, -np.inf),
        np.where(tp, 0.0, np.inf),
    )
    st = np.isfinite(data.wh_storage_m3)
    block(
        "storage",
        np.concatenate([a_w, np.arange(W)]),
        np.concatenate([xs, np.arange(W)]),
        np.concatenate([ac.zvol, -np.where(st, data.wh_storage_m3, 0)]),
        np.full(W, -np.inf),
        np.where(st, 0.0, np.inf),
    )
    # strong linking per (zone, warehouse)
    g = a_z * W + a_w
    ug, ginv = np.unique(g, return_inverse=True)
    block(
        "link",
        np.concatenate([ginv, np.arange(len(ug))]),
        np.concatenate([xs, ug % W]),
        np.concatenate([np.ones(nx_), -Dz[ug // W]]),
        np.full(len(ug), -np.inf),
        np.zeros(len(ug)),
    )
    # on-time targets
    zc = np.array(data.zone_country)
    names = list(targets)
    r_: list[npt.NDArray[np.int64]] = []
    c_on: list[npt.NDArray[np.int64]] = []
    for i, name in enumerate(names):
        mx = ~a_late if name == "all" else (~a_late & (zc[zone_of[a_z]] == name))
        mq = ~b_late if name == "all" else (~b_late & (zc[zone_of[b_z]] == name))
        r_.append(np.full(int(mx.sum() + mq.sum()), i))
        c_on.append(np.concatenate([xs[mx], qs[mq]]))
    block(
        "ontime",
        np.concatenate(r_),
        np.concatenate(c_on),
        np.ones(sum(len(x) for x in r_)),
        np.array([targets[k] for k in names]),
        np.full(len(names), np.inf),
    )
    model = AllocationModel(
        columns=cols,
        c=c,
        lb=lb,
        ub=ub,
        integer=np.flatnonzero(y_lb < y_ub).astype(np.int64),
        A=rows.matrix(n),
        row_lb=np.concatenate(rows.rlb),
        row_ub=np.concatenate(rows.rub),
        off={"y": 0},
        s_kw=np.zeros(0, np.int64),
        rows={},
        targets=targets,
        build_seconds=0.0,
    )
    return model, {"agg_vars": n, "agg_rows": rows.n, "offset": ac.offset}


def _proxy_cost(agg: AllocationModel, y: F, params: AllocationParams) -> float:
    """The aggregate model's LP with ``y`` fixed: a cheap estimate of a warehouse set's cost."""
    W = len(y)
    lb, ub = agg.lb.copy(), agg.ub.copy()
    lb[:W] = ub[:W] = y
    raw = solve_model(
        replace(agg, lb=lb, ub=ub, integer=np.zeros(0, np.int64)),
        params,
        time_limit=5.0,
        relax=True,
    )
    return raw.objective if raw.status is Status.OPTIMAL else math.inf


def flip_moves(
    agg: AllocationModel, y: F, params: AllocationParams, tried: set[bytes], deadline: float
) -> list[tuple[float, F]]:
    """Warehouse sets one open/close away from ``y`` (free warehouses only), not yet tried,
    ranked by :func:`_proxy_cost` (cheapest first)."""
    W = len(y)
    free = np.flatnonzero(agg.lb[:W] < agg.ub[:W])
    out = []
    for w in free.tolist():
        if time.perf_counter() > deadline:
            break
        y2 = np.array(y, float)
        y2[w] = 1.0 - round(y2[w])
        if y2.astype(bool).tobytes() in tried:
            continue
        out.append((_proxy_cost(agg, y2, params), y2))
    out.sort(key=lambda t: t[0])
    return [t for t in out if math.isfinite(t[0])]


def fixed_y_lp(
    data: NetworkData,
    cols: Columns,
    y: F,
    params: AllocationParams,
    targets: dict[str, float],
    deadline: float,
    cancel: threading.Event | None,
    max_outbound: int | None = None,
    duals_out: list[Any] | None = None,
) -> tuple[Solution | None, float, float, Columns]:
    """Full model with ``y`` fixed, stocking levels relaxed, storage tightened for rounding.

    Only columns at warehouses in use are built; the columns used are returned with the plan.
    With ``duals_out`` the LP is solved through :func:`solve_lp_duals` and ``(model, duals)``
    is appended to it (when the LP is solved to optimality with the targets given).
    """
    t0 = time.perf_counter()
    cols = restrict_to_warehouses(cols, y)
    lowered = False
    if max_outbound is not None:
        cols = restrict_outbound(cols, max_outbound)
    # storage tightened by one unit of every SKU stocked there: rounding S up stays feasible
    m = build_allocation_model(
        data,
        params,
        columns=cols,
        y_fixed=y,
        targets=targets,
        integer_stock=False,
        storage_margin=True,
    )
    if duals_out is not None:
        raw = solve_lp_duals(m, time_limit=deadline - time.perf_counter())
        if raw.duals is not None:
            duals_out.append((m, raw.duals))
    else:
        raw = solve_model(
            m, params, time_limit=deadline - time.perf_counter(), relax=True, cancel=cancel
        )
    if raw.status is Status.INFEASIBLE and time.perf_counter() < deadline:
        # capacities at these warehouses stop the on-time targets: lower them (LP) and retry
        m, note = lower_targets(data, m, params, deadline, cancel, storage_margin=True)
        log.info("fixed-y LP: %s", note)
        lowered = True
        raw = solve_model(
            m, params, time_limit=deadline - time.perf_counter(), relax=True, cancel=cancel
        )
    if raw.values is None:
        return None, math.nan, time.perf_counter() - t0, cols
    sol = solution_from_values(data, m, raw.values)
    obj = float(sum(cost_terms(data, cols, sol).values()))
    # a plan that had to lower the on-time targets ranks after every plan that meets them
    return sol, obj + (math.inf if lowered else 0.0), time.perf_counter() - t0, cols


def _weak_lp_bound(
    data: NetworkData,
    cols: Columns,
    params: AllocationParams,
    targets: dict[str, float],
    deadline: float,
    cancel: threading.Event | None,
) -> float:
    """LP relaxation with per-(zone, warehouse) linking rows: a valid lower bound."""
    m = build_allocation_model(data, params, columns=cols, targets=targets)
    if "link" not in m.rows:
        raw = solve_model(
            m, params, time_limit=deadline - time.perf_counter(), relax=True, cancel=cancel
        )
        return raw.bound if raw.status is Status.OPTIMAL else -math.inf
    a, b = m.rows["link"]
    W = len(data.warehouses)
    A = m.A.tocsr()
    keep = np.r_[np.arange(a), np.arange(b, A.shape[0])]
    # aggregated linking rows: Σ x over the zone's pairs at w ≤ D_z·y_w
    Dz = np.bincount(cols.p_zone, weights=cols.p_dem, minlength=len(data.zones))
    free = m.lb[:W] < m.ub[:W]
    xl = np.flatnonzero(free[cols.x_wh])
    g = flat_key(cols.p_zone[cols.x_pair[xl]], W, cols.x_wh[xl])
    ug, ginv = np.unique(g, return_inverse=True)
    rows = sp.csr_matrix(
        (
            np.r_[np.ones(len(xl)), -Dz[ug // W]],
            (np.r_[ginv, np.arange(len(ug))], np.r_[m.off["x"] + xl, ug % W]),
        ),
        shape=(len(ug), m.n_vars),
    )
    A2 = sp.vstack([A[keep], rows]).tocsr()
    m2 = replace(
        m,
        A=A2,
        row_lb=np.r_[m.row_lb[keep], np.full(len(ug), -np.inf)],
        row_ub=np.r_[m.row_ub[keep], np.zeros(len(ug))],
    )
    raw = solve_model(
        m2, params, time_limit=deadline - time.perf_counter(), relax=True, cancel=cancel
    )
    return raw.objective if raw.status is Status.OPTIMAL else -math.inf


@dataclass(slots=True)
class _Primal:
    """The fixed-y LPs of the decomposition: the best plan so far ``(objective, solution,
    name of its warehouse set, columns)``, the first LP's duals, and the phase figures."""

    data: NetworkData
    cols: Columns
    params: AllocationParams
    targets: dict[str, float]
    deadline: float
    cancel: threading.Event | None
    say: PhaseReport
    stats: dict[str, Any]
    best: tuple[float, Solution, str, Columns] | None = None
    lp_duals: list[Any] = field(default_factory=list)

    def try_y(self, name: str, y: F, duals: bool = False) -> float:
        """Solve the flows for warehouse set ``y``; keep the plan if it is the cheapest.
        Returns the LP's seconds."""
        self.say(f"solving flows for the {name} warehouse set")
        sol, obj, secs, used = fixed_y_lp(
            self.data,
            self.cols,
            y,
            self.params,
            self.targets,
            self.deadline,
            self.cancel,
            duals_out=self.lp_duals if duals else None,
        )
        self.stats[f"fixed_y_{name}_s"] = secs
        self.stats[f"fixed_y_{name}_objective"] = obj
        if sol is not None and (
            self.best is None or obj < self.best[0] or self.best[0] == math.inf
        ):
            self.best = (obj, sol, name, used)
        return secs


def _lowered_notes(data: NetworkData, cols: Columns, targets: dict[str, float]) -> list[str]:
    """A note per on-time target lowered because no path meets the promise for the rest."""

    req = required_targets(data, cols)
    return [
        f"on-time target {k!r} lowered from {req[k]:.1f} to {v:.1f} units: "
        "no path meets the promise for the rest"
        for k, v in targets.items()
        if v < req.get(k, 0.0) * (1 - 1e-6) - 1e-6
    ]


def _flip_search(
    agg: Any,
    y0: F,
    primal: _Primal,
    params: AllocationParams,
    deadline: float,
    t0: float,
) -> int:
    """One-flip local search on the aggregate (proposals priced by the exact fixed-y LP) while
    half the time is left; returns the moves made."""
    y_cur = np.asarray(y0, float)
    p_cur = _proxy_cost(agg, y_cur, params)
    tried = {y_cur.astype(bool).tobytes()}
    moves = 0
    while deadline - time.perf_counter() > 0.5 * (deadline - t0) and moves < 10:
        ranked = flip_moves(agg, y_cur, params, tried, deadline)
        if not ranked or ranked[0][0] >= p_cur - 1e-9 * abs(p_cur):
            break
        p_new, y_new = ranked[0]
        tried.add(y_new.astype(bool).tobytes())
        moves += 1
        assert primal.best is not None
        before = primal.best[0]
        primal.try_y(f"flip{moves}", y_new)
        if primal.best[0] < before:
            y_cur, p_cur = y_new, p_new
        else:
            break
    return moves


def _family_bound(
    data: NetworkData,
    cols0: Columns,
    targets: dict[str, float],
    params: AllocationParams,
    deadline: float,
    n_families: int,
    lp_share: float,
    cancel: threading.Event | None,
    say: PhaseReport,
    stats: dict[str, Any],
) -> float:
    """The bound without duals: the min-reduced-cost family aggregate is a relaxation of the
    full model; its LP with many families, then its MIP with one and with a few families
    (small models that HiGHS stops on time), whichever is highest (each is valid)."""
    bound = -math.inf
    stages = [
        (n_families, True),
        (1, False),
        (max(2, n_families // 3), False),
        (n_families, False),
        (2 * n_families, False),
    ]
    for nf, as_lp in stages:
        left = deadline - time.perf_counter()
        if left < 2.0 or (cancel is not None and cancel.is_set()):
            break
        say(f"computing a lower bound ({nf} SKU families, {'LP' if as_lp else 'MIP'})")
        t3 = time.perf_counter()
        fam = sku_families(cols0, len(data.skus), nf)
        relax, info_b = aggregate_model(data, cols0, targets, family=fam, how="min")
        share = 1.0 if as_lp else lp_share
        rb = solve_model(
            relax,
            params.replace(relative_gap=min(params.relative_gap, 1e-4)),
            time_limit=max(0.5, share * left),
            relax=as_lp,
            cancel=cancel,
        )
        stats[f"bound_{nf}{'lp' if as_lp else 'mip'}_s"] = time.perf_counter() - t3
        b = rb.objective if (as_lp and rb.status is Status.OPTIMAL) else rb.bound
        if math.isfinite(b) and b + info_b["offset"] > bound:
            bound = b + info_b["offset"]
            stats["bound_from"] = f"{nf} families {'LP' if as_lp else 'MIP'}"
    return bound


def solve_decomposed(
    data: NetworkData,
    params: AllocationParams | None = None,
    *,
    columns: Columns | None = None,
    hint: Solution | None = None,
    deadline: float | None = None,
    cancel: threading.Event | None = None,
    on_phase: PhaseReport | None = None,
    max_inbound: int = 3,
    n_families: int = 12,
) -> AllocationResult:
    """Solve by aggregation + fixed-y LP + weak LP bound (module docstring).

    Parameters
    ----------
    data, params, columns, deadline, cancel, on_phase
        As for :func:`optimizer.allocation.solve_allocation`.
    hint
        The naive plan: its warehouse set is also tried with step 2, the cheaper plan wins.
    max_inbound
        Inbound columns kept per (SKU, warehouse).
    n_families
        SKU families of the bound's aggregate (more: tighter and slower).
    """

    params = params or AllocationParams()
    t0 = time.perf_counter()
    if deadline is None:
        deadline = t0 + params.time_limit_s
    say = on_phase or quiet
    cols0 = build_columns(data) if columns is None else columns
    if len(data.warehouses) == 0 or len(cols0.p_dem) == 0 or len(cols0.x_pair) == 0:
        # no warehouse decision or no demand: nothing to decompose (and the bound machinery
        # needs warehouse columns); the monolithic model is an LP here

        res = solve_allocation(
            data, params, columns=cols0, hint=hint, deadline=deadline, cancel=cancel
        )
        note = "decomposition skipped: no warehouse flow to decide; solved as one model"
        return replace(res, notes=(*res.notes, note))
    cols = restrict_inbound(cols0, max_inbound)
    targets = default_targets(data, cols)
    notes = [
        (
            f"decomposition: inbound options restricted to the {max_inbound} cheapest per "
            "(SKU, warehouse); warehouses chosen on a per-zone aggregate"
        ),
        *_lowered_notes(data, cols, targets),
    ]
    stats: dict[str, Any] = {f"cols_{k}": v for k, v in cols.stats.items()}
    # 1. aggregate MIP for y
    say("deciding warehouses on the aggregate model")
    t1 = time.perf_counter()
    agg, info = aggregate_model(data, cols, targets)
    stats.update(info)
    budget = deadline - time.perf_counter()
    raw = solve_model(
        agg,
        params.replace(relative_gap=max(params.relative_gap, 1e-4)),
        time_limit=max(1.0, 0.3 * budget),
        cancel=cancel,
    )
    stats["agg_s"] = time.perf_counter() - t1
    candidates = []
    if raw.values is not None:
        candidates.append(("aggregate", np.round(raw.values[: len(data.warehouses)])))
    if hint is not None:
        candidates.append(("naive", hint.y))
    # 2. fixed-y LP for the aggregate's warehouses
    primal = _Primal(data, cols, params, targets, deadline, cancel, say, stats)
    lp_s = 0.0
    for name, y in candidates[:1]:
        lp_s = primal.try_y(name, y, duals=True)
    # the aggregate with y fixed ranks warehouse sets well (its cost sits a near-constant
    # amount above the fixed-y LP's): the naive set is solved exactly only if the aggregate
    # does not rank it clearly worse, and when the aggregate MIP stopped early a one-flip
    # local search on the aggregate proposes sets for the exact LP
    if len(candidates) > 1 and raw.values is not None:
        p_agg = _proxy_cost(agg, candidates[0][1], params)
        p_naive = _proxy_cost(agg, np.asarray(candidates[1][1], float), params)
        stats["proxy_aggregate"], stats["proxy_naive"] = p_agg, p_naive
        if p_naive > p_agg + 0.002 * abs(p_agg):
            candidates = candidates[:1]
            stats["naive_skipped"] = True
    if raw.values is not None and raw.status is not Status.OPTIMAL and primal.best is not None:
        stats["flip_moves"] = _flip_search(agg, candidates[0][1], primal, params, deadline, t0)
    # 3. bound: the Lagrangian / capacitated rounds from the first LP's duals, else the
    # family aggregate's relaxations
    best = primal.best
    bound = -math.inf
    if primal.lp_duals and best is not None and math.isfinite(best[0]):
        say("computing a Lagrangian lower bound")
        m_fy, duals = primal.lp_duals[0]
        reserve = 1.2 * lp_s if len(candidates) > 1 else 0.0
        bound = bound_rounds(
            data,
            cols0,
            multipliers_from_duals(data, m_fy, duals),
            targets,
            best[0],
            deadline - reserve,
            params,
            y_start=best[1].y,
            say=say,
            stats=stats,
            t0=t0,
        )
    if not math.isfinite(bound):
        lp_share = 0.5 if len(candidates) > 1 else 0.9
        bound = _family_bound(
            data, cols0, targets, params, deadline, n_families, lp_share, cancel, say, stats
        )
    # 4. the naive plan's warehouses, if there is time for another LP
    for name, y in candidates[1:]:
        if deadline - time.perf_counter() > 1.2 * lp_s and not (cancel and cancel.is_set()):
            primal.try_y(name, y)
    stats["solve_s"] = time.perf_counter() - t0
    best = primal.best
    if best is None:
        return AllocationResult.no_solution(
            cols,
            bound=bound,
            runtime_s=time.perf_counter() - t0,
            stats=SolveStats.from_mapping(stats),
            notes=tuple(notes),
        )
    obj, sol, name, cols = best
    stats["y_from"] = name
    cost = cost_terms(data, cols, sol)
    obj = float(sum(cost.values()))
    gap_ok = math.isfinite(bound) and obj - bound <= params.relative_gap * abs(obj)
    return AllocationResult(
        status=Status.OPTIMAL if gap_ok else Status.FEASIBLE,
        objective=obj,
        bound=min(bound, obj),
        runtime_s=time.perf_counter() - t0,
        cost=cost,
        columns=cols,
        solution=sol,
        stats=SolveStats.from_mapping(stats),
        notes=tuple(notes),
    )


def bound_rounds(
    data: NetworkData,
    cols: Columns,
    mult: Multipliers,
    targets: dict[str, float],
    upper: float,
    end: float,
    params: AllocationParams,
    *,
    y_start: F,
    say: PhaseReport,
    stats: dict[str, Any],
    t0: float,
) -> float:
    """Steps 3 and 4 of the module docstring: a lower bound on the model of ``cols`` (all its
    columns: pruning would void it) from multipliers ``mult`` (the fixed-y LP's duals), by
    rounds of subgradient search and the capacitated bound until ``end`` or until the bound
    is within ``params.relative_gap`` of ``upper`` (the best plan's cost). ``-inf`` when no
    bound was found; ``stats`` gets the figures of each step."""
    # Lagrangian bound (optimizer.allocation.lagrange): multipliers from the fixed-y LP's
    # duals, then subgradient steps; each subproblem is a facility-location problem solved
    # exactly

    bound = -math.inf
    target = upper - params.relative_gap * abs(upper)
    lane_keys = capacitated_lane_keys(data, cols)
    # the capacitated bound needs throughput capacities; without them the subgradient
    # gets all the time
    thr = np.isfinite(np.asarray(data.wh_throughput_per_day, float))
    capacitated = bool((thr & data.wh_usable).any())

    def report(what: str, i: int, bb: float) -> None:
        # progress shows the best bound so far: a round's subgradient search starts below
        # the capacitated bound of the round before (its own iterate is in the text)
        say(f"{what}, iteration {i}: {bb:,.0f}", best=upper, bound=max(bound, bb))

    rounds = 0
    while rounds < MAX_BOUND_ROUNDS and bound < target and end - time.perf_counter() > 1.0:
        rounds += 1
        now = time.perf_counter()
        share = LAGRANGE_SHARE if capacitated else 1.0
        # without a time limit the subgradient gets twice the time spent so far
        sub_end = now + (share * (end - now) if math.isfinite(end) else max(5.0, 2.0 * (now - t0)))
        best_mult: list[Multipliers] = []
        b, info_l = lagrangian_search(
            data,
            cols,
            mult,
            targets,
            lane_keys,
            upper,
            sub_end,
            stop_gap=params.relative_gap,
            best_out=best_mult,
            on_iter=lambda i, _b, bb: report("Lagrangian bound", i, bb),
        )
        for k, v in info_l.items():
            if k.endswith(("_iterations", "_s")):
                stats[k] = stats.get(k, 0) + v
            else:
                stats.setdefault(k, v)
        if math.isfinite(b) and b > bound:
            bound = b
            stats["bound_from"] = "lagrangian"
        if not best_mult:
            break
        mult = best_mult[0]
        if not capacitated or bound >= target or end - time.perf_counter() <= 1.0:
            break
        # the gap left is the throughput rows' integrality: keep them, Benders on y
        say("tightening the bound with the throughput capacities kept")
        cb = capacity_bound(
            data,
            cols,
            mult,
            targets,
            end,
            target=target,
            y_start=y_start,
            on_iter=lambda i, bb: report("capacity bound", i, bb),
        )
        stats["capacity_rounds"] = rounds
        stats["capacity_iterations"] = stats.get("capacity_iterations", 0) + cb.iterations
        stats["capacity_s"] = stats.get("capacity_s", 0.0) + cb.seconds
        if cb.bound > stats.get("capacity_bound", -math.inf):
            stats["capacity_bound"] = cb.bound
            stats["capacity_cross_check"] = cb.cross_check
        if cb.bound > bound:
            bound = cb.bound
            stats["bound_from"] = "capacity"
    return bound
