"""Searches around the OR-Tools model: the sweep start of large days, the ILS followed by a
metaheuristic, and Python-driven ruin-and-recreate rounds (a large neighbourhood search).

- ``sweep_start``: clients sorted by angle around the first depot (from a seeded random
  offset); routes grow greedily and are feasible by construction in OR-Tools' integers. O(n log
  n); OR-Tools' insertion heuristics did not finish a 2,000-order day within 60 s.
- ``ils_then_meta``: OR-Tools' iterated local search (SISR-like string removal of about 10
  clients, local cheapest insertion, a greedy descent with the cheaper local-search operators,
  simulated-annealing acceptance with temperatures relative to the mean arc cost) for
  ``ils_time_share`` of the time, then guided local search from its best solution.
- ``lns``: remove about 10 % of the clients from the best routes (``string``: SISR-like strings
  of consecutive clients from the routes nearest to a random client; ``radial``: a random client
  and its nearest neighbours), let a short OR-Tools search re-insert and improve, keep the
  result if it is better.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import numpy.typing as npt

from optimizer.routing.instance import F, RoutingInstance, VehicleType
from optimizer.routing.model import (
    Assignment,
    SearchParameters,
    VrpModel,
    configure_ils,
    search_parameters,
    set_metaheuristic,
    set_time_limit,
)
from optimizer.routing.params import RoutingParams
from optimizer.routing.scaling import Scaled, VehicleBounds

__all__ = ["ils_then_meta", "lns", "mean_arc_cost", "sweep_routes", "sweep_start"]

log = logging.getLogger(__name__)


def sweep_routes(
    *,
    D: int,
    veh_type: list[int],
    vts: tuple[VehicleType, ...],
    bounds: list[VehicleBounds],
    angle: F,
    dem: F,
    dur: F,
    svc: F,
    early: F,
    late: F,
    optional: npt.NDArray[np.bool_],
    offset: float,
    window: int = 25,
) -> list[list[int]] | None:
    """Routes (model node numbers) from an angular sweep, feasible by construction.

    Clients (nodes ``D..``) are sorted by polar angle around the first depot, starting at
    ``offset``; each route grows by the nearest client among the next ``window`` unrouted ones
    in that order that capacity, its time window, the return by the shift end and the maximum
    duration allow, and closes when none fits.
    All data are the scaled integers given to OR-Tools (``bounds[t]``: the limits of vehicle
    type ``t``), so the routes are feasible in
    its arithmetic. Returns None when a mandatory client is left over (then OR-Tools' heuristic
    is used).
    """
    order = list(D + np.argsort((angle[D:] - offset) % (2 * math.pi), kind="stable"))
    routes: list[list[int]] = []
    for t in veh_type:
        if not order:
            routes.append([])
            continue
        vt = vts[t]
        dep, end = vt.start_depot, vt.end
        b = bounds[t]
        cap, shift_start, shift_end, max_duration = (
            b.capacity,
            b.shift_start,
            b.shift_end,
            b.max_duration,
        )
        load = np.zeros_like(cap)
        clock = start = shift_start
        prev = dep
        route: list[int] = []
        while order:
            # nearest feasible client among the next `window` in sweep order: compact routes
            best, best_d = -1, math.inf
            for k, n in enumerate(order[:window]):
                arr = clock + dur[prev, n]
                begin = max(arr, early[n])
                done = begin + svc[n]
                if (
                    dur[prev, n] < best_d
                    and np.all(load + dem[n] <= cap + 1e-9)
                    and begin <= late[n]
                    and done + dur[n, end] <= shift_end
                    and done + dur[n, end] - start <= max_duration
                ):
                    best, best_d = k, dur[prev, n]
            if best < 0:
                break
            n = order.pop(best)
            route.append(int(n))
            load = load + dem[n]
            clock = max(clock + dur[prev, n], early[n]) + svc[n]
            prev = n
        routes.append(route)
    if order and not np.all(optional[np.asarray(order) - D]):
        return None
    return routes


def sweep_start(
    inst: RoutingInstance, sc: Scaled, veh_type: list[int], seed: int
) -> list[list[int]] | None:
    """Sweep routes (node numbers, one list per vehicle) or None (no coordinates, leftovers).

    The angle is taken around the first depot (with several depots each route still starts at
    its own); ``seed`` sets the angle where the sweep starts.
    """
    if inst.coords is None:
        return None
    D = inst.num_depots
    xy = np.asarray(inst.coords, dtype=float)[sc.loc_of_node]
    angle = np.arctan2(xy[:, 1] - xy[0, 1], xy[:, 0] - xy[0, 0])
    offset = float(np.random.default_rng(seed).uniform(-math.pi, math.pi))
    dem_i = np.column_stack([sc.demand_int(d) for d in range(sc.dem.shape[1])])
    return sweep_routes(
        D=D,
        veh_type=veh_type,
        vts=inst.vehicle_types,
        bounds=[sc.bounds(vt) for vt in inst.vehicle_types],
        angle=angle,
        dem=dem_i.astype(float),
        dur=sc.t_int.astype(float),
        svc=sc.svc_int.astype(float),
        early=sc.early_i.astype(float),
        late=sc.late_i.astype(float),
        optional=np.isfinite(sc.pen),
        offset=offset,
    )


def mean_arc_cost(sc: Scaled, num_depots: int, num_clients: int) -> float:
    """Mean arc cost between clients in OR-Tools' integers (the ILS temperatures' unit).

    At least 1, the smallest cost step OR-Tools' integers can tell apart: where travel costs
    nothing (only fixed costs, or every order at one address) a mean of 0 would give the
    annealing a zero temperature, which OR-Tools refuses.
    """
    D, C = num_depots, num_clients
    n_c = max(C, 2)
    sub = sc.arc_costs[0][D:, D:]
    mean = float(sub.sum() / (n_c * (n_c - 1))) * sc.cs if C > 1 else float(sc.cs)
    return max(mean, 1.0)


def ils_then_meta(
    model: VrpModel,
    sp: SearchParameters,
    params: RoutingParams,
    *,
    mean_arc: float,
    num_clients: int,
    left: float,
    deadline: float,
    name: str,
) -> Assignment | None:
    """OR-Tools' ILS, then ``params.metaheuristic`` from its best solution.

    With a time limit and ``ils_time_share < 1`` the ILS gets that share of ``left`` seconds and
    the metaheuristic the rest until ``deadline`` (``time.perf_counter()`` clock); otherwise the
    ILS runs alone with ``sp``'s limits.
    """
    configure_ils(sp, params, mean_arc, num_clients)
    if params.time_limit_s is None or params.ils_time_share >= 1:
        return model.solve_ils(sp)
    sp_ils = search_parameters(params, left * params.ils_time_share)
    configure_ils(sp_ils, params, mean_arc, num_clients)
    solution = model.solve_ils(sp_ils)
    rest = deadline - time.perf_counter()
    if solution is not None and rest > 0.05:
        better = model.solve_from(solution, search_parameters(params, rest))
        log.debug(
            "routing %s: ILS %s, then %s: %s",
            name,
            model.objective(solution),
            params.metaheuristic,
            None if better is None else model.objective(better),
        )
        if better is not None and model.objective(better) <= model.objective(solution):
            solution = better
    return solution


def _ruin(
    routes: list[list[int]],
    *,
    rng: np.random.Generator,
    order: npt.NDArray[np.int64],
    D: int,
    C: int,
    q: int,
    removal: str,
) -> set[int]:
    """Nodes to remove: ``radial`` or SISR-like ``string`` removal around a random client.

    String removal: a string around the nearest client of each route met while walking outwards
    from the seed client, until ``q`` clients are removed.
    """
    seed_node = D + int(rng.integers(C))
    near = order[seed_node - D]
    if removal == "radial":
        return {int(n) for n in near[:q]}
    where = {n: (k, p) for k, r in enumerate(routes) for p, n in enumerate(r)}
    removed: set[int] = set()
    touched: set[int] = set()
    lmax = max(1, min(10, q))
    for n in near:
        if len(removed) >= q:
            break
        n = int(n)
        if n not in where or where[n][0] in touched:
            continue
        k, p = where[n]
        r = routes[k]
        L = int(rng.integers(1, min(len(r), lmax, q - len(removed)) + 1))
        lo = int(rng.integers(max(0, p - L + 1), min(p, len(r) - L) + 1))
        removed.update(r[lo : lo + L])
        touched.add(k)
    return removed


def lns(
    model: VrpModel,
    best: Assignment,
    sp: SearchParameters,
    *,
    rounds: int,
    params: RoutingParams,
    dist: F,
    mandatory: npt.NDArray[np.bool_],
    deadline: float,
    round_s: float,
) -> Assignment:
    """Ruin-and-recreate rounds around OR-Tools' search (see ``RoutingParams.lns_rounds``).

    Acceptance: a round's result becomes the next start when it is better than the current
    solution, or within ``lns_accept`` of the best with the threshold shrinking linearly to 0
    over the time left (record-to-record travel); the best is always kept.
    """
    D = model.num_depots
    rng = np.random.default_rng(params.seed + 7919)
    C = len(mandatory)
    q = max(3, round(params.lns_share * C))
    if params.lns_meta is not None:
        set_metaheuristic(sp, params.lns_meta)
    order = np.argsort(dist[D:, D:], axis=1) + D  # clients by distance, per client

    def drops_mandatory(sol: Assignment) -> bool:
        served = {n for r in model.routes(sol) for n in r}
        return any(mandatory[n - D] and n not in served for n in range(D, D + C))

    best_obj = cur_obj = model.objective(best)
    cur = best
    t_start = time.perf_counter()
    span = max(1e-9, deadline - t_start)
    for _ in range(rounds):
        left = deadline - time.perf_counter()
        if left < 0.2:
            break
        routes = model.routes(cur)
        removed = _ruin(routes, rng=rng, order=order, D=D, C=C, q=q, removal=params.lns_removal)
        start = model.partial_assignment([[n for n in r if n not in removed] for r in routes])
        if start is None:
            log.debug("lns round: partial routes rejected")
            continue
        set_time_limit(sp, min(left, round_s))
        t_r = time.perf_counter()
        sol = model.solve_from(start, sp)
        log.debug(
            "lns round: %d removed, %.3f s, status %s, objective %s",
            len(removed),
            time.perf_counter() - t_r,
            model.status(),
            None if sol is None else model.objective(sol),
        )
        if sol is None or drops_mandatory(sol):
            continue
        obj = model.objective(sol)
        thr = params.lns_accept * max(0.0, 1.0 - (time.perf_counter() - t_start) / span)
        if obj < cur_obj or (thr > 0 and obj <= best_obj * (1 + thr)):
            cur, cur_obj = sol, obj
        if obj < best_obj:
            best, best_obj = sol, obj
    return best
