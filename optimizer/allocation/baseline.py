"""The naive planner: what a planner does in a spreadsheet, no optimisation.

Rules, per demand zone:

1. serve it from the *nearest* warehouse that can meet the promise (the one whose fastest
   on-time outbound path is shortest in hours; an ``open`` or ``candidate`` warehouse with an
   inbound path), by that warehouse's cheapest on-time path;
2. if no warehouse can meet the promise, ship direct by the cheapest on-time direct line;
3. if nothing meets the promise, use the nearest warehouse anyway (late), else the fastest
   direct line (late); demand no path reaches is lost;
4. replenish each (SKU, warehouse) by the cheapest freight (lane cost + duty) inbound path;
5. stock = allocated demand per day × (lead time + review period) cover days, rounded up
   (no safety stock: the spreadsheet rule), and every warehouse that serves a zone is opened.

With tonight's state (format v1.1) the spreadsheet learns it too: a zone is first served from
the nearest warehouse that holds stock of the SKU and can meet the promise (0.), stock is used
where it is (in-transit units only for the demand after they arrive), the rest is ordered by
rule 4; there are no transfers; returns go to the cheapest returns warehouse in use of the
zone's country (else they are written off), and resold units lower that warehouse's order.

Capacities are ignored, as a spreadsheet would; :func:`optimizer.plan.evaluate.evaluate`
reports what the naive plan breaks. :func:`naive_solution` also returns a copy whose stocking
levels meet the model's stock rule, used to warm-start the MIP.

6. (the floor only) :func:`within_capacity`: where a warehouse is full (throughput or
   storage), the overflow goes to the next cheapest option with room, as a planner would do
   with the spreadsheet's plan. The plan written when no optimised plan is found in time is
   this one; the baseline (``--baseline naive``) and the MIP's warm start stay rules 1-5. On
   tier L (sea-L seed 1) under a 120-s limit the floor had broken five warehouses'
   throughput (up to 2.5 times, WH-ID-CKR) and one's storage; with rule 6 it breaks none
   (benchmarks/README.md, "The floor keeps the warehouses' capacities").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from network.compile import NetworkData
from optimizer.allocation.columns import Columns, capped_options, stock_levels
from optimizer.allocation.result import Solution

__all__ = [
    "breaks_capacity",
    "grouped_running_min",
    "lane_loads",
    "naive_solution",
    "within_capacity",
]


def naive_solution(data: NetworkData, cols: Columns) -> tuple[Solution, Solution]:
    """The naive plan on the model's columns.

    Returns
    -------
    (naive, hint)
        ``naive`` with cover-days stocking levels, ``hint`` the same flows with stocking levels
        that meet the model's stock rule (safety stock included).
    """
    W = len(data.warehouses)
    Z = len(data.zones)
    P = len(cols.p_dem)
    # nearest on-time warehouse per zone (by outbound hours), then nearest at all
    best_on = np.full((Z, W), np.inf)
    best_any = np.full((Z, W), np.inf)
    if len(cols.x_pair):
        zx = cols.p_zone[cols.x_pair]
        np.minimum.at(best_any, (zx, cols.x_wh), cols.x_hours)
        on = cols.x_ontime
        np.minimum.at(best_on, (zx[on], cols.x_wh[on]), cols.x_hours[on])
    # (no warehouse at all: every zone is served direct or lost; argmin needs a column)
    wh_on = np.where(np.isfinite(best_on).any(1), best_on.argmin(1), -1) if W else np.full(Z, -1)
    wh_any = np.where(np.isfinite(best_any).any(1), best_any.argmin(1), -1) if W else np.full(Z, -1)

    x = np.zeros(len(cols.x_pair))
    q = np.zeros(len(cols.q_pair))
    u = cols.p_dem.copy()
    x_cost = cols.x_lane + cols.x_duty + cols.x_handling
    q_cost = cols.q_lane + cols.q_duty

    def pick(mask: np.ndarray, pair: np.ndarray, cost: np.ndarray, key2: np.ndarray) -> np.ndarray:
        """Per pair, the index of the best masked column by (key2, cost), or -1."""
        best = np.full(P, -1, dtype=np.int64)
        idx = np.flatnonzero(mask)
        if len(idx):
            order = idx[np.lexsort((cost[idx], key2[idx], pair[idx]))]
            first = np.r_[True, pair[order][1:] != pair[order][:-1]]
            best[pair[order[first]]] = order[first]
        return best

    zero_x = np.zeros(len(cols.x_pair))
    zero_q = np.zeros(len(cols.q_pair))
    nkw = len(cols.kw_sku)
    has_inb = np.zeros(nkw, dtype=bool)
    has_inb[cols.f_kw] = True
    x_inb = has_inb[cols.x_kw] if len(cols.x_pair) else np.zeros(0, bool)
    # rule 0 (v1.1): the nearest on-time warehouse that holds stock of the SKU
    held = np.zeros(nkw, dtype=bool)
    held[cols.e_kw[cols.e_topt < 0]] = True
    c0 = pick(cols.x_ontime & x_inb & held[cols.x_kw], cols.x_pair, x_cost, cols.x_hours)
    # rule 1: cheapest on-time option from the zone's nearest on-time warehouse
    tgt = wh_on[cols.p_zone[cols.x_pair]] if len(cols.x_pair) else np.zeros(0, np.int64)
    c1 = pick(cols.x_ontime & (cols.x_wh == tgt) & x_inb, cols.x_pair, x_cost, zero_x)
    c1 = np.where(c0 >= 0, c0, c1)
    # rule 2: cheapest on-time direct line
    c2 = pick(cols.q_ontime, cols.q_pair, q_cost, zero_q)
    # rule 3: nearest warehouse late (fastest option there), else fastest direct
    tgt_any = wh_any[cols.p_zone[cols.x_pair]] if len(cols.x_pair) else np.zeros(0, np.int64)
    c3 = pick((cols.x_wh == tgt_any) & x_inb, cols.x_pair, x_cost, cols.x_hours)
    c4 = pick(np.ones(len(cols.q_pair), bool), cols.q_pair, q_cost, cols.q_hours)
    m1 = c1 >= 0
    m2 = ~m1 & (c2 >= 0)
    m3 = ~m1 & ~m2 & (c3 >= 0)
    m4 = ~m1 & ~m2 & ~m3 & (c4 >= 0)
    x[c1[m1]] = cols.p_dem[m1]
    q[c2[m2]] = cols.p_dem[m2]
    x[c3[m3]] = cols.p_dem[m3]
    q[c4[m4]] = cols.p_dem[m4]
    u[m1 | m2 | m3 | m4] = 0.0

    return _finish(data, cols, x, q, u)


def _finish(
    data: NetworkData, cols: Columns, x: np.ndarray, q: np.ndarray, u: np.ndarray
) -> tuple[Solution, Solution]:
    """Rules 4-5 (and tonight's state) for chosen outbound and direct flows: the warehouses
    opened, the replenishment by the cheapest freight, the cover-days stock (``naive``) and
    the model's stock rule (``hint``)."""
    nkw = len(cols.kw_sku)
    y = data.wh_kept_open.astype(float)
    y[np.unique(cols.x_wh[x > 0])] = 1.0
    # replenishment: cheapest freight inbound column per (SKU, warehouse)
    need = np.bincount(cols.x_kw, weights=x, minlength=nkw)
    extra: dict[str, np.ndarray] = {}
    if cols.has_state:
        extra, need = _use_state(data, cols, x, q, y, need)
    f = np.zeros(len(cols.f_sku))
    chosen = _cheapest_freight(cols)
    chosen = chosen[chosen >= 0]
    f[chosen] = need[cols.f_kw[chosen]]
    # cover-days stock: allocated demand per day × (lead time + review period)
    R = data.service.review_period_days
    cover = np.bincount(
        cols.f_kw, weights=f / data.horizon_days * (cols.f_hours / 24.0 + R), minlength=nkw
    )
    naive = Solution(y=y, x=x, q=q, u=u, f=f, stock=np.maximum(np.ceil(cover - 1e-9), 0.0), **extra)
    hint = Solution(y=y, x=x, q=q, u=u, f=f, stock=stock_levels(data, cols, f), **extra)
    return naive, hint


def _cheapest_freight(cols: Columns) -> np.ndarray:
    """Rule 4: per (SKU, warehouse) pair, its cheapest freight (lane cost + duty) inbound
    column, or -1 where it has none."""
    nkw, nf = len(cols.kw_sku), len(cols.f_sku)
    chosen = np.full(nkw, -1, dtype=np.int64)
    if nf:
        # per pair the least freight, then the first column at it (as a stable sort by
        # (pair, freight) would take; 0.011 s against 0.28 s on a tier-L block,
        # python -m benchmarks.floor)
        freight = cols.f_lane + cols.f_duty
        least = np.full(nkw, np.inf)
        np.minimum.at(least, cols.f_kw, freight)
        at = np.flatnonzero(freight <= least[cols.f_kw])
        first = np.full(nkw, nf, dtype=np.int64)
        np.minimum.at(first, cols.f_kw[at], at)
        chosen = np.where(first < nf, first, -1)
    return chosen


def within_capacity(data: NetworkData, cols: Columns, naive: Solution) -> Solution:
    """Rule 6, the overflow: the naive plan moved off the warehouses whose throughput or
    storage it breaks, as a planner would when the nearest warehouse is full; returned with
    stocking levels by the model's rule (as the ``hint`` of :func:`naive_solution`). It is the
    plan written when no optimised plan is found in time (the floor); the naive baseline
    (``--baseline naive``) stays the spreadsheet's, capacities ignored.

    Per round, every demand pair served from an over-full warehouse is offered its best other
    option: the cheapest outbound column at a usable warehouse with room left in both (an
    ``open`` or ``candidate`` one, with an inbound path; its unit cost counts the cheapest
    freight in, the holding, the late penalty when late, and at a warehouse the naive plan
    does not open its fixed cost spread over its throughput), or the cheapest direct line
    (no warehouse capacity). The pairs whose move costs least per unit leave first, until the
    warehouse is within both capacities (storage in whole units of stocking level: a level is
    rounded up, so shedding less than a unit's flow may free nothing); a warehouse takes moves
    in the same order while they fit, counting one unit of rounding up a move, and once it
    turns one down it takes no more. A round empties the over-full warehouses or fills one,
    so at most ``2 W + 8`` rounds run. Storage is the model's stock rule on the cheapest
    freight, rounded up as the plan's levels are. Demand is never dropped to make room: what
    no option can take stays where it is, and the evaluator reports it. With tonight's stock
    only throughput is moved for (the lots a move leaves on a shelf are not counted). Never
    worse: a result that breaks a warehouse capacity the naive flows keep (by the evaluator's
    rules) is dropped for the naive flows as they were. Lanes: a result that breaks a lane's
    capacity the naive flows keep is made again with no move on that lane (the target's
    outbound path, its SKU's cheapest freight in, a direct line), up to three times. (Keeping
    every capped lane out of the moves from the start cost much more where most paths have a
    capped lane and the naive plan breaks none: benchmarks/README.md, "The floor keeps the
    warehouses' capacities".)
    """
    kept = _finish(data, cols, naive.x, naive.q, naive.u.copy())[1]
    avoid = np.zeros(len(data.lanes), dtype=bool)
    lanes_kept = _lane_breaks(data, cols, kept)
    for _attempt in range(4):
        out = _overflow(data, cols, naive, avoid)
        if out is None:
            return kept
        new = _lane_breaks(data, cols, out) - lanes_kept
        if not new:
            break
        avoid[sorted(new)] = True
    else:
        return kept
    if _capacity_breaks(data, cols, out) - _capacity_breaks(data, cols, kept):
        # never worse: a move broke a capacity the naive plan keeps (tonight's lots left on
        # a shelf, rounding): the naive flows as they were
        return kept
    return out


def _overflow(
    data: NetworkData, cols: Columns, naive: Solution, avoid: np.ndarray
) -> Solution | None:
    """The rounds of :func:`within_capacity`, with no move on the lanes ``avoid`` marks
    (None: no warehouse has a capacity, nothing to move)."""
    x = naive.x.copy()
    q = naive.q.copy()
    W = len(data.warehouses)
    if not len(x) or not W:
        return None
    H = float(data.horizon_days)
    thr_cap = H * np.asarray(data.wh_throughput_per_day, float)
    m3_cap = np.asarray(data.wh_storage_m3, float)
    if cols.has_state:
        # tonight's lots a move leaves on the shelf are not counted: only throughput moves
        # (and the result is kept only if it breaks no capacity the naive plan keeps)
        m3_cap = np.full(W, np.inf)
    if not (np.isfinite(thr_cap).any() or np.isfinite(m3_cap).any()):
        return None
    P = len(cols.p_dem)
    chosen = _cheapest_freight(cols)
    has_in = chosen >= 0
    fc = chosen[has_in]
    vol_kw = np.asarray(data.sku.volume_m3, float)[cols.kw_sku]
    coef_kw = np.zeros(len(chosen))
    coef_kw[has_in] = cols.f_coef[fc]
    m3u_kw = coef_kw * vol_kw
    in_kw = np.full(len(chosen), np.inf)
    in_kw[has_in] = cols.f_lane[fc] + cols.f_duty[fc] + cols.f_hold[fc]
    opened = naive.y > 0.5
    per_unit_fixed = np.where(
        opened | ~np.isfinite(thr_cap), 0.0, data.wh_fixed_cost / np.maximum(thr_cap, 1.0)
    )
    late = float(cols.late_penalty)
    x_cost = cols.x_lane + cols.x_duty + cols.x_handling + in_kw[cols.x_kw] + late * ~cols.x_ontime
    x_alt = x_cost + per_unit_fixed[cols.x_wh]
    m3u_x = m3u_kw[cols.x_kw]
    # no move loads a lane of ``avoid``: not by the target's outbound path, its SKU's
    # cheapest freight in, nor a direct line
    free_in = np.zeros(len(chosen), dtype=bool)
    free_in[has_in] = ~capped_options(data.inbound, avoid)[cols.f_opt[fc]]
    free_x = free_in[cols.x_kw] & ~capped_options(data.outbound, avoid)[cols.x_opt]
    free_q = ~capped_options(data.direct, avoid)[cols.q_opt]
    # the cheapest direct line per pair (no warehouse capacity: always takes the move)
    q_cost = cols.q_lane + cols.q_duty + late * ~cols.q_ontime
    best_q = np.full(P, -1, dtype=np.int64)
    if free_q.any():
        q_ok = np.flatnonzero(free_q)
        oq = q_ok[np.lexsort((q_cost[q_ok], cols.q_pair[q_ok]))]
        fq = np.r_[True, cols.q_pair[oq][1:] != cols.q_pair[oq][:-1]]
        best_q[cols.q_pair[oq[fq]]] = oq[fq]
    cost_q = np.full(P, np.inf)
    cost_q[best_q >= 0] = q_cost[best_q[best_q >= 0]]
    # outbound alternatives by (pair, cost) once; each round takes the first usable one
    ox = np.lexsort((x_alt, cols.x_pair))
    ox = ox[free_x[ox] & np.isfinite(x_alt[ox])]
    usable = data.wh_usable
    vol_tol = float(vol_kw.min()) if len(vol_kw) else 0.0
    full = np.zeros(W, dtype=bool)  # a warehouse that turned a move down takes no more
    for _round in range(2 * W + 8):
        thr = np.bincount(cols.x_wh, weights=x, minlength=W)
        kw_need = np.bincount(cols.x_kw, weights=x, minlength=len(cols.kw_sku))
        # the model's stock rule on the cheapest freight, rounded up as the plan's levels are
        levels = np.maximum(np.ceil(coef_kw * kw_need - 1e-6), 0.0)
        m3 = np.bincount(cols.kw_wh, weights=levels * vol_kw, minlength=W)
        over_t = np.where(np.isfinite(thr_cap), thr - thr_cap, -np.inf)
        over_m = np.where(np.isfinite(m3_cap), m3 - m3_cap, -np.inf)
        hot = (over_t > 1e-6) | (over_m > 1e-9)
        if not hot.any():
            break
        room_t = np.where(np.isfinite(thr_cap), thr_cap - thr, np.inf)
        room_m = np.where(np.isfinite(m3_cap), m3_cap - m3, np.inf)
        takes = usable & ~hot & ~full & (room_t > 1e-6) & (room_m > vol_tol)
        src = np.flatnonzero((x > 1e-12) & hot[cols.x_wh])
        elig = ox[takes[cols.x_wh[ox]]]
        best_x = np.full(P, -1, dtype=np.int64)
        if len(elig):
            fe = np.r_[True, cols.x_pair[elig][1:] != cols.x_pair[elig][:-1]]
            best_x[cols.x_pair[elig[fe]]] = elig[fe]
        p = cols.x_pair[src]
        bx = best_x[p]
        cx = np.full(len(bx), np.inf)
        cx[bx >= 0] = x_alt[bx[bx >= 0]]
        cq = cost_q[p]
        to_q = cq < cx
        delta = np.minimum(cx, cq) - x_cost[src]
        ok = np.isfinite(delta)
        src, bx, to_q, delta = src[ok], bx[ok], to_q[ok], delta[ok]
        if not len(src):
            break
        # the sources shed their cheapest moves first, only what brings them within capacity
        o = np.lexsort((delta, cols.x_wh[src]))
        src, bx, to_q, delta = src[o], bx[o], to_q[o], delta[o]
        w_src = cols.x_wh[src]
        a = x[src]
        before_t = _grouped_exclusive_cumsum(w_src, a)
        before_m = _grouped_exclusive_cumsum(w_src, a * m3u_x[src])
        need_t = np.maximum(over_t[w_src] - before_t, 0.0)
        # storage: whole units of stocking level (a level is rounded up: shedding less than
        # one unit's flow may free nothing), k units of level are k / coef units of flow
        kw_s = cols.x_kw[src]
        co, vo = coef_kw[kw_s], vol_kw[kw_s]
        level_units = np.ceil(np.maximum(over_m[w_src] - before_m, 0.0) / np.maximum(vo, 1e-300))
        need_m = np.where((co > 0) & (vo > 0), level_units / np.where(co > 0, co, 1.0), 0.0)
        amount = np.minimum(a, np.maximum(need_t, need_m))
        # a warehouse takes the moves offered to it, cheapest first, while it has room
        n_full = int(full.sum())
        tx = np.flatnonzero(~to_q & (amount > 0))
        if len(tx):
            t = cols.x_wh[bx[tx]]
            ot = np.lexsort((delta[tx], t))
            tx, t = tx[ot], t[ot]
            mt = m3u_x[bx[tx]]
            # each move may also round its SKU's level up by one unit
            new = vol_kw[cols.x_kw[bx[tx]]]
            in_t = _grouped_exclusive_cumsum(t, amount[tx])
            in_m = _grouped_exclusive_cumsum(t, amount[tx] * mt + new)
            fit_t = np.maximum(room_t[t] - in_t, 0.0)
            fit_m = np.where(
                mt > 0,
                np.maximum(room_m[t] - in_m - new, 0.0) / np.where(mt > 0, mt, 1.0),
                np.where(room_m[t] - in_m - new >= 0, np.inf, 0.0),
            )
            fit = np.minimum(amount[tx], np.minimum(fit_t, fit_m))
            full[t[fit < amount[tx] - 1e-9]] = True
            amount[tx] = fit
        moved = amount > 1e-9
        if not moved.any():
            if full.sum() > n_full:
                continue  # the next round offers those moves elsewhere
            break
        src, bx, to_q, amount = src[moved], bx[moved], to_q[moved], amount[moved]
        np.subtract.at(x, src, amount)
        np.add.at(x, bx[~to_q], amount[~to_q])
        np.add.at(q, best_q[cols.x_pair[src[to_q]]], amount[to_q])
    x[x < 1e-9] = 0.0
    return _finish(data, cols, x, q, naive.u.copy())[1]


def lane_loads(
    data: NetworkData,
    cols: Columns,
    sol: Solution,
    group: np.ndarray | None = None,
    n_groups: int = 1,
) -> np.ndarray:
    """The load a solution's inbound, outbound and direct flows put on every lane per day,
    from the model's own lane rows: shape ``(n_groups, lanes, 3)`` (kg, m³, units in
    :class:`~network.compile.LaneDim` order); ``group`` gives each SKU's group (default: one)."""
    from optimizer.allocation.model import lane_rows, split_lane_key

    L = len(data.lanes)
    out = np.zeros(n_groups * L * 3)
    for opts, opt, sku, units in (
        (data.inbound, cols.f_opt, cols.f_sku, sol.f),
        (data.outbound, cols.x_opt, cols.p_sku[cols.x_pair], sol.x),
        (data.direct, cols.q_opt, cols.p_sku[cols.q_pair], sol.q),
    ):
        nz = np.flatnonzero(units > 0)  # only the columns with flow
        keys, cs, vs = lane_rows(data, opts, opt[nz], sku[nz], 0)
        for k, c, v in zip(keys, cs, vs, strict=True):
            ln, dim = split_lane_key(k)
            g = group[sku[nz][c]] if group is not None else 0
            flat = (g * L + ln) * 3 + dim
            out += np.bincount(flat, weights=v * units[nz][c], minlength=n_groups * L * 3)
    return out.reshape(n_groups, L, 3) / float(data.horizon_days)


def _lane_breaks(data: NetworkData, cols: Columns, sol: Solution) -> set[int]:
    """The lanes whose capacity (kg, m3 or units a day) a solution's inbound, outbound and
    direct flows break (the evaluator's tolerances)."""
    tol = 1e-6
    over = lane_loads(data, cols, sol)[0] > data.lane_caps * (1 + tol) + tol
    return set(np.flatnonzero(over.any(axis=1)).tolist())


def breaks_capacity(data: NetworkData, cols: Columns, sol: Solution) -> bool:
    """Whether a solution breaks a lane's or a warehouse's capacity (throughput, storage, the
    shelf with tonight's stock), by the evaluator's rules and tolerances."""
    return bool(_capacity_breaks(data, cols, sol) or _lane_breaks(data, cols, sol))


def _capacity_breaks(data: NetworkData, cols: Columns, sol: Solution) -> set[tuple[int, str]]:
    """The (warehouse, kind) capacities a solution breaks: throughput, the stocking levels'
    storage and, with tonight's stock, the shelf's (the evaluator's rules and tolerances)."""
    from optimizer.allocation.model import storage_breaks

    W = len(data.warehouses)
    thr = np.bincount(cols.x_wh, weights=sol.x, minlength=W) / float(data.horizon_days)
    tol = 1e-6
    cap = np.asarray(data.wh_throughput_per_day, float)
    out = {
        (int(w), "throughput")
        for w in np.flatnonzero(np.isfinite(cap) & (thr > cap * (1 + tol) + tol))
    }
    storage, shelf = storage_breaks(data, cols, sol, tol)
    out |= {(int(w), "storage") for w in storage}
    out |= {(int(w), "shelf") for w in shelf}
    return out


def _grouped_exclusive_cumsum(group: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Per position of ``v`` (sorted by ``group``), the sum of the earlier values of its
    group."""
    c = np.cumsum(v) - v
    start = np.r_[True, group[1:] != group[:-1]]
    base = c[start]
    return np.asarray(c - np.repeat(base, np.diff(np.r_[np.flatnonzero(start), len(v)])))


def grouped_running_min(gid: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The running minimum of ``v`` within each group of consecutive equal ``gid``, exactly.

    (It was once one ``np.minimum.accumulate`` over ``v`` scaled and shifted down per group;
    the scaling's rounding grew with the group number and left about 1e-6 units of lot use
    where none was due on tier L's 200,000 (SKU, warehouse) groups, which the evaluator
    refused.)"""
    if not len(v):
        return np.zeros(0)
    out: np.ndarray = pd.Series(v).groupby(gid, sort=False).cummin().to_numpy(dtype=np.float64)
    return out


def _use_state(
    data: NetworkData, cols: Columns, x: np.ndarray, q: np.ndarray, y: np.ndarray, need: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Inventory used where it is, returns taken or written off; the need left to order."""
    H = float(data.horizon_days)
    nkw = len(cols.kw_sku)
    e = np.zeros(len(cols.e_lot))
    loc = np.flatnonzero(cols.e_topt < 0)
    if len(loc):
        # per (SKU, warehouse), latest lot first: lot j may cover at most the demand after it
        # arrives, (1 - d_j/H)·X, less what later lots took; cumulative use after lot j is
        # c_j = U_j + min(0, min_{i<=j}(b_i - U_i)) (U: cumulative lot units, b: the caps)
        order = loc[np.lexsort((-cols.e_day[loc], cols.e_kw[loc]))]
        g = cols.e_kw[order]
        units = data.inv_units[cols.e_lot[order]].astype(float)
        b = (1.0 - cols.e_day[order] / H) * need[g]
        first = np.r_[True, g[1:] != g[:-1]]
        gid = np.cumsum(first) - 1
        csum = np.cumsum(units)
        base = np.repeat(csum[first] - units[first], np.diff(np.r_[np.flatnonzero(first), len(g)]))
        U = csum - base
        run = grouped_running_min(gid, b - U)
        c = U + np.minimum(0.0, run)
        prev = np.r_[0.0, c[:-1]]
        prev[first] = 0.0
        e[order] = np.clip(c - prev, 0.0, units)
    lo = data.inv_units.astype(float).copy()
    np.subtract.at(lo, cols.e_lot, e)
    lo = np.maximum(lo, 0.0)
    supply = np.bincount(cols.e_kw, weights=e, minlength=nkw)
    # returns: the cheapest returns warehouse in use, else written off
    P = len(cols.p_dem)
    deliv = np.bincount(cols.x_pair, weights=x, minlength=P) + np.bincount(
        cols.q_pair, weights=q, minlength=P
    )
    back = cols.p_rate * deliv
    r = np.zeros(len(cols.r_pair))
    ok = np.flatnonzero(y[cols.r_wh] > 0.5) if len(cols.r_pair) else np.zeros(0, np.int64)
    if len(ok):
        order = ok[np.lexsort((cols.r_lane[ok] + cols.r_handling[ok], cols.r_pair[ok]))]
        first = np.r_[True, cols.r_pair[order][1:] != cols.r_pair[order][:-1]]
        r[order[first]] = back[cols.r_pair[order[first]]]
    taken = np.bincount(cols.r_pair, weights=r, minlength=P)
    o = np.maximum(back[cols.o_pair] - taken[cols.o_pair], 0.0)
    resold = np.bincount(cols.r_kw, weights=r * cols.p_resell[cols.r_pair], minlength=nkw)
    left = need - supply - resold
    sp = np.maximum(-left, 0.0)[cols.sp_kw]
    return {"e": e, "lo": lo, "r": r, "o": o, "sp": sp}, np.maximum(left, 0.0)
