"""A Lagrangian lower bound for the allocation MIP: a facility-location problem solved exactly.

Dualise every row of :func:`optimizer.allocation.build_allocation_model` that couples demand
pairs or SKUs (storage, throughput, lane capacities, on-time targets) with multipliers
``λ ≥ 0``. What is left separates by demand pair once the warehouses ``y`` are chosen:

- stocking levels only meet the stock rule (``S = Σ coef·f``), so an inbound unit through
  option r costs ``c_r + λ_storage[w]·v_k·coef_r + Σ λ_lane·a``;
- a unit of pair p served from warehouse w costs ``c̃[p,w]`` = its cheapest outbound option
  at w (with the throughput, lane and on-time prices) plus the cheapest inbound option of the
  SKU at w; direct lines and lost sales are always available at ``d[p]``;
- a warehouse costs ``fixed_w − λ_storage[w]·storage_w − λ_throughput[w]·H·throughput_w``.

So ``L(λ) = const(λ) + min_y Σ_w fixed'_w y_w + Σ_p D_p · min(d_p, min_{w: y_w=1} c̃[p,w])``,
an uncapacitated facility-location problem (UFL) with the demand pairs as customers. For every
``λ ≥ 0`` it is a lower bound on the MIP's optimum (weak duality), and it is tight when ``λ``
are the optimal multipliers and the UFL's integrality costs nothing. The multipliers come from
the duals of the fixed-``y`` LP of the best plan found (for that ``y`` the Lagrangian equals the
LP's value, by LP duality), then a few projected subgradient steps.

The UFL is solved exactly by Benders decomposition on ``y`` (Fischetti, Ljubić and Sinnl,
*Redesigning Benders decomposition for large-scale facility location*, Management Science
63(7), 2017): for a pair p and any critical cost ``κ_p``,
``θ_p ≥ κ_p − Σ_w (κ_p − c̃[p,w])⁺ y_w`` is valid, and tight at a point ``y*`` when ``κ_p`` is
the cost at which the pair's cheapest-first fill of ``y*`` reaches one. The cuts are summed
over groups of pairs (one per zone), first on the LP relaxation of ``y`` (Kelley's method),
then with ``y`` binary; the master is a small MIP (warehouses + one variable per group) solved
by HiGHS through OR-Tools' ``model_builder``, rows scaled to coefficients ≤ 1e3. The master's
optimum is the bound reported (capped at the value of the best set evaluated), so it is valid
whenever the search stops; the best iterate's last integer master is solved again by SCIP at
the end of :func:`lagrangian_search` and the lower answer is kept (HiGHS returned wrong
"optimal" masters in :mod:`optimizer.allocation.capacity_bound`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from network.compile import NetworkData, PathOptions
from optimizer.allocation.columns import Columns
from optimizer.allocation.model import AllocationModel, lane_key_caps, lane_rows
from optimizer.solver import solve_small_mip

__all__ = [
    "Multipliers",
    "PairCosts",
    "UflBound",
    "capacitated_lane_keys",
    "lagrangian_bound",
    "lagrangian_search",
    "multipliers_from_duals",
    "pair_costs",
    "recheck_ufl",
    "solve_small_mip",
    "solve_ufl",
    "subgradient",
    "truncate_pairs",
]

log = logging.getLogger(__name__)
F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Multipliers:
    """Non-negative prices of the dualised rows.

    ``storage`` and ``throughput`` per warehouse, ``lanes`` per lane key
    (:func:`~optimizer.allocation.model.lane_key`: lane and ``LaneDim``), ``ontime`` per
    target name (``"all"``, countries).
    """

    storage: F
    throughput: F
    lanes: dict[int, float] = field(default_factory=dict)
    ontime: dict[str, float] = field(default_factory=dict)


def multipliers_from_duals(data: NetworkData, model: AllocationModel, duals: F) -> Multipliers:
    """Read the dualised rows' prices from an LP's row duals (HiGHS signs: ≤ rows ≤ 0)."""
    W = len(data.warehouses)
    y_ub = model.ub[:W]
    stor = np.zeros(W)
    thr = np.zeros(W)
    if "storage" in model.rows:
        a, b = model.rows["storage"]
        st_w = np.flatnonzero(np.isfinite(data.wh_storage_m3) & (y_ub > 0))
        stor[st_w] = np.maximum(0.0, -duals[a:b])
    if "throughput" in model.rows:
        a, b = model.rows["throughput"]
        tp_w = np.flatnonzero(np.isfinite(data.wh_throughput_per_day) & (y_ub > 0))
        thr[tp_w] = np.maximum(0.0, -duals[a:b])
    lanes: dict[int, float] = {}
    if "lanes" in model.rows:
        a, b = model.rows["lanes"]
        lanes = {
            int(k): float(v)
            for k, v in zip(
                model.lane_keys.tolist(), np.maximum(0.0, -duals[a:b]).tolist(), strict=True
            )
            if v > 0
        }
    ontime: dict[str, float] = {}
    if "ontime" in model.rows:
        a, b = model.rows["ontime"]
        ontime = {
            k: float(max(0.0, v)) for k, v in zip(model.targets, duals[a:b].tolist(), strict=True)
        }
    return Multipliers(stor, thr, lanes, ontime)


@dataclass(frozen=True, slots=True)
class PairCosts:
    """The UFL of a Lagrangian subproblem (module docstring).

    ``c[p, w]`` per-unit cost of pair p from warehouse w (``inf``: no option, or w unusable),
    already capped at ``d[p]``; ``fixed`` per warehouse; ``const`` the multipliers' constant;
    ``x_best[p, w]`` / ``f_best[kw]`` the columns achieving the costs (-1: none), for the
    subgradient.
    """

    c: F
    d: F
    dem: F
    fixed: F
    const: float
    x_best: I
    q_best: I
    f_best: I


def _lane_price(
    data: NetworkData, opts: PathOptions, col_opt: I, col_sku: I, lam: dict[int, float], n: int
) -> F:
    out = np.zeros(n)
    if not lam:
        return out
    keys, cols_, vals = lane_rows(data, opts, col_opt, col_sku, 0)
    if not keys:
        return out
    k = np.concatenate(keys)
    uk = np.fromiter(lam.keys(), dtype=np.int64)
    uv = np.fromiter(lam.values(), dtype=float)
    o = np.argsort(uk)
    uk, uv = uk[o], uv[o]
    pos = np.clip(np.searchsorted(uk, k), 0, len(uk) - 1)
    price = np.where(uk[pos] == k, uv[pos], 0.0)
    np.add.at(out, np.concatenate(cols_), price * np.concatenate(vals))
    return out


def _group_argmin(key: I, val: F, n: int) -> tuple[F, I]:
    """Minimum of ``val`` per key and the index achieving it (-1 where a key has none)."""
    best = np.full(n, np.inf)
    arg = np.full(n, -1, dtype=np.int64)
    if len(key) == 0:
        return best, arg
    order = np.lexsort((val, key))
    first = np.r_[True, key[order][1:] != key[order][:-1]]
    sel = order[first]
    best[key[sel]] = val[sel]
    arg[key[sel]] = sel
    return best, arg


def _state_fixed(data: NetworkData, cols: Columns, bi: F) -> F:
    """Per warehouse, what tonight's lots and returns can save when it is used, at supply
    prices ``bi`` per (SKU, warehouse) pair (:mod:`optimizer.allocation.state_bound`).

    A lot pays its holding ``lot_hold`` unless used (the constant ``Σ lot_hold·I``); a use at
    warehouse w saves ``I·(bi − lane − duty − lot_hold)`` when positive, counted for every
    use (a lot with several uses can only take one: counting each is a relaxation). A
    return taken by w (at most ``ρ·D`` units, only when w is used; ``r_handling`` already
    less its multiplier) saves ``σ·max(bi, −disposal)`` against its cost when that is
    cheaper."""
    W = len(data.warehouses)
    adj = np.zeros(W)
    if len(cols.e_lot):
        b = bi[cols.e_kw]
        gain = cols.e_lane + cols.e_duty - b - cols.lot_hold[cols.e_lot]
        gain = np.where(np.isfinite(b), np.minimum(0.0, gain), 0.0)
        np.add.at(adj, cols.e_wh, data.inv_units[cols.e_lot] * gain)
    if len(cols.r_pair):
        b = bi[cols.r_kw]
        disp = -cols.kw_hold[cols.r_kw]
        val = np.where(np.isfinite(b), np.maximum(b, disp), disp)
        g = np.minimum(0.0, cols.r_lane + cols.r_handling - cols.p_resell[cols.r_pair] * val)
        np.add.at(adj, cols.r_wh, (cols.p_rate * cols.p_dem)[cols.r_pair] * g)
    return adj


def pair_costs(
    data: NetworkData,
    cols: Columns,
    mult: Multipliers,
    targets: dict[str, float],
    lane_cap: dict[int, float] | None = None,
) -> PairCosts:
    """The UFL data of the Lagrangian subproblem at ``mult`` (see the module docstring)."""
    W = len(data.warehouses)
    H = float(data.horizon_days)
    P = len(cols.p_dem)
    nkw = len(cols.kw_sku)
    mu_all = mult.ontime.get("all", 0.0)
    mu_zone = np.array([mult.ontime.get(c, 0.0) for c in data.zone_country] + [0.0])
    # outbound
    # only warehouses with a throughput row have a price (the others have no row to dualise)
    thr_price = np.where(np.isfinite(data.wh_throughput_per_day), mult.throughput, 0.0)
    xc = cols.x_cost() + thr_price[cols.x_wh]
    xc = xc + _lane_price(
        data, data.outbound, cols.x_opt, cols.p_sku[cols.x_pair], mult.lanes, len(xc)
    )
    xc = xc - cols.x_ontime * (mu_all + mu_zone[cols.p_zone[cols.x_pair]])
    # direct
    qc = cols.q_cost() + _lane_price(
        data, data.direct, cols.q_opt, cols.p_sku[cols.q_pair], mult.lanes, len(cols.q_pair)
    )
    qc = qc - cols.q_ontime * (mu_all + mu_zone[cols.p_zone[cols.q_pair]])
    # inbound, with the storage price of the stock it implies (finite-storage warehouses)
    fc = cols.f_cost() + _lane_price(
        data, data.inbound, cols.f_opt, cols.f_sku, mult.lanes, len(cols.f_sku)
    )
    fin = np.isfinite(data.wh_storage_m3)[cols.f_wh]
    fc = fc + np.where(
        fin, mult.storage[cols.f_wh] * data.sku.volume_m3[cols.f_sku] * cols.f_coef, 0.0
    )
    bi, f_best = _group_argmin(cols.f_kw, fc, nkw)
    tot = xc + bi[cols.x_kw]
    c_flat, x_arg = _group_argmin(cols.x_pair * W + cols.x_wh, tot, P * W)
    dq, q_arg = _group_argmin(cols.q_pair, qc, P)
    d = np.minimum(dq, cols.lost_penalty)
    q_arg = np.where(dq <= cols.lost_penalty, q_arg, -1)
    c = np.minimum(c_flat.reshape(P, W), d[:, None])
    c[:, ~data.wh_usable] = np.inf
    stor_price = np.where(np.isfinite(data.wh_storage_m3), mult.storage, 0.0)
    fixed = (
        data.wh_fixed_cost
        - stor_price * np.where(np.isfinite(data.wh_storage_m3), data.wh_storage_m3, 0.0)
        - thr_price
        * H
        * np.where(np.isfinite(data.wh_throughput_per_day), data.wh_throughput_per_day, 0.0)
    )
    const = sum(mult.ontime.get(k, 0.0) * v for k, v in targets.items())
    if len(cols.lot_hold) or len(cols.r_pair):
        # tonight's state in the columns of optimizer.allocation.state_bound: lots and
        # returns priced at each pair's supply cost ``bi``
        fixed = fixed + _state_fixed(data, cols, bi)
        const += float(cols.lot_hold @ data.inv_units)
    if mult.lanes:
        keys = np.fromiter(mult.lanes.keys(), dtype=np.int64, count=len(mult.lanes))
        lams = np.fromiter(mult.lanes.values(), dtype=float, count=len(mult.lanes))
        const -= float(lams @ lane_key_caps(data, keys)) * H
    return PairCosts(
        c=c,
        d=d,
        dem=cols.p_dem.astype(float),
        fixed=fixed,
        const=float(const),
        x_best=x_arg.reshape(P, W),
        q_best=q_arg,
        f_best=f_best,
    )


def truncate_pairs(c: F, d: F, k: int) -> tuple[F, npt.NDArray[np.int16], F]:
    """A pair-cost matrix (P × W, each row capped at ``d``) cut to each pair's ``k`` cheapest
    warehouses, as a lower bound: ``(costs P × k ascending, their warehouses, fallback)``.

    A pair with none of its ``k`` warehouses open pays at least the cheaper of ``d_p`` and its
    (k+1)-th cheapest cost, so that is its fallback; with that fallback the truncated UFL's
    value is at most the full one's for every ``y``, and equal when one of the ``k`` is open.
    Its bound is therefore a bound of the full UFL (and of the allocation model).
    """
    W = c.shape[1]
    if k >= W:
        order = np.argsort(c, axis=1, kind="stable")
        return np.take_along_axis(c, order, axis=1), order.astype(np.int16), d.copy()
    part = np.argpartition(c, k, axis=1)
    idx = part[:, :k]
    vals = np.take_along_axis(c, idx, axis=1)
    nxt = np.take_along_axis(c, part[:, k : k + 1], axis=1)[:, 0]
    srt = np.argsort(vals, axis=1, kind="stable")
    return (
        np.take_along_axis(vals, srt, axis=1),
        np.take_along_axis(idx, srt, axis=1).astype(np.int16),
        np.minimum(d, nxt),
    )


@dataclass(frozen=True, slots=True)
class UflBound:
    """Result of :func:`solve_ufl`: ``bound`` ≤ UFL optimum ≤ ``value`` (at ``y``)."""

    bound: float
    value: float
    y: F
    iterations: int
    optimal: bool
    seconds: float
    #: the last integer master solved to optimality (scaled model data, scale, integer
    #: columns), for :func:`recheck_ufl`; ``None`` when the bound is not from one
    master: tuple[Any, ...] | None = None


def _fill(c_sorted: F, order: npt.NDArray[np.integer[Any]], d: F, y: F) -> tuple[F, F]:
    """Per pair: the cheapest-first fill cost of ``y`` and its critical cost κ."""
    ys = y[order]
    cum = np.cumsum(ys, axis=1)
    full: npt.NDArray[np.bool_] = cum >= 1.0 - 1e-9
    has = np.asarray(full.any(axis=1), dtype=bool)
    k = np.argmax(full, axis=1)
    P = len(d)
    kappa = np.where(has, c_sorted[np.arange(P), k], d)
    prev = np.where(k > 0, cum[np.arange(P), np.maximum(k - 1, 0)], 0.0)
    take = np.where(np.arange(ys.shape[1])[None, :] < k[:, None], ys, 0.0)
    take = np.where(has[:, None], take, ys)
    cfin = np.where(np.isfinite(c_sorted), c_sorted, 0.0)
    cost = (take * cfin).sum(axis=1) + kappa * np.where(has, 1.0 - prev, 1.0 - cum[:, -1])
    return cost, kappa


def solve_ufl(
    pc: PairCosts,
    group: I,
    y_lb: F,
    y_ub: F,
    deadline: float,
    y_start: F | None = None,
    tol: float = 1e-6,
    *,
    order: npt.NDArray[np.integer[Any]] | None = None,
) -> UflBound:
    """Solve ``min fixed·y + Σ_p D_p min(d_p, min_{y_w=1} c[p,w])`` by Benders (module doc).

    ``group`` assigns each pair to a cut group (one master variable each). Returns the best
    integer ``y`` found and a valid lower bound (the master's) even when time runs out.

    ``order``: ``pc.c`` is then a short list per pair (P × K, ascending): the costs at the
    warehouses ``order[p]``, the others unavailable (pair p falls back to ``d_p``). This is the
    sparse form of :func:`truncate_pairs`, for UFLs too large to hold P × W.
    """
    t0 = time.perf_counter()
    P = pc.c.shape[0]
    W = len(pc.fixed)
    G = int(group.max()) + 1 if P else 0
    gsum = sp.csr_matrix((np.ones(P), (group, np.arange(P))), shape=(G, P))
    dem = pc.dem
    if order is None:
        order = np.argsort(pc.c, axis=1, kind="stable")
        c_sorted = np.take_along_axis(pc.c, order, axis=1)
        cap_c = np.where(np.isfinite(pc.c), pc.c, pc.d[:, None])
        cap_s = None
        flat = np.zeros(0, np.int64)
    else:
        c_sorted = cap_c = pc.c
        cap_s = np.where(np.isfinite(c_sorted), c_sorted, pc.d[:, None])
        flat = (group[:, None] * W + order).ravel()
    # trivial lower bound of each group: every pair at its cheapest warehouse
    low = np.min(cap_c if cap_s is None else cap_s, axis=1, initial=np.inf)
    theta_lb = gsum @ (dem * np.minimum(low, pc.d))
    cuts_A: list[F] = []
    cuts_b: list[F] = []

    def evaluate(y: F) -> tuple[float, F]:
        cost, kappa = _fill(c_sorted, order, pc.d, y)
        return float(pc.fixed @ y + dem @ cost), kappa

    def add_cuts(y: F, theta: F | None) -> int:
        """Add the group cuts tight at ``y`` (only the violated ones when ``theta`` is given)."""
        _, kappa = evaluate(y)
        a = gsum @ (dem * kappa)
        if cap_s is None:
            B = dem[:, None] * np.maximum(kappa[:, None] - cap_c, 0.0)
            Bg = np.asarray(gsum @ B)
        else:
            Bs = dem[:, None] * np.maximum(kappa[:, None] - cap_s, 0.0)
            Bg = np.bincount(flat, weights=Bs.ravel(), minlength=G * W).reshape(G, W)
        rhs_at = a - Bg @ y
        viol = np.ones(G, bool) if theta is None else rhs_at > theta + tol * (1 + np.abs(rhs_at))
        idx = np.flatnonzero(viol)
        if len(idx):
            # θ_g + Σ_w B[g,w] y_w ≥ a_g, one row per violated group
            cuts_A.append(np.hstack([Bg[idx], np.eye(G)[idx]]))
            cuts_b.append(a[idx])
        return len(idx)

    def master(integral: bool, limit: float) -> tuple[float, float, F | None, F | None]:
        # HiGHS through OR-Tools' model_builder (SciPy's milp prints HiGHS debug lines)
        # rows and objective scaled so that the largest warehouse coefficient or right-hand
        # side is 1e3 (θ in units of ``scale``): HiGHS returned wrong "optimal" masters on
        # unscaled ones in optimizer.allocation.capacity_bound
        if cuts_A:
            Ad = np.vstack(cuts_A)
            rl = np.concatenate(cuts_b)
            scale = (
                max(
                    1.0,
                    float(np.abs(Ad[:, :W]).max(initial=0.0)),
                    float(np.abs(rl).max(initial=0.0)),
                )
                / 1e3
            )
            Ad[:, :W] /= scale
            rl = rl / scale
            A = sp.csr_matrix(Ad)
            ru = np.full(len(rl), np.inf)
        else:
            scale = 1.0
            A = sp.csr_matrix((1, W + G))
            rl, ru = np.zeros(1), np.zeros(1)
        cobj = np.r_[pc.fixed / scale, np.ones(G)]
        lb = np.r_[y_lb, theta_lb / scale]
        ub = np.r_[y_ub, np.full(G, np.inf)]
        integer = np.flatnonzero(y_lb < y_ub) if integral else np.zeros(0, np.int64)
        # presolve stays on here (off: 25 instead of 31-34 subgradient iterations in 11 s on
        # sea-72h); a wrong "optimal" master is caught below as far as the sets evaluated allow
        r = solve_small_mip(
            lb,
            ub,
            cobj,
            rl,
            ru,
            A,
            integer,
            "highs",
            max(0.1, float(limit)),
            "output_flag=false\nmip_rel_gap=1e-7\nthreads=1",
        )
        if r.x is None:
            return -math.inf, -math.inf, None, None
        x = r.x
        obj = scale * r.objective
        if r.status == "optimal" and integral:
            last_master[0] = ((lb, ub, cobj, rl, ru, A), scale, integer)
        if r.status == "optimal":
            bnd = obj if not integral else min(obj, scale * r.bound)
        else:
            bnd = -math.inf  # interrupted: no bound claimed (see _knapsack)
        if not math.isfinite(bnd):
            bnd = -math.inf
        return obj, bnd, x[:W], scale * x[W:]

    best_val, best_y = math.inf, None
    last_master: list[tuple[Any, ...] | None] = [None]
    if y_start is not None:
        best_y = np.asarray(y_start, float)
        best_val, _ = evaluate(best_y)
        add_cuts(best_y, None)
    # phase 1: LP relaxation of y (Kelley), for cuts; phase 2: y binary, until the master's
    # bound meets the best set or no cut is violated
    it = 0
    lb_val = -math.inf
    lp_bound = -math.inf
    optimal = False
    for integral in (False, True):
        while time.perf_counter() < deadline:
            it += 1
            obj, bnd, y, th = master(integral, deadline - time.perf_counter())
            if y is None:
                break
            lb_val = max(lb_val, bnd)
            if integral:
                y = np.round(y)
            v, _ = evaluate(y)
            if integral and v < best_val:
                best_val, best_y = v, y
            if integral and best_val <= lb_val + tol * (1 + abs(best_val)):
                optimal = True
                break
            if not integral and v <= obj + tol * (1 + abs(obj)):
                break
            if add_cuts(y, th) == 0:
                optimal = integral and bnd >= obj - tol * (1 + abs(obj))
                break
        if not integral:
            lp_bound = lb_val
    log.debug(
        "ufl: LP bound %.1f, bound %.1f, best %.1f, %d iterations, %d cuts",
        lp_bound,
        lb_val,
        best_val,
        it,
        sum(len(b) for b in cuts_b),
    )
    # the UFL's optimum is at most the value of any set evaluated: a master bound above it
    # can only be a solver error, never a better bound
    if lb_val > best_val + tol * (1 + abs(best_val)):
        log.warning(
            "ufl: master bound %.2f above the value %.2f of a set; capped", lb_val, best_val
        )
        optimal = False
    return UflBound(
        bound=min(lb_val, best_val),
        value=best_val,
        y=best_y if best_y is not None else np.zeros(W),
        iterations=it,
        optimal=optimal,
        seconds=time.perf_counter() - t0,
        master=last_master[0] if lb_val > lp_bound else None,
    )


#: Time given to SCIP's re-solve of the best Lagrangian iterate's master (its bound so far is
#: used if it does not finish).
RECHECK_LIMIT_S = 5.0

#: The subgradient search stops when its step factor (2, halved after ``patience`` iterations
#: without a better bound) falls below this: ten halvings, 30 iterations or more without
#: progress, when the multipliers move by a thousandth of a Polyak step (on small state
#: networks the search went on until its time share ran out: benchmarks/README.md, "The
#: Lagrangian bound's subgradient stops when it stops improving").
MIN_STEP = 2.0**-9


def recheck_ufl(ufl: UflBound, time_limit: float, solver_name: str = "scip") -> float:
    """The last integer master of ``ufl`` solved again by another MIP solver: its bound.

    That master holds every cut ``ufl.bound`` rests on, so its optimum is at least the bound
    whenever both solvers are right; the caller claims the lower of the two. ``-inf`` when the
    re-solve gives no bound, ``ufl.bound`` when there is no integer master to re-solve.
    """
    if ufl.master is None:
        return ufl.bound
    (lb, ub, cobj, rl, ru, A), scale, integer = ufl.master
    r = solve_small_mip(
        lb,
        ub,
        cobj,
        rl,
        ru,
        A,
        integer,
        solver_name,
        max(0.1, float(time_limit)),
        "limits/gap = 1e-7\nparallel/maxnthreads = 1\n"
        if solver_name == "scip"
        else "output_flag=false\nthreads=1",
    )
    if r.x is None:
        return -math.inf
    bb = scale * r.bound
    if r.status == "optimal":
        bb = min(bb, scale * r.objective)
    return bb if math.isfinite(bb) else -math.inf


def lagrangian_bound(
    data: NetworkData,
    cols: Columns,
    mult: Multipliers,
    targets: dict[str, float],
    deadline: float,
    y_start: F | None = None,
) -> tuple[float, UflBound, PairCosts]:
    """``L(mult)``: a valid lower bound on the allocation MIP (see the module docstring)."""
    pc = pair_costs(data, cols, mult, targets)
    y_lb = data.wh_kept_open.astype(float)
    y_ub = data.wh_usable.astype(float)
    ufl = solve_ufl(pc, cols.p_zone.astype(np.int64), y_lb, y_ub, deadline, y_start=y_start)
    return pc.const + ufl.bound, ufl, pc


def subgradient(
    data: NetworkData, cols: Columns, pc: PairCosts, y: F, targets: dict[str, float], lane_keys: I
) -> tuple[F, F, F, dict[str, float]]:
    """Row violations of the subproblem's solution at binary ``y``: (storage, throughput,
    lanes over ``lane_keys``, on-time shortfall per target name)."""
    W = len(data.warehouses)
    H = float(data.horizon_days)
    P = len(cols.p_dem)
    open_ = np.asarray(y) > 0.5
    c_open = np.where(open_[None, :], pc.c, np.inf)
    w_star = np.argmin(c_open, axis=1)
    xb = pc.x_best[np.arange(P), w_star]
    served = (xb >= 0) & (c_open[np.arange(P), w_star] < pc.d - 1e-12) & open_[w_star]
    dem = pc.dem
    xi = xb[served]
    xd = dem[served]
    thr_use = np.bincount(cols.x_wh[xi], weights=xd, minlength=W)
    kw = cols.x_kw[xi]
    fi = pc.f_best[kw]
    stor_use = np.bincount(
        cols.f_wh[fi],
        weights=xd * cols.f_coef[fi] * data.sku.volume_m3[cols.f_sku[fi]],
        minlength=W,
    )
    stor_use = np.where(np.isfinite(data.wh_storage_m3), stor_use, 0.0)
    g_stor = stor_use - np.where(np.isfinite(data.wh_storage_m3), data.wh_storage_m3, 0.0) * open_
    g_thr = np.where(
        np.isfinite(data.wh_throughput_per_day),
        thr_use
        - H
        * np.where(np.isfinite(data.wh_throughput_per_day), data.wh_throughput_per_day, 0.0)
        * open_,
        0.0,
    )
    direct = ~served & (pc.q_best >= 0)
    qi = pc.q_best[direct]
    qd = dem[direct]
    on_units = {"all": float(xd @ cols.x_ontime[xi] + qd @ cols.q_ontime[qi])}
    zc = np.array(data.zone_country)
    for name in targets:
        if name == "all":
            continue
        mx = zc[cols.p_zone[np.flatnonzero(served)]] == name
        mq = zc[cols.p_zone[np.flatnonzero(direct)]] == name
        on_units[name] = float(xd[mx] @ cols.x_ontime[xi[mx]] + qd[mq] @ cols.q_ontime[qi[mq]])
    g_on = {k: float(v - on_units.get(k, 0.0)) for k, v in targets.items()}
    g_lane = np.zeros(len(lane_keys))
    if len(lane_keys):
        for opts, col_opt, col_sku, wgt in (
            (data.outbound, cols.x_opt[xi], cols.p_sku[cols.x_pair[xi]], xd),
            (data.direct, cols.q_opt[qi], cols.p_sku[cols.q_pair[qi]], qd),
            (data.inbound, cols.f_opt[fi], cols.f_sku[fi], xd),
        ):
            keys, cc, vv = lane_rows(data, opts, col_opt, col_sku, 0)
            for k_, c_, v_ in zip(keys, cc, vv, strict=True):
                tot = np.bincount(
                    np.searchsorted(lane_keys, k_), weights=v_ * wgt[c_], minlength=len(lane_keys)
                )
                g_lane += tot[: len(lane_keys)]
        g_lane -= lane_key_caps(data, lane_keys) * H
    return g_stor, g_thr, g_lane, g_on


def lagrangian_search(
    data: NetworkData,
    cols: Columns,
    mult: Multipliers,
    targets: dict[str, float],
    lane_keys: I,
    upper: float,
    deadline: float,
    *,
    step: float = 2.0,
    patience: int = 3,
    stop_gap: float = 1e-7,
    on_iter: Callable[[int, float, float], None] | None = None,
    best_out: list[Multipliers] | None = None,
) -> tuple[float, dict[str, float]]:
    """Projected subgradient ascent on the multipliers from ``mult`` (Polyak steps towards
    ``upper``, the step halved after ``patience`` iterations without a new best bound, until
    the deadline, the gap closes or the step falls below :data:`MIN_STEP`).

    Every iterate's ``L(λ)`` is a valid lower bound; the best is returned with statistics.
    ``lane_keys`` lists every capacitated lane-dimension key of the full model (the
    multipliers of lanes not listed stay as given). With ``best_out`` the multipliers of the
    best bound are appended to it.
    """
    W = len(data.warehouses)
    names = list(targets)
    nl = len(lane_keys)
    lam = np.r_[
        mult.storage,
        mult.throughput,
        np.array([mult.lanes.get(int(k), 0.0) for k in lane_keys.tolist()]),
        np.array([mult.ontime.get(k, 0.0) for k in names]),
    ]
    best = -math.inf
    since = 0
    it = 0
    t0 = time.perf_counter()
    first = math.nan
    y_prev: F | None = None
    best_m: Multipliers | None = None
    best_ufl: tuple[UflBound, float] | None = None
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        m = Multipliers(
            lam[:W],
            lam[W : 2 * W],
            {
                int(k): float(v)
                for k, v in zip(lane_keys.tolist(), lam[2 * W : 2 * W + nl].tolist(), strict=True)
                if v > 0
            },
            dict(zip(names, lam[2 * W + nl :].tolist(), strict=True)),
        )
        b, ufl, pc = lagrangian_bound(data, cols, m, targets, deadline, y_start=y_prev)
        y_prev = ufl.y
        it += 1
        if it == 1:
            first = b
        if on_iter is not None:
            on_iter(it, b, max(best, b))
        if b > best + 1e-9 * (1 + abs(best)) or (not math.isfinite(best) and b > best):
            best, since = b, 0
            best_m = m
            best_ufl = (ufl, pc.const)
        else:
            since += 1
            if since >= patience:
                step, since = step / 2, 0
        if not ufl.optimal or upper - best <= stop_gap * abs(upper) or step < MIN_STEP:
            break
        gs, gt, gl, go = subgradient(data, cols, pc, ufl.y, targets, lane_keys)
        g = np.r_[gs, gt, gl, np.array([go[k] for k in names])]
        g = np.where((lam <= 0) & (g < 0), 0.0, g)
        nrm = float(g @ g)
        if nrm <= 0:
            break  # the subproblem's solution is feasible: L(λ) is optimal
        lam = np.maximum(0.0, lam + step * (upper - b) / nrm * g)
    # the best iterate's last master solved again by SCIP: the lower answer is claimed, so a
    # wrong "optimal" from HiGHS cannot raise the bound
    recheck_s = 0.0
    if best_ufl is not None and best_ufl[0].master is not None and math.isfinite(best):
        t1 = time.perf_counter()
        cross = best_ufl[1] + min(recheck_ufl(best_ufl[0], RECHECK_LIMIT_S), best_ufl[0].value)
        recheck_s = time.perf_counter() - t1
        if cross < best - 1e-6 * (1 + abs(best)):
            log.warning(
                "Lagrangian bound: SCIP proves %.2f on the master where HiGHS "
                "claimed %.2f; the lower is kept",
                cross,
                best,
            )
        best = min(best, cross)
    if best_out is not None and best_m is not None:
        best_out.append(best_m)
    return best, {
        "lagrange_iterations": it,
        "lagrange_first": first,
        "lagrange_s": time.perf_counter() - t0,
        "lagrange_recheck_s": recheck_s,
    }


def capacitated_lane_keys(data: NetworkData, cols: Columns) -> I:
    """Every lane key (:func:`~optimizer.allocation.model.lane_key`) with a capacity row in
    the full model."""
    keys: list[I] = []
    for opts, col_opt, col_sku in (
        (data.outbound, cols.x_opt, cols.p_sku[cols.x_pair]),
        (data.direct, cols.q_opt, cols.p_sku[cols.q_pair]),
        (data.inbound, cols.f_opt, cols.f_sku),
    ):
        k_, _, _ = lane_rows(data, opts, col_opt, col_sku, 0)
        keys += k_
    return np.unique(np.concatenate(keys)).astype(np.int64) if keys else np.zeros(0, np.int64)


# ---------------------------------------------------------------------------------------------
# demand relaxation (capacitated facility location, Beasley 1988)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemandRelaxation:
    """The demand-row relaxation at multipliers ``u`` (see :func:`demand_relaxation`).

    ``L(y) = base + a·y`` is a lower bound on the cost of any plan using exactly the
    warehouses ``y`` (when ``cap·y ≥ req``); ``bound`` = min over such y.
    """

    u: F
    base: float
    a: F
    cap: F
    req: float
    bound: float
    y: F
    iterations: int
    seconds: float


def _knapsack(
    a: F, cap: F, req: float, y_lb: F, y_ub: F, nogood: list[F], limit: float
) -> tuple[float, F | None]:
    """``min a·y  s.t.  cap·y ≥ req``, y binary within bounds, excluding the listed sets."""
    free = np.flatnonzero(np.asarray(y_lb) < np.asarray(y_ub))
    if (
        not nogood
        and len(free)
        and float(cap[free].min()) > 0
        and np.ptp(cap[free]) <= 1e-12 * float(cap[free].max())
    ):
        # equal capacities (OR-Library capa/b/c): the cover is a cardinality constraint, so
        # every negative cost and then the cheapest others until the cover holds
        y = np.round(np.asarray(y_lb, float))
        short = req - float(cap @ y)
        need = max(0, math.ceil(short / float(cap[free[0]]) - 1e-9)) if short > 0 else 0
        if need > len(free):
            return math.inf, None
        o = free[np.argsort(a[free], kind="stable")]
        y[o[: max(need, int((a[o] < 0).sum()))]] = 1.0
        return float(a @ y), y
    rows = [cap]
    rl = [req]
    for s in nogood:  # Σ_{w∈S}(1 − y_w) + Σ_{w∉S} y_w ≥ 1
        rows.append(np.where(s > 0.5, -1.0, 1.0))
        rl.append(1.0 - float((s > 0.5).sum()))
    r = solve_small_mip(
        np.asarray(y_lb, float),
        np.asarray(y_ub, float),
        a,
        np.asarray(rl, float),
        np.full(len(rl), np.inf),
        sp.csr_matrix(np.vstack(rows)),
        free,
        "highs",
        limit,
        "output_flag=false\nmip_rel_gap=0\nmip_abs_gap=1e-9\nthreads=1",
    )
    if r.status == "optimal" and r.x is not None:
        return r.objective, np.round(r.x)
    if r.status == "infeasible":
        return math.inf, None
    # stopped early (time limit): no bound is claimed. The bound HiGHS reports after an
    # interrupted solve is not reliable (capc-7250 was once "proven" optimal 0.03 % above the
    # published optimum when the enumeration's last knapsack was cut off at its deadline)
    return -math.inf, None


def demand_relaxation(
    data: NetworkData,
    cols: Columns,
    y_lb: F,
    y_ub: F,
    upper: float,
    deadline: float,
    *,
    max_iter: int = 3000,
    step: float = 2.0,
    patience: int = 20,
    on_iter: Callable[[int, float], None] | None = None,
    price: Callable[[F], float] | None = None,
    price_every: int = 100,
) -> DemandRelaxation:
    """Lagrangian relaxation of the demand rows with a knapsack per warehouse.

    Storage, lane and on-time rows are dropped (a relaxation). With multipliers ``u`` per
    demand pair, a warehouse w serves the pairs whose reduced cost ``c[p,w] − u_p`` is
    negative, most negative first, up to its throughput over the horizon (a continuous
    knapsack, sorted per warehouse with numpy); direct lines and lost sales serve the rest at
    ``d_p``. The warehouse set then minimises ``Σ (fixed_w + knapsack_w) y_w`` subject to the
    cover ``Σ cap_w y_w ≥ req``: every cost term is non-negative, so a plan costing at most
    ``upper`` sends at most ``upper / min d`` units direct or lost, and ``req`` = total demand
    minus that is implied for every plan that can beat ``upper`` (Beasley, *An algorithm for
    solving large capacitated warehouse location problems*, EJOR 33, 1988). Subgradient
    steps ``step·(upper − L)/‖g‖²`` on ``u``, halved after ``patience`` iterations without a
    new best bound. With ``price`` (a warehouse set → its plan's cost), the subproblem's set is
    priced every ``price_every`` iterations and a cheaper plan lowers ``upper`` (the step
    target; the cover computed from the first ``upper`` stays valid).
    """
    t0 = time.perf_counter()
    W = len(data.warehouses)
    H = float(data.horizon_days)
    zero = Multipliers(np.zeros(W), np.zeros(W), {}, {})
    pc = pair_costs(data, cols, zero, {})
    C = np.where(np.isfinite(pc.c), pc.c, pc.d[:, None])
    d = pc.d
    D = pc.dem
    Dtot = float(D.sum())
    cap = np.where(np.isfinite(data.wh_throughput_per_day), H * data.wh_throughput_per_day, Dtot)
    cap = np.minimum(cap, Dtot)
    dmin = float(d.min()) if len(d) else math.inf
    req = max(0.0, Dtot - upper / dmin) if dmin > 0 and math.isfinite(upper) else 0.0
    u = C.min(axis=1) if len(D) else np.zeros(0)
    best = DemandRelaxation(u, -math.inf, np.zeros(W), cap, req, -math.inf, np.array(y_lb), 0, 0.0)
    since = 0
    it = 0
    while it < max_iter and time.perf_counter() < deadline:
        it += 1
        R = C - u[:, None]
        o = np.argsort(R, axis=0)
        Rs = np.minimum(np.take_along_axis(R, o, axis=0), 0.0)
        Ds = D[o]
        amt = np.clip(cap[None, :] - (np.cumsum(Ds, axis=0) - Ds), 0.0, Ds) * (Rs < 0)
        a = pc.fixed + (Rs * amt).sum(axis=0)
        base = float(u @ D + D @ np.minimum(0.0, d - u))
        kv, y = _knapsack(a, cap, req, y_lb, y_ub, [], deadline - time.perf_counter())
        if y is None:
            if math.isfinite(kv) and base + kv > best.bound:  # stopped early: bound only
                best = DemandRelaxation(
                    u.copy(), base, a, cap, req, base + kv, best.y, it, time.perf_counter() - t0
                )
            break
        val = base + kv
        if on_iter is not None:
            on_iter(it, max(val, best.bound))
        if price is not None and it % price_every == 0:
            upper = min(upper, price(y))
        if val > best.bound + 1e-9 * (1 + abs(val)) or not math.isfinite(best.bound):
            best = DemandRelaxation(
                u.copy(), base, a, cap, req, val, y, it, time.perf_counter() - t0
            )
            since = 0
        else:
            since += 1
            if since >= patience:
                step, since = step / 2, 0
        if upper - val <= 1e-9 * abs(upper) or step < 1e-6:
            break
        x = np.zeros_like(R)
        np.put_along_axis(x, o, amt, axis=0)
        g = D - x @ y - D * (d < u)
        nrm = float(g @ g)
        if nrm <= 1e-18:
            break
        target = upper if math.isfinite(upper) else abs(val) * 1.05 + 1.0
        u = u + step * (target - val) / nrm * g
    return DemandRelaxation(
        best.u, best.base, best.a, cap, req, best.bound, best.y, it, time.perf_counter() - t0
    )


def enumerate_sets(
    rel: DemandRelaxation,
    y_lb: F,
    y_ub: F,
    price: Callable[[F], tuple[float, float]],
    upper: float,
    deadline: float,
    *,
    max_sets: int = 10_000,
    on_set: Callable[[int, float, float], None] | None = None,
) -> tuple[float, float, F | None, int, bool]:
    """Price warehouse sets in increasing order of their Lagrangian bound ``L(y)``.

    ``price(y)`` returns ``(plan cost, lower bound of the plans using y)``. Every set not
    priced has ``L(y)`` at least the next one in the order, so when that exceeds the best
    plan the search is complete (``proven``). Returns ``(best cost, bound, best y, sets
    priced, proven)``; ``bound`` is valid whenever it stops.
    """
    nogood: list[F] = []
    best_y = None
    best = upper
    low_priced = math.inf  # smallest lower bound among the priced sets
    n = 0
    nxt = rel.bound
    proven = False
    while n < max_sets and time.perf_counter() < deadline:
        kv, y = _knapsack(
            rel.a, rel.cap, rel.req, y_lb, y_ub, nogood, deadline - time.perf_counter()
        )
        nxt = rel.base + kv
        if y is None or nxt >= best * (1 - 1e-9):
            proven = y is not None or kv == math.inf or nxt >= best * (1 - 1e-9)
            break
        cost, low = price(y)
        n += 1
        nogood.append(y)
        low_priced = min(low_priced, low)
        if cost < best:
            best, best_y = cost, y
        if on_set is not None:
            on_set(n, best, min(nxt, low_priced))
    bound = min(nxt, low_priced, best)
    if proven:
        bound = min(low_priced, best)
    return best, bound, best_y, n, proven


def fix_by_bound(
    rel: DemandRelaxation, y_lb: F, y_ub: F, y_ref: F, upper: float, deadline: float
) -> tuple[F, F, int]:
    """Penalty tests: fix ``y_w = y_ref[w]`` when every set with the other value has a
    Lagrangian bound of at least ``upper`` (no such set can beat a plan costing ``upper``).

    Each test is a knapsack over the warehouse set with ``y_w`` forced; the fixings are
    valid together because each excludes only sets that cannot beat ``upper``.
    """
    lb, ub = np.array(y_lb, float), np.array(y_ub, float)
    n = 0
    for w in np.flatnonzero(np.asarray(y_lb) < np.asarray(y_ub)).tolist():
        if time.perf_counter() > deadline:
            break
        tl, tu = np.array(y_lb, float), np.array(y_ub, float)
        tl[w] = tu[w] = 1.0 - round(float(y_ref[w]))
        kv, _ = _knapsack(rel.a, rel.cap, rel.req, tl, tu, [], deadline - time.perf_counter())
        if rel.base + kv >= upper * (1 - 1e-9) - 1e-9:
            lb[w] = ub[w] = round(float(y_ref[w]))
            n += 1
    return lb, ub, n
