"""The allocation MIP: stocking levels, sources and lanes under the delivery promise.

Problem data (from :class:`network.compile.NetworkData`)
--------------------------------------------------------
SKUs k, zones z, warehouses w, origins o; demand ``D[k,z]`` units over a horizon of ``H``
days; inbound options r (Pareto paths origin → warehouse w, lead time ``L_r`` days = hours/24
including origin handling), outbound options s (warehouse → zone, hours include warehouse
processing), direct options d (origin → zone, hours include origin handling). Per-unit lane
costs come from ``PathOptions.unit_cost`` (DESIGN §3) and are split into lane cost and duty.

Decision variables (column blocks, in this order)
-------------------------------------------------
- ``y[w] ∈ {0,1}``: use warehouse w (fixed 1 for ``open``, 0 for ``closed``);
- ``x[k,z,w,s] ≥ 0``: units of k for z served from w via outbound option s;
- ``q[k,z,d] ≥ 0``: units of k for z sent direct via option d;
- ``u[k,z] ≥ 0``: lost units;
- ``f[k,w,r] ≥ 0``: units of k replenished into w via inbound option r over the horizon;
- ``S[k,w] ∈ ℤ≥0``: stocking level (order-up-to level), modelled only at warehouses with a
  finite ``storage_m3`` (elsewhere nothing but the stock rule constrains it, so it is set to
  the smallest integer meeting that rule after the solve).

Objective (minimise)
--------------------
``Σ fixed_w y_w + Σ f·(lane + duty + holding_r) + Σ x·(lane + duty + handling_w)
+ Σ q·(lane + duty) + late_penalty·(late x + late q) + lost_penalty·Σ u``, where the holding
cost of one replenished unit through option r is

``h_k·L_r  +  h_on[k,w]·(R/2 + z·cv_k·√(L_r + R))``

(pipeline stock ``(f/H)·L_r`` at the SKU's capital rate ``h_k`` for ``H`` days, plus average
on-hand stock ``(f/H)·R/2 + safety`` at ``h_on = holding_cost_per_m3_day_w·v_k + h_k``;
safety stock ``z·cv_k·(f/H)·√(L_r + R)``). Pipeline stock is charged at the capital rate only
(it is not in the warehouse); on-hand stock pays both the space and the capital.

Constraints (one comment per block in :func:`build_allocation_model`)
---------------------------------------------------------------------
1. demand: ``Σ x + Σ q + u = D[k,z]``;
2. flow balance: ``Σ_r f[k,w,r] = Σ_{z,s} x[k,z,w,s]``;
3. stocking level: ``S[k,w] ≥ Σ_r f[k,w,r]·((L_r + R) + z·cv_k·√(L_r + R)) / H``
   (conservative: no risk pooling across inbound options);
4. storage ``Σ_k v_k S[k,w] ≤ storage_w·y_w``; throughput ``Σ x[·,·,w,·] ≤ H·throughput_w·y_w``;
   strong linking ``Σ_s x[k,z,w,s] ≤ D[k,z]·y_w`` (per warehouse and demand pair);
5. lane capacities: for each lane and each of kg, m³, units per day that it limits,
   ``Σ (units·weight | units·volume | units) over every option using it ≤ H·capacity``;
6. service: ``Σ on-time x + Σ on-time q ≥ min_on_time_share·Σ D`` and per country
   (``service.min_on_time_share_by_country``); an option is on time when its hours are
   ``≤ promise_hours``. Late units pay ``late_penalty_per_unit``.

Option pruning (exact)
----------------------
Only an option's cost, its on-time flag (outbound/direct) or its stock coefficient (inbound, at
finite-storage warehouses) and its capacitated lanes matter to the model. Within a group
(same demand pair and warehouse for outbound; same pair for direct; same SKU and warehouse for
inbound) an option is dropped when another option that uses *no capacitated lane* is at least as
good in every one of these criteria. This keeps at most two outbound options per
(pair, warehouse) on uncapacitated networks and never changes the optimum.

Solving (:func:`solve_allocation`)
----------------------------------
Stocking levels carry no cost, so the MIP is solved with them continuous (a relaxation whose
bound is valid for the integer model) and they are rounded up afterwards; only if rounding
overflows a warehouse's storage are the flows re-solved on the same warehouses (an LP) with
storage tightened by one unit of every SKU stocked there. This left ``y`` as the only
binaries and took ``eu-small`` from no incumbent in 60 s to optimal in seconds. A feasible
warm start is given to HiGHS as an objective cutoff (OR-Tools 9.15 crashes on HiGHS solution
hints) and to SCIP / CP-SAT as a hint. When the on-time shares cannot be met the targets are
lowered to what paths (and, if the solver reports infeasibility, capacities) allow, and the
plan says so. HiGHS does not always stop a very large root solve at its time limit; the
planner therefore sends large models to :mod:`optimizer.decompose`. A MIP of at least
``INCUMBENT_MIN_VARS`` columns solved here without a feasible warm start first gets an
incumbent from :func:`lagrangian_incumbent`: the demand rows are relaxed with Lagrange
multipliers (a continuous knapsack per warehouse on its throughput, a capacity cover on the
warehouse set; :func:`optimizer.lagrange.demand_relaxation`, Beasley 1988), which gives a lower
bound ``base + a·y`` for every warehouse set; sets are then priced exactly (fixed-y solve) in
increasing order of that bound, and when the next set's bound exceeds the best plan the plan
is optimal and returned without the MIP. Otherwise the best plan is HiGHS's cutoff and the
bound reported is the better of HiGHS's and the enumeration's. On OR-Library
capa-8000/capb-5000/capc-5000 (101k columns, a root LP HiGHS does not finish in 120 s) this
took the plans from 0.6-1.2 % above the published optima (greedy + local search, still used
when the dense ``pairs × warehouses`` Lagrangian would exceed ``LAGRANGE_MAX_CELLS``) to the
published optima (capb-5000 proven in 14 s; see benchmarks/README.md). When the model with
``y`` fixed is a transportation problem (one SKU; no storage, lane or on-time rows) warehouse
sets are priced as min-cost flows (:class:`optimizer.transport.TransportPricer`, ~20-30 ms
instead of ~0.6 s on capb), which pays for a best-improvement close / open / swap search over
the whole neighbourhood: capb-6000 and capb-7000, 0.05 % and 0.7-1.2 % above their optima with
a shortlist search, reach them.

Simplifications of v1: ``transfer`` lanes (warehouse → warehouse) are ignored; flows are
continuous units; only stocking levels are integer.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from network.compile import NetworkData, PathOptions, SkuData
from optimizer.exceptions import InvalidNetworkError, SolverError
from optimizer.params import AllocationParams
from optimizer.result import AllocationResult, Solution, Status

if TYPE_CHECKING:
    from optimizer.transport import TransportPricer

__all__ = [
    "COST_TERMS",
    "AllocationModel",
    "Columns",
    "build_allocation_model",
    "build_columns",
    "cost_terms",
    "solution_from_values",
    "hint_feasible",
    "solve_allocation",
    "solve_lp_duals",
    "solve_model",
]

log = logging.getLogger(__name__)

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

COST_TERMS = ("fixed", "inbound", "duty", "holding", "handling", "outbound", "direct",
              "late_penalty", "lost_sale_penalty")
TOL = 1e-9


# ---------------------------------------------------------------------------------------------
# columns
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Columns:
    """The model's column blocks as index and cost arrays (no solver objects).

    ``p_*`` are the demand pairs (positive demand only); ``x_*`` outbound columns, ``q_*``
    direct columns, ``f_*`` inbound columns, ``kw_*`` the (SKU, warehouse) pairs that can
    hold stock (one balance row and one stocking level each). ``*_sku`` are indices into
    ``NetworkData.skus``; ``*_opt`` into the option arrays of the matching ``PathOptions``.
    Costs are per unit: ``*_lane`` lane cost without duty, ``*_duty`` duty, ``x_handling``,
    ``f_hold`` holding (pipeline + on-hand), ``f_coef`` stocking-level units per replenished
    unit. ``stats`` records option counts before and after pruning.
    """

    p_sku: I
    p_zone: I
    p_dem: F
    x_pair: I
    x_opt: I
    x_wh: I
    x_kw: I
    x_lane: F
    x_duty: F
    x_handling: F
    x_hours: F
    x_ontime: B
    q_pair: I
    q_opt: I
    q_src: I
    q_lane: F
    q_duty: F
    q_hours: F
    q_ontime: B
    f_sku: I
    f_wh: I
    f_opt: I
    f_src: I
    f_kw: I
    f_lane: F
    f_duty: F
    f_hold: F
    f_coef: F
    f_hours: F
    kw_sku: I
    kw_wh: I
    late_penalty: float
    lost_penalty: float
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def sizes(self) -> dict[str, int]:
        """Column counts per block."""
        return {"pairs": len(self.p_dem), "x": len(self.x_pair), "q": len(self.q_pair),
                "f": len(self.f_sku), "kw": len(self.kw_sku)}

    def x_cost(self) -> F:
        """Objective coefficient of each outbound column."""
        return self.x_lane + self.x_duty + self.x_handling + self.late_penalty * ~self.x_ontime

    def q_cost(self) -> F:
        """Objective coefficient of each direct column."""
        return self.q_lane + self.q_duty + self.late_penalty * ~self.q_ontime

    def f_cost(self) -> F:
        """Objective coefficient of each inbound column."""
        return self.f_lane + self.f_duty + self.f_hold


def _expand(counts: I) -> tuple[I, I]:
    """For ``counts`` per parent: the parent of each child and the child's rank within it."""
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(int(counts.sum())) - np.repeat(starts, counts)
    return parent, rank


def _by_key(keys: I, n_keys: int) -> tuple[I, I]:
    """CSR grouping: ``order`` sorts items by key, ``ptr[k]:ptr[k+1]`` are key k's items."""
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n_keys + 1, dtype=np.int64)
    np.add.at(ptr, keys + 1, 1)
    return order, np.cumsum(ptr)


