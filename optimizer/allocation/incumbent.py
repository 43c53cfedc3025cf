"""Incumbent plans for large models: Lagrangian enumeration of warehouse sets, greedy sets,
close / open / swap local search."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from network.compile import NetworkData
from network.indices import flat_key
from optimizer.allocation.columns import Columns
from optimizer.allocation.lagrange import demand_relaxation, enumerate_sets, fix_by_bound
from optimizer.allocation.mip import solve_mip
from optimizer.allocation.model import default_targets
from optimizer.allocation.params import AllocationParams
from optimizer.allocation.result import Solution
from optimizer.allocation.transport import TransportPricer
from optimizer.progress import PhaseReport, quiet

log = logging.getLogger(__name__)

F = npt.NDArray[np.float64]
I = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

#: :func:`lagrangian_incumbent` runs the local search only above this relative gap (capb-7000:
#: gap 1.8 % after the enumeration, +0.3 % from the local search; capa-8000: 0.07 %, where the
#: MIP needs the time for its proof).
LOCAL_SEARCH_GAP = 0.005
#: With flow pricing (:class:`optimizer.allocation.transport.TransportPricer`, ~30 ms a set on
#: capb) the
#: subgradient prices its subproblem's warehouse set every this many iterations.
FAST_PRICE_EVERY = 5


def lagrangian_incumbent(
    data: NetworkData,
    params: AllocationParams,
    cols: Columns,
    y_lb: F,
    y_ub: F,
    deadline: float,
    cancel: threading.Event | None = None,
    phase: PhaseReport | None = None,
    targets: dict[str, float] | None = None,
) -> tuple[Solution | None, float, bool, dict[str, Any], tuple[F, F]]:
    """Lagrangian relaxation of the demand rows, then warehouse sets in order of bound.

    A greedy set (:func:`greedy_warehouses`) gives a first plan; subgradient ascent on the
    demand multipliers (:func:`optimizer.allocation.lagrange.demand_relaxation`, at most 25 % of the
    time) gives a bound ``base + a·y`` for every warehouse set; sets are then priced exactly
    (fixed-y solve) in increasing order of that bound (:func:`optimizer.allocation.lagrange.
    enumerate_sets`, until 40 % of the time) and the search is complete — the plan optimal —
    once the next set's bound exceeds the best plan. If it is not and the gap is above
    ``LOCAL_SEARCH_GAP``, the best set is improved by the close / open / swap local search of
    :func:`heuristic_incumbent` (until 65 %); then penalty tests
    (:func:`optimizer.allocation.lagrange.fix_by_bound`) fix the warehouses whose other value
    cannot beat
    the best plan, for the MIP that follows. Returns ``(plan, bound, proven, stats,
    (y_lb, y_ub) after fixing)``.

    When the fixed-warehouse model is a transportation problem (one SKU, no storage, lane or
    on-time rows: :class:`optimizer.allocation.transport.TransportPricer`, with ``targets`` the
    model's
    on-time targets) sets are priced as min-cost flows, about 20 times faster; the subgradient
    then prices its subproblem's set every ``FAST_PRICE_EVERY`` iterations and the local
    search always runs, with a wider neighbourhood.
    """
    t0 = time.perf_counter()
    say = phase or quiet
    budget = max(0.0, deadline - t0)
    sols: dict[bytes, Solution] = {}
    sets: dict[bytes, F] = {}
    pricer = TransportPricer.build(
        data, cols, targets if targets is not None else default_targets(data, cols)
    )
    info: dict[str, Any] = {"incumbent_fast_pricing": pricer is not None, "incumbent_evals": 0}

    def price(y: F) -> tuple[float, float]:
        info["incumbent_evals"] += 1
        key = y.astype(bool).tobytes()
        if pricer is not None:
            out = pricer.price(y)
            if out is not None:
                sets[key] = np.round(y)
                return out
        r = solve_mip(
            data,
            params,
            columns=cols,
            y_fixed=y,
            deadline=min(
                deadline, time.perf_counter() + max(5.0, 0.5 * (deadline - time.perf_counter()))
            ),
            cancel=cancel,
        )
        if r.solution is None:
            return math.inf, r.bound if math.isfinite(r.bound) else -math.inf
        if r.targets_lowered:
            # the on-time targets had to be lowered for this set: not a plan of the model
            return math.inf, -math.inf
        sols[key] = r.solution
        sets[key] = np.round(y)
        return r.objective, r.bound

    def plan(key: bytes) -> Solution | None:
        """The plan of a priced set (a set priced by flow is solved the generic way once)."""
        if key not in sols and key in sets:
            r = solve_mip(
                data,
                params,
                columns=cols,
                y_fixed=sets[key],
                deadline=max(deadline, time.perf_counter() + 5.0),
                cancel=cancel,
            )
            if r.solution is not None:
                sols[key] = r.solution
        return sols.get(key)

    y0 = greedy_warehouses(data, cols, y_lb, y_ub)
    upper, _ = price(y0)
    best_key = y0.astype(bool).tobytes()
    info["incumbent_greedy"] = upper
    best_cost = [upper]
    best_keys = [best_key]

    def price_upper(y: F) -> float:
        cost, _ = price(y)
        if cost < best_cost[0]:
            best_cost[0], best_keys[0] = cost, y.astype(bool).tobytes()
        return cost

    rel = demand_relaxation(
        data,
        cols,
        y_lb,
        y_ub,
        upper,
        t0 + 0.25 * budget,
        on_iter=lambda i, b: (
            say(f"Lagrangian bound, iteration {i}: {b:,.0f}", bound=b) if i % 100 == 0 else None
        ),
        price=price_upper,
        price_every=FAST_PRICE_EVERY if pricer is not None else 100,
    )
    upper, best_key = best_cost[0], best_keys[0]
    info.update(
        {
            "lagrange_bound": rel.bound,
            "lagrange_iterations": rel.iterations,
            "lagrange_s": rel.seconds,
            "incumbent_subgradient": upper,
        }
    )
    if not math.isfinite(rel.bound):
        return plan(best_key), -math.inf, False, info, (y_lb, y_ub)
    best, bound, y_best, n, proven = enumerate_sets(
        rel,
        y_lb,
        y_ub,
        price,
        upper,
        t0 + 0.4 * budget,
        on_set=lambda i, b, lo: say(
            f"warehouse set {i}: best {b:,.0f}, bound {lo:,.0f}", best=b, bound=lo
        ),
    )
    if y_best is not None:
        best_key = y_best.astype(bool).tobytes()
    info.update(
        {"incumbent_sets_priced": n + 1, "incumbent_proven": proven, "incumbent_enumeration": best}
    )
    if (
        not proven
        and best_key in sets
        and math.isfinite(best)
        and (pricer is not None or best - max(bound, rel.bound) > LOCAL_SEARCH_GAP * abs(best))
    ):
        # the order of the bound is a poor guide when the bound is weak: improve the best set
        # by the local search of heuristic_incumbent (close / open / swap); with a tight bound
        # and slow pricing the time is better spent on the MIP over the warehouses the penalty
        # tests leave
        say("improving the best warehouse set by local search")
        sol_ls, info_ls = heuristic_incumbent(
            data,
            params,
            cols,
            y_lb,
            y_ub,
            t0 + 0.65 * budget,
            cancel,
            y_start=sets[best_key],
            pricer=pricer,
        )
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


def _warehouse_ratio(
    data: NetworkData, cols: Columns, y_lb: F, y_ub: F
) -> tuple[F, F, float, tuple[Any, Any, F]]:
    """Per free warehouse: (fixed + cheapest demand up to capacity) per unit served."""
    W = len(data.warehouses)
    H = float(data.horizon_days)
    total = float(cols.p_dem.sum())
    cap = np.where(np.isfinite(data.wh_throughput_per_day), H * data.wh_throughput_per_day, total)
    in_min = np.full(len(cols.kw_sku), np.inf)
    np.minimum.at(in_min, cols.f_kw, cols.f_cost())
    cost = cols.x_cost() + in_min[cols.x_kw]
    ok = np.isfinite(cost)
    key = flat_key(cols.x_pair[ok], W, cols.x_wh[ok])
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


def heuristic_incumbent(
    data: NetworkData,
    params: AllocationParams,
    cols: Columns,
    y_lb: F,
    y_ub: F,
    deadline: float,
    cancel: threading.Event | None = None,
    y_start: F | None = None,
    pricer: TransportPricer | None = None,
) -> tuple[Solution | None, dict[str, Any]]:
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
        r = solve_mip(
            data,
            params,
            columns=cols,
            y_fixed=y,
            deadline=min(
                deadline, time.perf_counter() + max(5.0, 0.5 * (deadline - time.perf_counter()))
            ),
            cancel=cancel,
        )
        if r.solution is None or r.targets_lowered:
            return math.inf, None, None
        return r.objective, r.solution.x, r.solution

    y = (
        greedy_warehouses(data, cols, y_lb, y_ub)
        if y_start is None
        else np.round(np.asarray(y_start, float))
    )
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
            r = solve_mip(
                data,
                params,
                columns=cols,
                y_fixed=y,
                deadline=max(deadline, time.perf_counter() + 5.0),
                cancel=cancel,
            )
            sol = r.solution
            obj = r.objective if sol is not None else math.inf
        info["incumbent_objective"] = obj
        return sol, info

    obj, x, sol = price(y)
    info: dict[str, Any] = {
        "incumbent_greedy": obj,
        "incumbent_moves": 0,
        "incumbent_evals": 1,
        "incumbent_fast_pricing": sol is None and x is not None,
    }
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
        opened.sort(key=lambda w: -float(fc[w]) / max(float(use[w]), 1e-9))
        assert x is not None  # returned above when the start set has no plan
        gain = add_gain(x)
        closed.sort(key=lambda w: -gain[w])
        if fast:
            # flow pricing is cheap: best improvement over every close, open and swap (first
            # improvement over a shortlist stalled at +0.7 % on capb-7000; this finds its
            # optimum from the subgradient's best set in 3,344 pricings)
            moves = (
                [(w,) for w in opened]
                + [(w,) for w in closed]
                + [(a, b) for a in opened for b in closed]
            )
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
        moves = (
            [(w,) for w in opened]
            + [(a, b) for a in opened[:3] for b in closed[:5]]
            + [(w,) for w in closed]
            + [(a, b) for a in opened[:5] for b in closed[:15]]
        )
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
