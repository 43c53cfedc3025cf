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
reports
what the naive plan breaks. :func:`naive_solution` also returns a copy whose stocking levels
meet the model's stock rule, used to warm-start the MIP.
"""

from __future__ import annotations

import numpy as np

from network.compile import NetworkData
from optimizer.allocation.columns import Columns, stock_levels
from optimizer.allocation.result import Solution

__all__ = ["naive_solution"]


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

    y = data.wh_kept_open.astype(float)
    y[np.unique(cols.x_wh[x > 0])] = 1.0
    # replenishment: cheapest freight inbound column per (SKU, warehouse)
    need = np.bincount(cols.x_kw, weights=x, minlength=nkw)
    extra: dict[str, np.ndarray] = {}
    if cols.has_state:
        extra, need = _use_state(data, cols, x, q, y, need)
    f = np.zeros(len(cols.f_sku))
    if len(f):
        freight = cols.f_lane + cols.f_duty
        order = np.lexsort((freight, cols.f_kw))
        first = np.r_[True, cols.f_kw[order][1:] != cols.f_kw[order][:-1]]
        chosen = order[first]
        f[chosen] = need[cols.f_kw[chosen]]
    # cover-days stock: allocated demand per day × (lead time + review period)
    R = data.service.review_period_days
    cover = np.bincount(
        cols.f_kw, weights=f / data.horizon_days * (cols.f_hours / 24.0 + R), minlength=nkw
    )
    naive = Solution(y=y, x=x, q=q, u=u, f=f, stock=np.maximum(np.ceil(cover - 1e-9), 0.0), **extra)
    hint = Solution(y=y, x=x, q=q, u=u, f=f, stock=stock_levels(data, cols, f), **extra)
    return naive, hint


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
        v = b - U
        span = float(np.abs(v).max()) + 1.0
        shifted = v / span - 3.0 * gid  # later groups always smaller: the running min resets
        run = (np.minimum.accumulate(shifted) + 3.0 * gid) * span
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