def _capped_options(opts: PathOptions, capped_lane: B) -> B:
    """Options that use at least one lane with a finite capacity."""
    if len(opts) == 0:
        return np.zeros(0, dtype=bool)
    hit = capped_lane[opts.lane_idx].astype(np.int64) if len(opts.lane_idx) else np.zeros(0, np.int64)
    counts = np.diff(opts.lane_ptr)
    per = np.zeros(len(opts), dtype=np.int64)
    if len(hit):
        np.add.at(per, np.repeat(np.arange(len(opts)), counts), hit)
    return per > 0


def _dense_group(*keys: I) -> I:
    """A dense group id for each row of the given key columns."""
    if len(keys[0]) == 0:
        return np.zeros(0, dtype=np.int64)
    stacked = np.stack(keys, axis=1)
    _, inv = np.unique(stacked, axis=0, return_inverse=True)
    return inv.ravel().astype(np.int64)


def _keep_cost_late(group: I, cost: F, late: B, capped: B) -> B:
    """Prune in (cost, late) within groups: see the module docstring."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=bool)
    ng = int(group.max()) + 1
    free = ~capped
    keep = np.zeros(n, dtype=bool)
    mins = []
    for sel in (free & ~late, free):  # best free on-time option, best free option
        idx = np.flatnonzero(sel)
        order = idx[np.lexsort((idx, cost[idx], group[idx]))]
        first = np.r_[True, group[order][1:] != group[order][:-1]] if len(order) else np.zeros(0, bool)
        keep[order[first]] = True
        m = np.full(ng, np.inf)
        np.minimum.at(m, group[idx], cost[idx])
        mins.append(m)
    min_on, min_any = mins
    # a capped option survives only if strictly cheaper than the free option dominating it
    ref = np.where(late, min_any[group], min_on[group])
    keep |= capped & (cost < ref - TOL)
    return keep


def _keep_cost_coef(group: I, cost: F, coef: F, capped: B) -> B:
    """Prune in (cost, stock coefficient) within groups (2-D Pareto, free dominators only)."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((capped, coef, cost, group))
    g = group[order]
    c = coef[order]
    span = float(c.max() - c.min()) + 1.0
    shifted = (c - c.min()) / span - g.astype(np.float64)  # later groups are always smaller
    free_vals = np.where(~capped[order], shifted, np.inf)
    run = np.minimum.accumulate(free_vals)
    prev = np.r_[np.inf, run[:-1]]
    k_sorted = shifted < prev - 1e-12
    keep = np.zeros(n, dtype=bool)
    keep[order] = k_sorted
    return keep


def _split_cost(opts: PathOptions, sk: SkuData) -> tuple[F, F]:
    """Per-unit (lane cost without duty, duty) of every option for every SKU given."""
    full = opts.unit_cost(sk)
    no_duty = SkuData(sk.weight_kg, sk.volume_m3, np.zeros_like(sk.value), sk.demand_cv,
                      sk.holding_per_unit_day, sk.own_duty)
    lane = opts.unit_cost(no_duty)
    return lane, np.maximum(full - lane, 0.0)


def build_columns(data: NetworkData, *, prune: bool = True) -> Columns:
    """Generate (and prune) the model's columns from compiled network data.

    Parameters
    ----------
    data
        The compiled network.
    prune
        Drop dominated options (exact; see the module docstring). ``False`` keeps every
        option, for tests and measurements.
    """
    svc = data.service
    H = float(data.horizon_days)
    R = float(svc.review_period_days)
    zf = float(svc.safety_z)
    promise = float(svc.promise_hours)
    W = len(data.warehouses)
    stats: dict[str, int] = {}

    pos = data.dem_units > 0
    p_sku = data.dem_sku[pos].astype(np.int64)
    p_zone = data.dem_zone[pos].astype(np.int64)
    p_dem = data.dem_units[pos].astype(np.float64)
    ks, p_k = np.unique(p_sku, return_inverse=True)
    p_k = p_k.astype(np.int64)
    K = len(ks)
    sk = data.sku.take(ks)
    usable = np.array([s != "closed" for s in data.wh_status], dtype=bool)
    capped_lane = ~(np.isinf(data.lane_cap_kg) & np.isinf(data.lane_cap_m3)
                    & np.isinf(data.lane_cap_units))
    finite_storage = np.isfinite(data.wh_storage_m3)

    # -- inbound columns: every usable inbound option × every SKU with demand ---------------
    inb = data.inbound
    in_idx = np.flatnonzero(usable[inb.dst]) if len(inb) else np.zeros(0, np.int64)
    if K and len(in_idx):
        lane_in, duty_in = _split_cost(inb, sk)
        f_opt = np.repeat(in_idx, K)
        f_k = np.tile(np.arange(K), len(in_idx))
        f_lane = lane_in[f_opt, f_k]
        f_duty = duty_in[f_opt, f_k]
    else:
        f_opt = f_k = np.zeros(0, np.int64)
        f_lane = f_duty = np.zeros(0)
    f_wh = inb.dst[f_opt].astype(np.int64) if len(f_opt) else np.zeros(0, np.int64)
    f_hours = inb.hours[f_opt] if len(f_opt) else np.zeros(0)
    L = f_hours / 24.0
    hk = sk.holding_per_unit_day[f_k]
    cv = sk.demand_cv[f_k]
    h_on = data.wh_holding_per_m3_day[f_wh] * sk.volume_m3[f_k] + hk
    sq = np.sqrt(L + R)
    f_hold = hk * L + h_on * (R / 2.0 + zf * cv * sq)
    f_coef = ((L + R) + zf * cv * sq) / H
    stats["f_all"] = len(f_opt)
    if prune and len(f_opt):
        capped_in = _capped_options(inb, capped_lane)[f_opt]
        coef_for_prune = np.where(finite_storage[f_wh], f_coef, 0.0)
        keep = _keep_cost_coef(f_k * W + f_wh, f_lane + f_duty + f_hold, coef_for_prune,
                               capped_in)
        f_opt, f_k, f_wh, f_lane, f_duty, f_hold, f_coef, f_hours = (
            a[keep] for a in (f_opt, f_k, f_wh, f_lane, f_duty, f_hold, f_coef, f_hours))
    has_f = np.zeros((K, W), dtype=bool)
    has_f[f_k, f_wh] = True

    # -- outbound columns: per demand pair, options into its zone from stockable warehouses -
    outb = data.outbound
    n_z = len(data.zones)
    if len(outb) and len(p_k):
        o_ok = usable[outb.src]
        o_sel = np.flatnonzero(o_ok)
        order, ptr = _by_key(outb.dst[o_sel].astype(np.int64), n_z)
        counts = ptr[p_zone + 1] - ptr[p_zone]
        x_pair, rank = _expand(counts)
        x_opt = o_sel[order[ptr[p_zone][x_pair] + rank]]
        x_wh = outb.src[x_opt].astype(np.int64)
        ok = has_f[p_k[x_pair], x_wh]
        x_pair, x_opt, x_wh = x_pair[ok], x_opt[ok], x_wh[ok]
        lane_out, duty_out = _split_cost(outb, sk)
        x_lane = lane_out[x_opt, p_k[x_pair]]
        x_duty = duty_out[x_opt, p_k[x_pair]]
    else:
        x_pair = x_opt = x_wh = np.zeros(0, np.int64)
        x_lane = x_duty = np.zeros(0)
    x_handling = data.wh_handling_per_unit[x_wh]
    x_hours = outb.hours[x_opt] if len(x_opt) else np.zeros(0)
    x_ontime = x_hours <= promise + TOL
    stats["x_all"] = len(x_pair)
    if prune and len(x_pair):
        capped_out = _capped_options(outb, capped_lane)[x_opt]
        keep = _keep_cost_late(_dense_group(x_pair, x_wh), x_lane + x_duty + x_handling,
                               ~x_ontime, capped_out)
        x_pair, x_opt, x_wh, x_lane, x_duty, x_handling, x_hours, x_ontime = (
            a[keep] for a in (x_pair, x_opt, x_wh, x_lane, x_duty, x_handling, x_hours,
                              x_ontime))

    # -- direct columns ----------------------------------------------------------------------
    dr = data.direct
    if len(dr) and len(p_k):
        order, ptr = _by_key(dr.dst.astype(np.int64), n_z)
        counts = ptr[p_zone + 1] - ptr[p_zone]
        q_pair, rank = _expand(counts)
        q_opt = order[ptr[p_zone][q_pair] + rank]
        lane_d, duty_d = _split_cost(dr, sk)
        q_lane = lane_d[q_opt, p_k[q_pair]]
        q_duty = duty_d[q_opt, p_k[q_pair]]
    else:
        q_pair = q_opt = np.zeros(0, np.int64)
        q_lane = q_duty = np.zeros(0)
    q_hours = dr.hours[q_opt] if len(q_opt) else np.zeros(0)
    q_ontime = q_hours <= promise + TOL
    stats["q_all"] = len(q_pair)
    if prune and len(q_pair):
        capped_d = _capped_options(dr, capped_lane)[q_opt]
        keep = _keep_cost_late(q_pair, q_lane + q_duty, ~q_ontime, capped_d)
        q_pair, q_opt, q_lane, q_duty, q_hours, q_ontime = (
            a[keep] for a in (q_pair, q_opt, q_lane, q_duty, q_hours, q_ontime))
    q_src = dr.src[q_opt].astype(np.int64) if len(q_opt) else np.zeros(0, np.int64)

    # -- (SKU, warehouse) pairs that actually serve something; drop idle inbound columns -----
    used = np.zeros((K, W), dtype=bool)
    used[p_k[x_pair], x_wh] = True
    keep_f = used[f_k, f_wh]
    f_opt, f_k, f_wh, f_lane, f_duty, f_hold, f_coef, f_hours = (
        a[keep_f] for a in (f_opt, f_k, f_wh, f_lane, f_duty, f_hold, f_coef, f_hours))
    kw_flat = np.unique(f_k * W + f_wh)
    kw_k = kw_flat // W
    kw_wh = kw_flat % W
    f_kw = np.searchsorted(kw_flat, f_k * W + f_wh).astype(np.int64)
    x_kw = np.searchsorted(kw_flat, p_k[x_pair] * W + x_wh).astype(np.int64)

    stats.update({"f": len(f_opt), "x": len(x_pair), "q": len(q_pair), "pairs": len(p_dem),
                  "kw": len(kw_flat), "skus": K})
    return Columns(
        p_sku=p_sku, p_zone=p_zone, p_dem=p_dem,
        x_pair=x_pair.astype(np.int64), x_opt=x_opt.astype(np.int64), x_wh=x_wh, x_kw=x_kw,
        x_lane=x_lane, x_duty=x_duty, x_handling=x_handling, x_hours=x_hours, x_ontime=x_ontime,
        q_pair=q_pair.astype(np.int64), q_opt=q_opt.astype(np.int64), q_src=q_src,
        q_lane=q_lane, q_duty=q_duty, q_hours=q_hours, q_ontime=q_ontime,
        f_sku=ks[f_k].astype(np.int64), f_wh=f_wh, f_opt=f_opt.astype(np.int64),
        f_src=inb.src[f_opt].astype(np.int64) if len(f_opt) else np.zeros(0, np.int64),
        f_kw=f_kw, f_lane=f_lane, f_duty=f_duty, f_hold=f_hold, f_coef=f_coef, f_hours=f_hours,
        kw_sku=ks[kw_k].astype(np.int64), kw_wh=kw_wh.astype(np.int64),
        late_penalty=float(svc.late_penalty_per_unit),
        lost_penalty=float(svc.lost_sale_penalty_per_unit),
        stats=stats,
    )


# ---------------------------------------------------------------------------------------------
# model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllocationModel:
    """The MIP in matrix form: ``min c·v  s.t.  row_lb ≤ A v ≤ row_ub,  lb ≤ v ≤ ub``.

    ``off`` maps block name (``y x q u f S``) to its first column; ``s_kw`` lists the
    (SKU, warehouse) pair of each modelled stocking level; ``rows`` maps row-block name to its
    ``(start, stop)``; ``targets`` the on-time unit targets used (``"all"`` and countries).
    """

    columns: Columns
    c: F
    lb: F
    ub: F
    integer: I
    A: sp.csr_matrix
    row_lb: F
    row_ub: F
    off: dict[str, int]
    s_kw: I
    rows: dict[str, tuple[int, int]]
    targets: dict[str, float]
    build_seconds: float
    lane_keys: I = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_vars(self) -> int:
        """Number of columns."""
        return len(self.c)

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return self.A.shape[0]


def _lane_rows(
    data: NetworkData, opts: PathOptions, col_opt: I, col_sku: I, col0: int
) -> tuple[list[I], list[I], list[F]]:
    """Entries ``(lane-dimension key, column, coefficient)`` for capacitated lanes."""
    if len(col_opt) == 0 or len(opts.lane_idx) == 0:
        return [], [], []
    counts = np.diff(opts.lane_ptr)[col_opt]
    parent, rank = _expand(counts)
    lane = opts.lane_idx[opts.lane_ptr[col_opt][parent] + rank]
    keys, cols, vals = [], [], []
    for d, cap, attr in ((0, data.lane_cap_kg, data.sku.weight_kg),
                         (1, data.lane_cap_m3, data.sku.volume_m3),
                         (2, data.lane_cap_units, None)):
        hit = np.isfinite(cap[lane])
        if not hit.any():
            continue
        par = parent[hit]
        keys.append(lane[hit] * 3 + d)
        cols.append(col0 + par)
        vals.append(np.ones(len(par)) if attr is None else attr[col_sku[par]].astype(float))
    return keys, cols, vals


def build_allocation_model(
    data: NetworkData,
    params: AllocationParams | None = None,
    *,
    columns: Columns | None = None,
    y_fixed: F | None = None,
    targets: dict[str, float] | None = None,
    integer_stock: bool = True,
    storage_margin: bool = False,
) -> AllocationModel:
    """Build the MIP of the module docstring as sparse arrays (vectorised, no solver yet).

    Parameters
    ----------
    data
        The compiled network.
    params
        Solver parameters (unused by the build itself; kept for the signature).
    columns
        Pre-built columns (default: :func:`build_columns` with pruning).
    y_fixed
        Fix warehouse use to these 0/1 values (the rest of the model then has no binaries).
    targets
        On-time unit targets to use instead of the service shares (``"all"`` and per country);
        used when the shares cannot be met.
    integer_stock
        Keep stocking levels integer (``False``: continuous, a relaxation; stocking levels have
        no cost, so rounding them up afterwards changes only storage use).
    storage_margin
        Tighten each storage row by one unit of every SKU that may be stocked there, so that
        rounding continuous stocking levels up cannot overflow storage (a restriction).
    """
    del params
    t0 = time.perf_counter()
    cols = build_columns(data) if columns is None else columns
    W = len(data.warehouses)
    H = float(data.horizon_days)
    P = len(cols.p_dem)
    nx_, nq, nf, nkw = len(cols.x_pair), len(cols.q_pair), len(cols.f_sku), len(cols.kw_sku)
    s_mask = np.isfinite(data.wh_storage_m3)[cols.kw_wh]
    s_kw = np.flatnonzero(s_mask).astype(np.int64)
    ns = len(s_kw)
    off = {"y": 0, "x": W, "q": W + nx_, "u": W + nx_ + nq, "f": W + nx_ + nq + P,
           "S": W + nx_ + nq + P + nf}
    n = off["S"] + ns

    # bounds and costs
    status = np.array(data.wh_status)
    y_lb = (status == "open").astype(float)
    y_ub = (status != "closed").astype(float)
    if y_fixed is not None:
        yf = np.asarray(y_fixed, dtype=float)
        if yf.shape != (W,):
            raise InvalidNetworkError(f"y_fixed has shape {yf.shape}, expected ({W},)")
        y_lb = y_ub = np.clip(np.round(yf), y_lb, y_ub)
    kw_dem = np.zeros(nkw)
    np.add.at(kw_dem, cols.x_kw, cols.p_dem[cols.x_pair])
    s_ub = np.ceil(kw_dem[s_kw] * (np.bincount(cols.f_kw, weights=cols.f_coef, minlength=nkw)
                                   [s_kw] + 1.0)) + 1.0
    f_ub = kw_dem[cols.f_kw]
    c = np.concatenate([data.wh_fixed_cost, cols.x_cost(), cols.q_cost(),
                        np.full(P, cols.lost_penalty), cols.f_cost(), np.zeros(ns)])
    lb = np.concatenate([y_lb, np.zeros(n - W)])
    ub = np.concatenate([y_ub, cols.p_dem[cols.x_pair], cols.p_dem[cols.q_pair], cols.p_dem,
                         f_ub, s_ub])
    # warehouses that cannot be used (closed, or fixed to 0): their flows are fixed to 0
    shut = y_ub == 0
    ub[off["x"]:off["x"] + nx_][shut[cols.x_wh]] = 0.0
    ub[off["f"]:off["f"] + nf][shut[cols.f_wh]] = 0.0
    integer = np.concatenate([np.flatnonzero(y_lb < y_ub),
                              off["S"] + np.arange(ns if integer_stock else 0)]).astype(np.int64)

    rr: list[I] = []
    cc: list[I] = []
    vv: list[F] = []
    rlb: list[F] = []
    rub: list[F] = []
    rows: dict[str, tuple[int, int]] = {}
    nrow = 0

    def block(name: str, r: I, col: I, val: F, lo: F, hi: F) -> None:
        nonlocal nrow
        rr.append(nrow + r)
        cc.append(col)
        vv.append(val)
        rlb.append(lo)
        rub.append(hi)
        rows[name] = (nrow, nrow + len(lo))
        nrow += len(lo)

    xs = off["x"] + np.arange(nx_)
    qs = off["q"] + np.arange(nq)
    fs = off["f"] + np.arange(nf)
    # 1. demand: Σx + Σq + u = D
    block("demand", np.concatenate([cols.x_pair, cols.q_pair, np.arange(P)]),
          np.concatenate([xs, qs, off["u"] + np.arange(P)]), np.ones(nx_ + nq + P),
          cols.p_dem, cols.p_dem)
    # 2. flow balance: Σf - Σx = 0 per (SKU, warehouse)
    block("balance", np.concatenate([cols.f_kw, cols.x_kw]), np.concatenate([fs, xs]),
          np.concatenate([np.ones(nf), -np.ones(nx_)]), np.zeros(nkw), np.zeros(nkw))
    # 3. stocking level: Σ coef·f - S ≤ 0 (finite-storage warehouses only)
    s_row = np.full(nkw, -1, dtype=np.int64)
    s_row[s_kw] = np.arange(ns)
    fsel = s_row[cols.f_kw] >= 0
    block("stock", np.concatenate([s_row[cols.f_kw][fsel], np.arange(ns)]),
          np.concatenate([fs[fsel], off["S"] + np.arange(ns)]),
          np.concatenate([cols.f_coef[fsel], -np.ones(ns)]), np.full(ns, -np.inf), np.zeros(ns))
    # 4a. storage: Σ v·S - storage·y ≤ 0
    st_w = np.flatnonzero(np.isfinite(data.wh_storage_m3) & (y_ub > 0))
    st_row = np.full(W, -1, dtype=np.int64)
    st_row[st_w] = np.arange(len(st_w))
    s_w = cols.kw_wh[s_kw]
    margin = np.zeros(len(st_w))
    if storage_margin:
        per_w = np.zeros(W)
        np.add.at(per_w, s_w, data.sku.volume_m3[cols.kw_sku[s_kw]])
        margin = per_w[st_w]
    # the margin multiplies y so that an unused warehouse stays feasible
    block("storage", np.concatenate([st_row[s_w], np.arange(len(st_w))]),
          np.concatenate([off["S"] + np.arange(ns), st_w]),
          np.concatenate([data.sku.volume_m3[cols.kw_sku[s_kw]],
                          -(data.wh_storage_m3[st_w] - margin)]),
          np.full(len(st_w), -np.inf), np.zeros(len(st_w)))
    # 4b. throughput: Σx - H·throughput·y ≤ 0
    tp_w = np.flatnonzero(np.isfinite(data.wh_throughput_per_day) & (y_ub > 0))
    tp_row = np.full(W, -1, dtype=np.int64)
    tp_row[tp_w] = np.arange(len(tp_w))
    xsel = tp_row[cols.x_wh] >= 0
    block("throughput", np.concatenate([tp_row[cols.x_wh][xsel], np.arange(len(tp_w))]),
          np.concatenate([xs[xsel], tp_w]),
          np.concatenate([np.ones(int(xsel.sum())), -H * data.wh_throughput_per_day[tp_w]]),
          np.full(len(tp_w), -np.inf), np.zeros(len(tp_w)))
    # 4c. strong linking: Σ_s x[p,w,s] - D_p·y_w ≤ 0 where y is not fixed
    free_y = y_lb < y_ub
    xl = free_y[cols.x_wh]
    if xl.any():
        g = _dense_group(cols.x_pair[xl], cols.x_wh[xl])
        ng = int(g.max()) + 1
        gp = np.zeros(ng, dtype=np.int64)
        gw = np.zeros(ng, dtype=np.int64)
        gp[g] = cols.x_pair[xl]
        gw[g] = cols.x_wh[xl]
        block("link", np.concatenate([g, np.arange(ng)]), np.concatenate([xs[xl], gw]),
              np.concatenate([np.ones(len(g)), -cols.p_dem[gp]]), np.full(ng, -np.inf),
              np.zeros(ng))
    # 5. lane capacities (kg, m³, units per day × H)
    keys, lcols, lvals = [], [], []
    for opts, col_opt, col_sku, col0 in (
        (data.outbound, cols.x_opt, cols.p_sku[cols.x_pair], off["x"]),
        (data.direct, cols.q_opt, cols.p_sku[cols.q_pair], off["q"]),
        (data.inbound, cols.f_opt, cols.f_sku, off["f"]),
    ):
        k_, c_, v_ = _lane_rows(data, opts, col_opt, col_sku, col0)
        keys += k_
        lcols += c_
        lvals += v_
    if keys:
        kk = np.concatenate(keys)
        uk, inv = np.unique(kk, return_inverse=True)
        caps = np.stack([data.lane_cap_kg, data.lane_cap_m3, data.lane_cap_units], axis=1)
        cap = caps[uk // 3, uk % 3] * H
        block("lanes", inv.ravel(), np.concatenate(lcols), np.concatenate(lvals),
              np.full(len(uk), -np.inf), cap)
    else:
        uk = np.zeros(0, dtype=np.int64)
    # 6. service: on-time units ≥ target (overall, then per country)
    tg = dict(targets) if targets is not None else default_targets(data, cols)
    on_x = np.flatnonzero(cols.x_ontime)
    on_q = np.flatnonzero(cols.q_ontime)
    zc = np.array(data.zone_country + ("",))
    names = ["all"] + [k for k in tg if k != "all"]
    r_list, c_list = [], []
    lo = []
    for i, name in enumerate(names):
        if name == "all":
            mx = np.ones(len(on_x), bool)
            mq = np.ones(len(on_q), bool)
        else:
            mx = zc[cols.p_zone[cols.x_pair[on_x]]] == name
            mq = zc[cols.p_zone[cols.q_pair[on_q]]] == name
        r_list.append(np.full(int(mx.sum() + mq.sum()), i))
        c_list.append(np.concatenate([xs[on_x[mx]], qs[on_q[mq]]]))
        lo.append(tg.get(name, 0.0))
    block("ontime", np.concatenate(r_list), np.concatenate(c_list),
          np.ones(sum(len(r) for r in r_list)), np.array(lo, float),
          np.full(len(names), np.inf))

    A = sp.csr_matrix((np.concatenate(vv), (np.concatenate(rr), np.concatenate(cc))),
                      shape=(nrow, n))
    A.sum_duplicates()
    model = AllocationModel(
        columns=cols, c=c, lb=lb, ub=ub, integer=integer, A=A,
        row_lb=np.concatenate(rlb), row_ub=np.concatenate(rub), off=off, s_kw=s_kw, rows=rows,
        targets={n_: tg.get(n_, 0.0) for n_ in names}, build_seconds=time.perf_counter() - t0,
        lane_keys=uk.astype(np.int64),
    )
    return model


def default_targets(data: NetworkData, cols: Columns) -> dict[str, float]:
    """On-time unit targets from the service shares, capped at what any path can reach.

    Without capacities a pair with an on-time option can be served fully on time; demand of
    pairs with none can never be. Capping here keeps the model feasible when the promise
    cannot be met (the plan then reports the shortfall).
    """
    svc = data.service
    ok = np.zeros(len(cols.p_dem), dtype=bool)
    ok[cols.x_pair[cols.x_ontime]] = True
    ok[cols.q_pair[cols.q_ontime]] = True
    reach = cols.p_dem * ok
    tg = {"all": min(svc.min_on_time_share * cols.p_dem.sum(), reach.sum())}
    zc = np.array(data.zone_country)
    for c_, share in svc.min_on_time_share_by_country.items():
        m = zc[cols.p_zone] == c_ if len(cols.p_zone) else np.zeros(0, bool)
        tg[c_] = min(share * cols.p_dem[m].sum(), reach[m].sum())
    # a hair of slack so that the floating-point sum of columns can meet it exactly
    return {k: max(0.0, v * (1 - 1e-9) - 1e-7) for k, v in tg.items()}


def required_targets(data: NetworkData, cols: Columns) -> dict[str, float]:
    """The unit targets the service shares ask for (not capped)."""
    svc = data.service
    tg = {"all": svc.min_on_time_share * float(cols.p_dem.sum())}
    zc = np.array(data.zone_country)
    for c_, share in svc.min_on_time_share_by_country.items():
        m = zc[cols.p_zone] == c_ if len(cols.p_zone) else np.zeros(0, bool)
        tg[c_] = share * float(cols.p_dem[m].sum())
    return tg


# ---------------------------------------------------------------------------------------------
# solving
# ---------------------------------------------------------------------------------------------


def _solver_params(params: AllocationParams, *, lp: bool) -> tuple[str, str]:
    if params.solver == "highs" or lp:
        lines = ["output_flag=false", f"mip_rel_gap={params.relative_gap}",
                 f"random_seed={params.seed}"]
        if params.threads is not None:
            lines.append(f"threads={params.threads}")
        return "highs", "\n".join(lines)
    if params.solver == "scip":
        return "scip", (f"limits/gap = {params.relative_gap}\n"
                        f"randomization/randomseedshift = {params.seed}\n")
    parts = [f"relative_gap_limit:{params.relative_gap}", f"random_seed:{params.seed}"]
    if params.threads is not None:
        parts.append(f"num_workers:{params.threads}")
    return "cp_sat", ", ".join(parts)


@dataclass(frozen=True, slots=True)
class RawSolve:
    """Values and status of one solver run (module-internal)."""

    status: Status
    values: F | None
    objective: float
    bound: float
    seconds: float
    duals: F | None = None


_FD_LOCK = threading.Lock()
_FD_STATE: dict[str, Any] = {"depth": 0, "saved": -1, "tmp": None}
#: Lines native solvers write to standard output that are debug noise, not results.
_NATIVE_NOISE = (b"HighsMipSolverData::transformNewIntegerFeasibleSolution",)


@contextlib.contextmanager
def native_stdout_to_stderr() -> Iterator[None]:
    """Keep native solver chatter off standard output while a solver runs.

    HiGHS 1.12 (inside OR-Tools 9.15) prints a debug line
    (``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();``) straight to
    file descriptor 1 when a MIP finds certain incumbents, even with ``output_flag=false``;
    it would corrupt ``--json`` output and summaries. While solvers run, fd 1 goes to a
    temporary file; when the last one finishes, fd 1 is restored and whatever was written
    meanwhile, except those known noise lines, is passed on to standard error (so output of
    other threads is displaced, never lost). Re-entrant and thread-safe.
    """
    with _FD_LOCK:
        if _FD_STATE["depth"] == 0:
            try:
                sys.stdout.flush()
            except (AttributeError, OSError, ValueError):
                pass
            try:
                tmp = tempfile.TemporaryFile()
                _FD_STATE["saved"] = os.dup(1)
                os.dup2(tmp.fileno(), 1)
                _FD_STATE["tmp"] = tmp
            except OSError:
                _FD_STATE["saved"] = -1
                _FD_STATE["tmp"] = None
        _FD_STATE["depth"] += 1
    try:
        yield
    finally:
        with _FD_LOCK:
            _FD_STATE["depth"] -= 1
            if _FD_STATE["depth"] == 0 and _FD_STATE["saved"] >= 0:
                os.dup2(_FD_STATE["saved"], 1)
                os.close(_FD_STATE["saved"])
                _FD_STATE["saved"] = -1
                tmp = _FD_STATE["tmp"]
                _FD_STATE["tmp"] = None
                if tmp is not None:
                    tmp.seek(0)
                    kept = [ln for ln in tmp.read().splitlines(keepends=True)
                            if not ln.startswith(_NATIVE_NOISE)]
                    tmp.close()
                    if kept:
                        os.write(2, b"".join(kept))


def solve_model(
    model: AllocationModel,
    params: AllocationParams | None = None,
    *,
    time_limit: float | None = None,
    hint: F | None = None,
    relax: bool = False,
    cancel: threading.Event | None = None,
) -> RawSolve:
    """Run the solver on a built model.

    Parameters
    ----------
    model
        From :func:`build_allocation_model`.
    params
        Solver, gap, threads, seed (``params.time_limit`` is *not* read here).
    time_limit
        Seconds for this solver run (``None``: no limit).
    hint
        A full column vector to start from (only non-zeros are passed).
    relax
        Solve the LP relaxation (always with HiGHS).
    cancel
        Set this event from another thread to stop the solver early.

    Raises
    ------
    SolverError
        If the solver cannot run with these parameters.
    """
    from ortools.linear_solver.python import model_builder_helper as mbh

    params = params or AllocationParams()
    t0 = time.perf_counter()
    if model.A.shape[0] == 0:
        # nothing couples the columns: each sits at its cheaper bound
        v = np.where(model.c < 0, model.ub, model.lb)
        obj = float(model.c @ v)
        return RawSolve(Status.OPTIMAL, v, obj, obj, time.perf_counter() - t0)
    helper = mbh.ModelBuilderHelper()
    helper.fill_model_from_sparse_data(model.lb, model.ub, model.c, model.row_lb, model.row_ub,
                                       model.A)
    if not relax:
        for j in model.integer.tolist():
            helper.set_var_integrality(j, True)
    name, spec = _solver_params(params, lp=relax)
    hint_obj = math.nan
    if hint is not None and not relax and hint_feasible(model, hint):
        hint_obj = float(model.c @ hint)
        if name == "highs":
            # OR-Tools 9.15 crashes on HiGHS solution hints (model_builder add_hint segfaults),
            # so a feasible warm start is passed as an objective cutoff instead; if nothing
            # better exists the hint itself is returned below.
            cut = hint_obj + max(1e-7 * abs(hint_obj), 1e-6)
            spec += f"\nobjective_bound={cut!r}"
        else:
            nz = np.flatnonzero(np.abs(hint) > 1e-12)
            for j, val in zip(nz.tolist(), hint[nz].tolist(), strict=True):
                helper.add_hint(j, val)
    solver = mbh.ModelSolverHelper(name)
    if not solver.solver_is_supported():
        raise SolverError(f"solver {name!r} is not available in this OR-Tools build")
    if time_limit is not None and math.isfinite(time_limit):
        # the limit counts from this call, not from the solver's start: loading a large model
        # takes a second or two
        solver.set_time_limit_in_seconds(max(0.05, float(time_limit)
                                             - (time.perf_counter() - t0)))
    solver.set_solver_specific_parameters(spec)
    done = threading.Event()
    # HiGHS checks its time limit rarely inside a large root LP: a watchdog interrupts the
    # solve shortly after the limit (and at once when ``cancel`` is set)
    hard_stop = (t0 + max(0.05, float(time_limit)) + 1.0
                 if time_limit is not None and math.isfinite(time_limit) else math.inf)

    def watch() -> None:
        while not done.wait(0.1):
            if (cancel is not None and cancel.is_set()) or time.perf_counter() > hard_stop:
                solver.interrupt_solve()
                return

    threading.Thread(target=watch, daemon=True).start()
    try:
        with native_stdout_to_stderr():
            solver.solve(helper)
    finally:
        done.set()
    st = solver.status()
    S = mbh.SolveStatus
    secs = time.perf_counter() - t0
    if st in (S.INVALID_SOLVER_PARAMETERS, S.MODEL_INVALID, S.SOLVER_TYPE_UNAVAILABLE,
              S.INCOMPATIBLE_OPTIONS):
        raise SolverError(f"{name}: {st.name}: {solver.status_string()}")
    use_hint = hint is not None and math.isfinite(hint_obj)
    if st == S.INFEASIBLE:
        if use_hint and name == "highs":
            # nothing beats the cutoff: the warm start is optimal
            return RawSolve(Status.OPTIMAL, np.asarray(hint, float), hint_obj, hint_obj, secs)
        return RawSolve(Status.INFEASIBLE, None, math.nan, math.inf, secs)
    has = solver.has_solution() if st not in (S.OPTIMAL, S.FEASIBLE) else True
    if not has and use_hint:
        b = _bound(solver)
        return RawSolve(Status.FEASIBLE, np.asarray(hint, float), hint_obj, min(b, hint_obj),
                        secs)
    if not has:
        if st == S.ABNORMAL:
            log.warning("%s stopped abnormally: %s", name, solver.status_string())
        return RawSolve(Status.NO_SOLUTION, None, math.nan, _bound(solver), secs)
    vals = np.asarray(solver.variable_values(), dtype=float)
    status = Status.OPTIMAL if st == S.OPTIMAL else Status.FEASIBLE
    obj = float(solver.objective_value())
    bound = obj if (relax and status is Status.OPTIMAL) else _bound(solver)
    if status is Status.OPTIMAL and not math.isfinite(bound):
        bound = obj
    return RawSolve(status, vals, obj, bound, secs)


def solve_lp_duals(model: AllocationModel, *, time_limit: float | None = None) -> RawSolve:
    """Solve the LP relaxation with HiGHS through SciPy and return its row duals too.

    OR-Tools 9.15's model_builder returns the row activities in place of HiGHS's duals
    (``dual_values``), so the LPs whose duals are needed (Lagrangian multipliers, see
    :mod:`optimizer.lagrange`) go through :func:`scipy.optimize.linprog`. ``duals`` follow
    HiGHS's sign convention: d objective / d row bound (≤ rows ≤ 0, ≥ rows ≥ 0 in a
    minimisation).
    """
    from scipy.optimize import linprog

    t0 = time.perf_counter()
    A = model.A.tocsr()
    lo, hi = model.row_lb, model.row_ub
    eq = np.isfinite(lo) & np.isfinite(hi) & (np.abs(hi - lo) <= 1e-12 * (1 + np.abs(lo)))
    up = np.isfinite(hi) & ~eq
    dn = np.isfinite(lo) & ~eq
    iu, idn, ie = np.flatnonzero(up), np.flatnonzero(dn), np.flatnonzero(eq)
    A_ub = sp.vstack([A[iu], -A[idn]]).tocsr()
    b_ub = np.r_[hi[iu], -lo[idn]]
    opts: dict[str, Any] = {"presolve": True}
    if time_limit is not None and math.isfinite(time_limit):
        opts["time_limit"] = max(0.1, float(time_limit))
    res = linprog(model.c, A_ub=A_ub if A_ub.shape[0] else None,
                  b_ub=b_ub if A_ub.shape[0] else None,
                  A_eq=A[ie] if len(ie) else None, b_eq=lo[ie] if len(ie) else None,
                  bounds=np.column_stack([model.lb, model.ub]), method="highs", options=opts)
    secs = time.perf_counter() - t0
    if res.status == 2:
        return RawSolve(Status.INFEASIBLE, None, math.nan, math.inf, secs)
    if res.status != 0 or res.x is None:
        return RawSolve(Status.NO_SOLUTION, None, math.nan, -math.inf, secs)
    duals = np.zeros(A.shape[0])
    m_ub = res.ineqlin.marginals if len(b_ub) else np.zeros(0)
    duals[iu] = m_ub[:len(iu)]
    duals[idn] -= m_ub[len(iu):]
    if len(ie):
        duals[ie] = res.eqlin.marginals
    obj = float(res.fun)
    return RawSolve(Status.OPTIMAL, np.asarray(res.x, float), obj, obj, secs, duals)


def hint_feasible(model: AllocationModel, v: F, tol: float = 1e-6) -> bool:
    """Whether a column vector satisfies every bound, row and integrality of the model."""
    if v.shape != (model.n_vars,):
        return False
    if np.any(v < model.lb - tol) or np.any(v > model.ub + tol):
        return False
    if np.any(np.abs(v[model.integer] - np.round(v[model.integer])) > tol):
        return False
    act = model.A @ v
    scale = 1.0 + np.abs(act)
    return bool(np.all(act >= model.row_lb - tol * scale) and np.all(act <= model.row_ub + tol * scale))


def _bound(solver: Any) -> float:
    try:
        b = float(solver.best_objective_bound())
    except Exception:  # noqa: BLE001 - some backends have none
        return -math.inf
    return b if math.isfinite(b) else -math.inf


def solution_from_values(data: NetworkData, model: AllocationModel, v: F) -> Solution:
    """Read a column vector back into a clean :class:`Solution`.

    Tiny solver noise is removed (values below 1e-7 become 0, y is rounded) and stocking
    levels are set to the smallest integer meeting the stock rule (the model's ``S`` only
    needs to be at least that, and lowering it keeps storage feasible).
    """
    off = model.off
    cols = model.columns
    W = len(data.warehouses)
    P = len(cols.p_dem)

    def seg(name: str, n: int) -> F:
        a = np.asarray(v[off[name]:off[name] + n], dtype=float).copy()
        a[a < 1e-7] = 0.0
        return a

    y = np.round(np.clip(v[:W], 0, 1))
    x = seg("x", len(cols.x_pair))
    q = seg("q", len(cols.q_pair))
    u = seg("u", P)
    f = seg("f", len(cols.f_sku))
    return Solution(y=y, x=x, q=q, u=u, f=f, stock=stock_levels(data, cols, f))


def stock_levels(data: NetworkData, cols: Columns, f: F) -> F:
    """Smallest integer stocking level per ``kw`` pair meeting the stock rule for flows ``f``."""
    req = np.bincount(cols.f_kw, weights=cols.f_coef * f, minlength=len(cols.kw_sku))
    return np.maximum(np.ceil(req - 1e-6), 0.0)


def cost_terms(data: NetworkData, cols: Columns, sol: Solution) -> dict[str, float]:
    """The nine cost terms of DESIGN §7 for a solution (from the model's own columns)."""
    late_x = ~cols.x_ontime
    late_q = ~cols.q_ontime
    return {
        "fixed": float(data.wh_fixed_cost @ sol.y),
        "inbound": float(cols.f_lane @ sol.f),
        "duty": float(cols.f_duty @ sol.f + cols.x_duty @ sol.x + cols.q_duty @ sol.q),
        "holding": float(cols.f_hold @ sol.f),
        "handling": float(cols.x_handling @ sol.x),
        "outbound": float(cols.x_lane @ sol.x),
        "direct": float(cols.q_lane @ sol.q),
        "late_penalty": float(cols.late_penalty * (sol.x[late_x].sum() + sol.q[late_q].sum())),
        "lost_sale_penalty": float(cols.lost_penalty * sol.u.sum()),
    }


def values_from_solution(model: AllocationModel, sol: Solution) -> F:
    """The column vector of a solution (for warm starts)."""
    off = model.off
    v = np.zeros(model.n_vars)
    v[:len(sol.y)] = sol.y
    v[off["x"]:off["x"] + len(sol.x)] = sol.x
    v[off["q"]:off["q"] + len(sol.q)] = sol.q
    v[off["u"]:off["u"] + len(sol.u)] = sol.u
    v[off["f"]:off["f"] + len(sol.f)] = sol.f
    v[off["S"]:] = sol.stock[model.s_kw]
    return v


def solve_allocation(
    data: NetworkData,
    params: AllocationParams | None = None,
    *,
    columns: Columns | None = None,
    hint: Solution | None = None,
    y_fixed: F | None = None,
    deadline: float | None = None,
    cancel: threading.Event | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> AllocationResult:
    """Build and solve the monolithic allocation MIP.

    Parameters
    ----------
    data
        The compiled network.
    params
        Parameters; ``params.time_limit`` bounds this call unless ``deadline`` is given.
    columns
        Pre-built columns.
    hint
        A solution to warm-start from (e.g. the naive plan).
    y_fixed
        Fix warehouse use (see :func:`build_allocation_model`).
    deadline
        ``time.perf_counter()`` value by which to return.
    cancel
        Event that stops the solver early.
    on_phase
        Called with a short phase name as work progresses.

    Returns
    -------
    AllocationResult
        ``INFEASIBLE`` only if no plan exists; when the on-time shares cannot be met the
        targets are lowered to what can be reached (see ``notes``).
    """
    params = params or AllocationParams()
    t0 = time.perf_counter()
    if deadline is None:
        deadline = t0 + params.time_limit_s
    phase = on_phase or (lambda _s: None)
    phase("building model")
    cols = build_columns(data) if columns is None else columns
    # stocking levels continuous (a relaxation: they cost nothing); rounded up afterwards and
    # re-solved with a storage margin only if rounding overflows some warehouse
    model = build_allocation_model(data, params, columns=cols, y_fixed=y_fixed,
                                   integer_stock=False)
    notes: list[str] = []
    req = required_targets(data, cols)
    for k, v in model.targets.items():
        if v < req.get(k, 0.0) * (1 - 1e-6) - 1e-6:
            notes.append(f"on-time target {k!r} lowered from {req[k]:.1f} to {v:.1f} units: "
                         "no path meets the promise for the rest")
    stats: dict[str, Any] = {"build_s": model.build_seconds, "n_vars": model.n_vars,
                             "n_rows": model.n_rows, "n_int": len(model.integer),
                             "nnz": int(model.A.nnz), **{f"cols_{k}": v for k, v in
                                                         cols.stats.items()}}
    h = values_from_solution(model, hint) if hint is not None and params.warm_start else None
    inc: Solution | None = None
    lag_bound = -math.inf
    if ((h is None or not hint_feasible(model, h)) and y_fixed is None and len(model.integer)
            and model.n_vars >= INCUMBENT_MIN_VARS):
        # a large MIP may not finish its root LP in time: find a plan first (at most half the
        # time), given to the solver as a cutoff and returned if it finds nothing better
        W = len(data.warehouses)
        P = len(cols.p_dem)
        if P * W <= LAGRANGE_MAX_CELLS:
            phase("Lagrangian relaxation of the demand rows, then warehouse sets by bound")
            inc, lag_bound, proven, info, (fix_lb, fix_ub) = lagrangian_incumbent(
                data, params, cols, model.lb[:W], model.ub[:W], deadline, cancel, phase,
                targets=model.targets)
            stats.update(info)
            stats["incumbent_s"] = time.perf_counter() - t0
            if inc is not None and not proven:
                # warehouses fixed by the penalty tests: the MIP searches the rest only
                # (sets excluded cannot beat the incumbent, so the optimum is kept)
                model.lb[:W], model.ub[:W] = fix_lb, fix_ub
                shut = fix_ub == 0
                nx_ = len(cols.x_pair)
                model.ub[model.off["x"]:model.off["x"] + nx_][shut[cols.x_wh]] = 0.0
                model.ub[model.off["f"]:model.off["f"] + len(cols.f_sku)][shut[cols.f_wh]] = 0.0
                model = replace(model, integer=model.integer[
                    (model.integer >= W) | (model.lb[np.minimum(model.integer, W - 1)]
                                            < model.ub[np.minimum(model.integer, W - 1)])])
            if inc is not None and proven:
                cost = cost_terms(data, cols, inc)
                obj = float(sum(cost.values()))
                notes.append("optimal by Lagrangian enumeration: every other warehouse set's "
                             "Lagrangian bound is above this plan's cost")
                stats["solve_s"] = time.perf_counter() - t0
                return AllocationResult(
                    status=Status.OPTIMAL, objective=obj, bound=min(lag_bound, obj),
                    runtime_s=time.perf_counter() - t0, cost=cost, columns=cols,
                    solution=inc, stats=stats, notes=tuple(notes))
        else:
            from optimizer.transport import TransportPricer

            phase("constructing an incumbent (greedy warehouses, local search)")
            inc, info = heuristic_incumbent(data, params, cols, model.lb[:W], model.ub[:W],
                                            t0 + 0.5 * (deadline - t0), cancel,
                                            pricer=TransportPricer.build(data, cols,
                                                                         model.targets))
            stats.update(info)
            stats["incumbent_s"] = time.perf_counter() - t0
        if inc is not None:
            h = values_from_solution(model, inc)
    phase("solving")
    # HiGHS stops up to a second or two after its limit on a large MIP (and the model is
    # loaded before its clock starts): keep a small reserve so that the call returns in time
    reserve = min(MIP_RESERVE_MAX_S, MIP_RESERVE_SHARE * (deadline - t0))
    raw = solve_model(model, params, time_limit=deadline - time.perf_counter() - reserve, hint=h,
                      cancel=cancel)
    if raw.status is Status.INFEASIBLE:
        # capacities stop the on-time shares: find what can be reached (LP), then re-solve
        phase("repairing on-time targets")
        model, note = _lower_targets(data, model, params, deadline, cancel)
        notes.append(note)
        raw = solve_model(model, params, time_limit=deadline - time.perf_counter(), hint=h,
                          cancel=cancel)
    if raw.values is not None and not _storage_ok(data, cols, solution_from_values(
            data, model, raw.values)):
        phase("re-solving with a storage margin for integer stock")
        notes.append("rounding stocking levels up overflowed storage: flows re-solved on the "
                     "same warehouses with a storage margin of one unit per SKU (the bound stays "
                     "that of the continuous-stock relaxation)")
        relax_bound = raw.bound
        W = len(data.warehouses)
        tight = build_allocation_model(data, params, columns=cols,
                                       y_fixed=np.round(raw.values[:W]),
                                       integer_stock=False, storage_margin=True,
                                       targets=model.targets)
        raw2 = solve_model(tight, params, time_limit=deadline - time.perf_counter(),
                           cancel=cancel)
        if raw2.values is not None:
            model = tight
            raw = RawSolve(Status.FEASIBLE if raw2.status is Status.OPTIMAL and relax_bound <
                           raw2.objective - params.relative_gap * abs(raw2.objective)
                           else raw2.status, raw2.values, raw2.objective,
                           min(relax_bound, raw2.bound), raw.seconds + raw2.seconds)
        else:
            raw = RawSolve(Status.NO_SOLUTION, None, math.nan, relax_bound, raw.seconds)
    stats["solve_s"] = raw.seconds
    if raw.values is None and inc is not None:
        # the cutoff was not accepted (e.g. the hint failed the feasibility check after the
        # targets were lowered): the heuristic plan still stands
        notes.append("the solver found no plan in time: warehouses from the incumbent search")
        cost = cost_terms(data, cols, inc)
        obj = float(sum(cost.values()))
        return AllocationResult(
            status=Status.FEASIBLE, objective=obj, bound=min(max(raw.bound, lag_bound), obj),
            runtime_s=time.perf_counter() - t0, cost=cost, columns=cols, solution=inc,
            stats=stats, notes=tuple(notes))
    if raw.values is None:
        return AllocationResult(
            status=raw.status, objective=math.nan, bound=raw.bound,
            runtime_s=time.perf_counter() - t0, cost={}, columns=cols, solution=None,
            stats=stats, notes=tuple(notes))
    sol = solution_from_values(data, model, raw.values)
    cost = cost_terms(data, cols, sol)
    obj = float(sum(cost.values()))
    bound = max(raw.bound, lag_bound)
    bound = min(bound, obj) if math.isfinite(bound) else bound
    status = raw.status
    if status is Status.FEASIBLE and obj - bound <= params.relative_gap * abs(obj):
        status = Status.OPTIMAL
    return AllocationResult(
        status=status, objective=obj, bound=bound, runtime_s=time.perf_counter() - t0,
        cost=cost, columns=cols, solution=sol, stats=stats, notes=tuple(notes))


#: Models with at least this many variables get a heuristic incumbent before the MIP (HiGHS
#: may not finish their root LP: capa-8000's 101k-column LP took over 120 s).
INCUMBENT_MIN_VARS = 60_000
#: Time kept back from the final MIP of :func:`solve_allocation` for the solver's late stop:
#: this share of the call's budget, at most ``MIP_RESERVE_MAX_S`` seconds (capb-7000 at 180 s
#: returned after 183.5 s without it; HiGHS overran its MIP limit by 3.6-5.8 s on capb-6000
#: and capb-7000, the watchdog's interrupt included).
MIP_RESERVE_SHARE = 0.04
MIP_RESERVE_MAX_S = 8.0
#: Largest (demand pairs × warehouses) for the dense Lagrangian of :func:`lagrangian_incumbent`.
LAGRANGE_MAX_CELLS = 5_000_000
#: :func:`lagrangian_incumbent` runs the local search only above this relative gap (capb-7000:
#: gap 1.8 % after the enumeration, +0.3 % from the local search; capa-8000: 0.07 %, where the
#: MIP needs the time for its proof).
LOCAL_SEARCH_GAP = 0.005
#: With flow pricing (:class:`optimizer.transport.TransportPricer`, ~30 ms a set on capb) the
#: subgradient prices its subproblem's warehouse set every this many iterations.
FAST_PRICE_EVERY = 5


def lagrangian_incumbent(data: NetworkData, params: AllocationParams, cols: Columns,
                         y_lb: F, y_ub: F, deadline: float,
                         cancel: threading.Event | None = None,
                         phase: Callable[[str], None] | None = None,
                         targets: dict[str, float] | None = None,
                         ) -> tuple[Solution | None, float, bool, dict[str, Any],
                                    tuple[F, F]]:
    """Lagrangian relaxation of the demand rows, then warehouse sets in order of bound.

    A greedy set (:func:`greedy_warehouses`) gives a first plan; subgradient ascent on the
    demand multipliers (:func:`optimizer.lagrange.demand_relaxation`, at most 25 % of the
    time) gives a bound ``base + a·y`` for every warehouse set; sets are then priced exactly
    (fixed-y solve) in increasing order of that bound (:func:`optimizer.lagrange.
    enumerate_sets`, until 40 % of the time) and the search is complete — the plan optimal —
    once the next set's bound exceeds the best plan. If it is not and the gap is above
    ``LOCAL_SEARCH_GAP``, the best set is improved by the close / open / swap local search of
    :func:`heuristic_incumbent` (until 65 %); then penalty tests
    (:func:`optimizer.lagrange.fix_by_bound`) fix the warehouses whose other value cannot beat
    the best plan, for the MIP that follows. Returns ``(plan, bound, proven, stats,
    (y_lb, y_ub) after fixing)``.

    When the fixed-warehouse model is a transportation problem (one SKU, no storage, lane or
    on-time rows: :class:`optimizer.transport.TransportPricer`, with ``targets`` the model's
    on-time targets) sets are priced as min-cost flows, about 20 times faster; the subgradient
    then prices its subproblem's set every ``FAST_PRICE_EVERY`` iterations and the local
    search always runs, with a wider neighbourhood.
    """
    from optimizer.lagrange import demand_relaxation, enumerate_sets, fix_by_bound
    from optimizer.transport import TransportPricer

    t0 = time.perf_counter()
    say = phase or (lambda _s: None)
    budget = max(0.0, deadline - t0)
    sols: dict[bytes, Solution] = {}
    sets: dict[bytes, F] = {}
    pricer = TransportPricer.build(data, cols, targets if targets is not None
                                   else default_targets(data, cols))
    info: dict[str, Any] = {"incumbent_fast_pricing": pricer is not None, "incumbent_evals": 0}

    def price(y: F) -> tuple[float, float]:
        info["incumbent_evals"] += 1
        key = y.astype(bool).tobytes()
        if pricer is not None:
            out = pricer.price(y)
            if out is not None:
                sets[key] = np.round(y)
                return out
        r = solve_allocation(data, params, columns=cols, y_fixed=y,
                             deadline=min(deadline, time.perf_counter() + max(
                                 5.0, 0.5 * (deadline - time.perf_counter()))), cancel=cancel)
        if r.solution is None:
            return math.inf, r.bound if math.isfinite(r.bound) else -math.inf
        if r.notes and any("lowered" in n for n in r.notes):
            # the on-time targets had to be lowered for this set: not a plan of the model
            return math.inf, -math.inf
        sols[key] = r.solution
        sets[key] = np.round(y)
        return r.objective, r.bound

    def plan(key: bytes) -> Solution | None:
        """The plan of a priced set (a set priced by flow is solved the generic way once)."""
        if key not in sols and key in sets:
            r = solve_allocation(data, params, columns=cols, y_fixed=sets[key],
                                 deadline=max(deadline, time.perf_counter() + 5.0),
                                 cancel=cancel)
            if r.solution is not None:
                sols[key] = r.solution
        return sols.get(key)

    y0 = greedy_warehouses(data, cols, y_lb, y_ub)
    upper, _ = price(y0)
    best_key = y0.astype(bool).tobytes()
    info["incumbent_greedy"] = upper
    best_plan = [upper, best_key]

    def price_upper(y: F) -> float:
        cost, _ = price(y)
        if cost < best_plan[0]:
            best_plan[:] = [cost, y.astype(bool).tobytes()]
        return cost

    rel = demand_relaxation(
        data, cols, y_lb, y_ub, upper, t0 + 0.25 * budget,
        on_iter=lambda i, b: say(f"Lagrangian bound, iteration {i}: {b:,.0f}") if i % 100 == 0
        else None, price=price_upper,
        price_every=FAST_PRICE_EVERY if pricer is not None else 100)
    upper, best_key = best_plan
    info.update({"lagrange_bound": rel.bound, "lagrange_iterations": rel.iterations,
                 "lagrange_s": rel.seconds, "incumbent_subgradient": upper})
    if not math.isfinite(rel.bound):
        return plan(best_key), -math.inf, False, info, (y_lb, y_ub)
    best, bound, y_best, n, proven = enumerate_sets(
        rel, y_lb, y_ub, price, upper, t0 + 0.4 * budget,
        on_set=lambda i, b, lo: say(f"warehouse set {i}: best {b:,.0f}, bound {lo:,.0f}"))
    if y_best is not None:
        best_key = y_best.astype(bool).tobytes()
    info.update({"incumbent_sets_priced": n + 1, "incumbent_proven": proven,
                 "incumbent_enumeration": best})
    if (not proven and best_key in sets and math.isfinite(best)
            and (pricer is not None
                 or best - max(bound, rel.bound) > LOCAL_SEARCH_GAP * abs(best))):
        # the order of the bound is a poor guide when the bound is weak: improve the best set
        # by the local search of heuristic_incumbent (close / open / swap); with a tight bound
        # and slow pricing the time is better spent on the MIP over the warehouses the penalty
        # tests leave
        say("improving the best warehouse set by local search")
        sol_ls, info_ls = heuristic_incumbent(data, params, cols, y_lb, y_ub,
                                              t0 + 0.65 * budget, cancel,
                                              y_start=sets[best_key], pricer=pricer)
        info["incumbent_ls_moves"] = info_ls.get("incumbent_moves", 0)
        info["incumbent_evals"] += info_ls.get("incumbent_evals", 0)
        obj_ls = info_ls.get("incumbent_objective", math.inf)
        if sol_ls is not None and obj_ls < best:
            best, best_key = obj_ls, b"local-search"
            sols[best_key] = sol_ls
            sets[best_key] = np.round(sol_ls.y)
            bound = min(bound, best)
    info["incumbent_lagrange"] = best
    fix = (np.array(y_lb, float), np.array(y_ub, float))
    if not proven and best_key in sets and math.isfinite(best):
        say("fixing warehouses by Lagrangian penalty tests")
        lb, ub, nfix = fix_by_bound(rel, y_lb, y_ub, sets[best_key], best, t0 + 0.7 * budget)
        fix = (lb, ub)
        info["lagrange_fixed"] = nfix
        info["lagrange_free"] = int((lb < ub).sum())
    info["incumbent_s"] = time.perf_counter() - t0
    return (plan(best_key), bound if proven else max(bound, rel.bound), proven, info, fix)


def greedy_warehouses(data: NetworkData, cols: Columns, y_lb: F, y_ub: F) -> F:
    """A warehouse set by cost ratio: each free warehouse is priced as its fixed cost plus the
    cheapest demand it could serve up to its throughput (outbound + cheapest inbound), per
    unit; warehouses are opened in that order until their capacity covers the demand."""
    ratio, cap, total, _ = _warehouse_ratio(data, cols, y_lb, y_ub)
    y = np.array(y_lb, float)
    for w in np.argsort(ratio).tolist():
        if float(cap @ y) >= total or not np.isfinite(ratio[w]):
            break
        y[w] = 1.0
    return y


def _warehouse_ratio(data: NetworkData, cols: Columns, y_lb: F, y_ub: F) -> tuple[
        F, F, float, tuple[Any, Any, F]]:
    """Per free warehouse: (fixed + cheapest demand up to capacity) per unit served."""
    W = len(data.warehouses)
    H = float(data.horizon_days)
    total = float(cols.p_dem.sum())
    cap = np.where(np.isfinite(data.wh_throughput_per_day), H * data.wh_throughput_per_day,
                   total)
    in_min = np.full(len(cols.kw_sku), np.inf)
    np.minimum.at(in_min, cols.f_kw, cols.f_cost())
    cost = cols.x_cost() + in_min[cols.x_kw]
    ok = np.isfinite(cost)
    key = cols.x_pair[ok] * W + cols.x_wh[ok]
    uk, inv = np.unique(key, return_inverse=True)
    cmin = np.full(len(uk), np.inf)
    np.minimum.at(cmin, inv, cost[ok])
    pw, ww = uk // W, uk % W
    ratio = np.full(W, np.inf)
    for w in np.flatnonzero(y_ub > y_lb).tolist():
        sel = ww == w
        if not sel.any():
            continue
        c, d = cmin[sel], cols.p_dem[pw[sel]]
        o = np.argsort(c)
        amt = np.clip(cap[w] - (np.cumsum(d[o]) - d[o]), 0.0, d[o])
        if amt.sum() > 0:
            ratio[w] = (data.wh_fixed_cost[w] + float(c[o] @ amt)) / amt.sum()
    return ratio, cap, total, (pw, ww, cmin)


def heuristic_incumbent(data: NetworkData, params: AllocationParams, cols: Columns,
                        y_lb: F, y_ub: F, deadline: float,
                        cancel: threading.Event | None = None,
                        y_start: F | None = None,
                        pricer: TransportPricer | None = None) -> tuple[Solution | None, dict[
                            str, Any]]:
    """Greedy warehouses (:func:`greedy_warehouses`, or ``y_start``), then a first-improvement
    local search over close / open / swap moves, each warehouse set priced exactly by its
    fixed-y solve (no binaries: fast), or as a min-cost flow by ``pricer`` (then every close
    and open move and a wider swap neighbourhood are tried). Never returns a worse plan than
    its start."""
    t0 = time.perf_counter()
    nx_ = len(cols.x_pair)

    def price(y: F) -> tuple[float, F | None, Solution | None]:
        """(cost, outbound flows, the plan if it was solved the generic way)."""
        if pricer is not None:
            out = pricer.solve(y)
            if out is not None:
                x = np.zeros(nx_)
                x[pricer.x_col] = out[2]
                return out[0], x, None
        r = solve_allocation(data, params, columns=cols, y_fixed=y,
                             deadline=min(deadline, time.perf_counter() + max(
                                 5.0, 0.5 * (deadline - time.perf_counter()))), cancel=cancel)
        if r.solution is None or r.notes and any("lowered" in n for n in r.notes):
            return math.inf, None, None
        return r.objective, r.solution.x, r.solution

    y = (greedy_warehouses(data, cols, y_lb, y_ub) if y_start is None
         else np.round(np.asarray(y_start, float)))
    _, cap, _, (pw, ww, cmin) = _warehouse_ratio(data, cols, y_lb, y_ub)
    in_min = np.full(len(cols.kw_sku), np.inf)
    np.minimum.at(in_min, cols.f_kw, cols.f_cost())
    x_unit = cols.x_cost() + np.where(np.isfinite(in_min), in_min, 0.0)[cols.x_kw]
    P = len(cols.p_dem)

    def add_gain(x: F) -> F:
        """Estimated saving of opening each warehouse: its cheaper units replace the current
        average cost of each pair's flow, up to its capacity, less its fixed cost."""
        flow = np.bincount(cols.x_pair, weights=x, minlength=P)
        spend = np.bincount(cols.x_pair, weights=x * x_unit, minlength=P)
        pc = np.where(flow > 1e-9, spend / np.maximum(flow, 1e-9), cols.lost_penalty)
        sav = np.maximum(pc[pw] - cmin, 0.0)
        gain = np.full(len(y_lb), -np.inf)
        for w in np.unique(ww).tolist():
            sel = ww == w
            o = np.argsort(-sav[sel])
            d = cols.p_dem[pw[sel]][o]
            amt = np.clip(cap[w] - (np.cumsum(d) - d), 0.0, d)
            gain[w] = float(sav[sel][o] @ amt) - data.wh_fixed_cost[w]
        return gain

    def finish(y: F, obj: float, sol: Solution | None) -> tuple[Solution | None, dict[str, Any]]:
        if sol is None:  # priced by flow: the plan itself comes from the generic solve
            r = solve_allocation(data, params, columns=cols, y_fixed=y,
                                 deadline=max(deadline, time.perf_counter() + 5.0),
                                 cancel=cancel)
            sol = r.solution
            obj = r.objective if sol is not None else math.inf
        info["incumbent_objective"] = obj
        return sol, info

    obj, x, sol = price(y)
    info: dict[str, Any] = {"incumbent_greedy": obj, "incumbent_moves": 0, "incumbent_evals": 1,
                            "incumbent_fast_pricing": sol is None and x is not None}
    if x is None:
        return None, info
    fast = sol is None
    free = np.flatnonzero(y_ub > y_lb)
    last = time.perf_counter() - t0
    seen = {y.astype(bool).tobytes()}
    improved = True
    while improved:
        improved = False
        opened = [w for w in free.tolist() if y[w] > 0.5]
        closed = [w for w in free.tolist() if y[w] < 0.5]
        # flow through each open warehouse: close the least used first
        use = np.bincount(cols.x_wh, weights=x, minlength=len(y))
        fc = data.wh_fixed_cost
        opened.sort(key=lambda w: -fc[w] / max(use[w], 1e-9))
        gain = add_gain(x)
        closed.sort(key=lambda w: -gain[w])
        if fast:
            # flow pricing is cheap: best improvement over every close, open and swap (first
            # improvement over a shortlist stalled at +0.7 % on capb-7000; this finds its
            # optimum from the subgradient's best set in 3,344 pricings)
            moves = [(w,) for w in opened] + [(w,) for w in closed] + [
                (a, b) for a in opened for b in closed]
            best_mv: tuple[float, F | None, F | None] = (obj, None, None)
            for mv in moves:
                if time.perf_counter() > deadline or (cancel and cancel.is_set()):
                    break
                y2 = y.copy()
                y2[list(mv)] = 1.0 - y2[list(mv)]
                o2, x2, _ = price(y2)
                info["incumbent_evals"] += 1
                if x2 is not None and o2 < best_mv[0] - 1e-9 * abs(obj):
                    best_mv = (o2, y2, x2)
            if best_mv[1] is not None:
                obj, y, x = best_mv[0], best_mv[1], best_mv[2]
                info["incumbent_moves"] += 1
                improved = time.perf_counter() <= deadline
            continue
        else:
            moves = [(w,) for w in opened] + [(a, b) for a in opened[:3] for b in closed[:5]] + [
                (w,) for w in closed] + [(a, b) for a in opened[:5] for b in closed[:15]]
        moves = list(dict.fromkeys(moves))
        for mv in moves:
            if time.perf_counter() + 1.5 * last > deadline or (cancel and cancel.is_set()):
                return finish(y, obj, sol)
            y2 = y.copy()
            for w in mv:
                y2[w] = 1.0 - y2[w]
            key = y2.astype(bool).tobytes()
            if key in seen:
                continue
            seen.add(key)
            t1 = time.perf_counter()
            o2, x2, s2 = price(y2)
            last = time.perf_counter() - t1
            info["incumbent_evals"] += 1
            if x2 is not None and o2 < obj - 1e-9 * abs(obj):
                y, obj, x, sol = y2, o2, x2, s2
                info["incumbent_moves"] += 1
                improved = True
                break
    return finish(y, obj, sol)


def _storage_ok(data: NetworkData, cols: Columns, sol: Solution) -> bool:
    """Whether the rounded stocking levels fit every warehouse's storage."""
    used = np.zeros(len(data.warehouses))
    np.add.at(used, cols.kw_wh, sol.stock * data.sku.volume_m3[cols.kw_sku])
    return bool(np.all(used <= data.wh_storage_m3 * (1 + 1e-9) + 1e-9))


def _lower_targets(
    data: NetworkData, model: AllocationModel, params: AllocationParams, deadline: float,
    cancel: threading.Event | None, *, storage_margin: bool = False,
) -> tuple[AllocationModel, str]:
    """Maximise on-time units on the LP relaxation and rebuild with reachable targets."""
    cols = model.columns
    on = np.zeros(model.n_vars)
    on[model.off["x"] + np.flatnonzero(cols.x_ontime)] = -1.0
    on[model.off["q"] + np.flatnonzero(cols.q_ontime)] = -1.0
    a, b = model.rows["ontime"]
    lp = AllocationModel(
        columns=cols, c=on, lb=model.lb, ub=model.ub, integer=model.integer,
        A=model.A[:a], row_lb=model.row_lb[:a], row_ub=model.row_ub[:a], off=model.off,
        s_kw=model.s_kw, rows={k: v for k, v in model.rows.items() if k != "ontime"},
        targets={}, build_seconds=0.0)
    raw = solve_model(lp, params, time_limit=deadline - time.perf_counter(), relax=True,
                      cancel=cancel)
    if raw.values is None:
        tg = {k: 0.0 for k in model.targets}
        note = "on-time targets dropped: the capacity-limited maximum could not be computed"
    else:
        v = raw.values
        x_on = v[model.off["x"]:model.off["x"] + len(cols.x_pair)] * cols.x_ontime
        q_on = v[model.off["q"]:model.off["q"] + len(cols.q_pair)] * cols.q_ontime
        zc = np.array(data.zone_country)
        tg = {}
        for k, t in model.targets.items():
            if k == "all":
                got = x_on.sum() + q_on.sum()
            else:
                got = (x_on[zc[cols.p_zone[cols.x_pair]] == k].sum()
                       + q_on[zc[cols.p_zone[cols.q_pair]] == k].sum())
            tg[k] = max(0.0, min(t, 0.999 * got))
        note = ("on-time targets lowered to what capacities allow: "
                + ", ".join(f"{k} {v:.1f} units" for k, v in tg.items()))
    W = len(data.warehouses)
    all_fixed = bool(np.all(model.lb[:W] == model.ub[:W]))
    rebuilt = build_allocation_model(data, params, columns=cols, targets=tg,
                                     y_fixed=model.lb[:W] if all_fixed else None,
                                     integer_stock=False, storage_margin=storage_margin)
    return rebuilt, note
