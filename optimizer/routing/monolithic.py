"""``solve_monolithic``: one OR-Tools model of the whole instance, re-checked by the evaluator.

The path ``solve_routes`` takes up to ``RoutingParams.decompose_above`` clients (and the engine
of every subproblem of the decomposition). Which search runs (``RoutingParams.search="auto"``):

- ``ils`` (instances whose first solution is an OR-Tools strategy: up to ``SWEEP_ABOVE``
  clients by default): OR-Tools' own iterated local search for ``ils_time_share`` of the time,
  then guided local search from its best solution (``search.ils_then_meta``). When the ILS finds
  no first solution (an insertion heuristic with every client mandatory can fail on tight
  windows) the ``lns`` path runs for the time left: it starts with mandatory clients droppable
  at a prohibitive penalty, so it finds a start whenever one exists.
- ``lns`` (large days, which start from our sweep): a first solution (``first_solution``), then
  a metaheuristic, then, up to ``SWEEP_ABOVE`` clients, ruin-and-recreate rounds
  (``search.lns``).

Stop: ``time_limit_s`` (covering the whole call: model building, search, a reserve for reading
the solution back and re-checking it) and/or ``solution_limit`` (the number of improving
solutions; with no time limit the run is time-independent). ``seed`` permutes the order in
which clients are given to OR-Tools (seed 0 keeps the instance order), which changes the search
trajectory; for a fixed seed and a solution-limit stop the result is deterministic.

Reported costs and distances are recomputed in floating point from the instance's arrays by
``optimizer.routing.evaluate.evaluate_routes`` (no OR-Tools), which also re-checks every
constraint; a violation makes the status INFEASIBLE.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from optimizer.routing.evaluate import evaluate_routes
from optimizer.routing.instance import INF, RoutingError, RoutingInstance
from optimizer.routing.model import (
    Assignment,
    SearchParameters,
    VrpModel,
    check_parameters,
    configure_ils,
    search_parameters,
    set_neighbors,
)
from optimizer.routing.params import LNS_ROUNDS, SWEEP_ABOVE, RoutingParams
from optimizer.routing.result import Route, RoutingResult, RoutingStatus
from optimizer.routing.scaling import Scaled, scale_instance
from optimizer.routing.search import ils_then_meta, lns, mean_arc_cost, sweep_start

__all__ = [
    "RawRoute",
    "check_servable",
    "finish",
    "fleet_numbers",
    "no_solution",
    "solve_monolithic",
]

log = logging.getLogger(__name__)

RawRoute = tuple[int, int, tuple[int, ...]]
"""(vehicle type, vehicle number, client indices in visit order)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """The search path chosen for an instance (see the module docstring)."""

    first: str
    use_ils: bool
    rounds: int
    lns: bool


def _plan(params: RoutingParams, num_clients: int) -> _Plan:
    C = num_clients
    first = params.first_solution
    if first == "auto":
        first = "sweep" if C > SWEEP_ABOVE else "parallel_cheapest_insertion"
    # OR-Tools' iterated local search builds its own first solution (it cannot start from our
    # sweep), so "auto" uses it only with an OR-Tools first-solution strategy
    use_ils = params.search == "ils" or (params.search == "auto" and first != "sweep")
    rounds = params.lns_rounds
    if rounds is None:
        rounds = LNS_ROUNDS if C <= SWEEP_ABOVE else 0
    lns_on = rounds > 0 and params.time_limit_s is not None and C > 2 and not use_ils
    return _Plan(first=first, use_ils=use_ils, rounds=rounds, lns=lns_on)


def check_servable(inst: RoutingInstance) -> None:
    """Raise ``RoutingError`` for a mandatory client that no vehicle can serve even alone: its
    demand fits no vehicle type, or no type's out-and-back trip (leaving at its shift start,
    waiting for the window to open) starts service by the window's close, returns by the shift
    end and stays within the maximum route duration. Such an instance has no solution; saying
    which order and why is more use than a search that runs out its time limit."""
    C, D = inst.num_clients, inst.num_depots
    if not C:
        return
    mandatory = ~np.isfinite(inst.drop_penalty)
    if not mandatory.any():
        return
    vts = [vt for vt in inst.vehicle_types if vt.count > 0]
    if not vts:
        fits = np.zeros(C, bool)
    else:
        caps = np.array([vt.capacity for vt in vts], dtype=float)
        fits = np.any(np.all(inst.demand[:, None, :] <= caps[None, :, :] + 1e-9, axis=2), axis=1)
    bad = np.flatnonzero(mandatory & ~fits)
    if len(bad):
        k = int(bad[0])
        raise RoutingError(
            f"{inst.name}: client {inst.client_ids[k]!r} is mandatory but its "
            f"demand {inst.demand[k].tolist()} fits no vehicle."
        )
    # one out-and-back trip per (client, vehicle type), vectorised over the clients
    tol = 1e-6
    served = np.zeros(C, bool)
    first_start = np.full(C, np.inf)  # earliest service start over the types, for the message
    for vt in vts:
        cap = np.asarray(vt.capacity, dtype=float)
        load_ok = np.all(inst.demand <= cap[None, :] + 1e-9, axis=1)
        out = inst.duration[vt.start_depot, D:]
        back = inst.duration[D:, vt.end]
        start = np.maximum(vt.shift_start + out, inst.tw_early)
        ret = start + inst.service + back
        ok = (
            load_ok
            & (start <= inst.tw_late + tol * np.maximum(1.0, np.abs(inst.tw_late)))
            & (ret <= vt.shift_end + tol * max(1.0, abs(vt.shift_end)))
            & (out + inst.service + back <= vt.max_duration + tol * max(1.0, vt.max_duration))
        )
        served |= ok
        first_start = np.minimum(first_start, np.where(load_ok, start, np.inf))
    bad = np.flatnonzero(mandatory & ~served)
    if len(bad):
        k = int(bad[0])
        why = (
            f"service cannot start before {first_start[k]:g}, after its window closes at "
            f"{inst.tw_late[k]:g}"
            if first_start[k] > inst.tw_late[k] + tol * max(1.0, abs(inst.tw_late[k]))
            else "no vehicle can go there and back within its shift and maximum route duration"
        )
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise RoutingError(
            f"{inst.name}: client {inst.client_ids[k]!r} is mandatory but no vehicle can serve "
            f"it even on its own: {why}{more}."
        )


def no_solution(inst: RoutingInstance, params: RoutingParams, t0: float) -> RoutingResult:
    """The result of a search that found no solution (started at ``t0``)."""
    return RoutingResult(
        instance=inst.name,
        status=RoutingStatus.NO_SOLUTION,
        routes=(),
        dropped=(),
        cost=INF,
        distance=INF,
        drop_cost=INF,
        num_vehicles=0,
        solve_seconds=time.perf_counter() - t0,
        seed=params.seed,
        client_ids=inst.client_ids,
        params=params,
    )


@dataclass(frozen=True, slots=True)
class _Budget:
    """How the time limit is split (``time.perf_counter()`` clock)."""

    left: float
    """Seconds for the search after model building, less the reserve."""
    slice_s: float
    """Seconds of the first search (all of ``left`` without LNS rounds)."""
    deadline: float
    """When the search must stop."""


def _budget(params: RoutingParams, plan: _Plan, t0: float, num_clients: int) -> _Budget | None:
    if params.time_limit_s is None:
        return None
    # the time limit covers the whole call: model building counts, and a reserve for reading
    # the solution back and re-checking it
    reserve = min(0.1 * params.time_limit_s, 0.002 * num_clients)
    left = max(0.05, params.time_limit_s - (time.perf_counter() - t0) - reserve)
    slice_s = left / (plan.rounds + 1) if plan.lns else left
    if plan.lns and params.lns_first_share is not None:
        slice_s = left * params.lns_first_share
    return _Budget(left=left, slice_s=slice_s, deadline=t0 + params.time_limit_s - reserve)


def _first_search(
    inst: RoutingInstance,
    params: RoutingParams,
    plan: _Plan,
    model: VrpModel,
    sc: Scaled,
    sp: SearchParameters,
    budget: _Budget | None,
) -> Assignment | None:
    """The ILS (then a metaheuristic), or a search from the sweep or an OR-Tools heuristic."""
    C = inst.num_clients
    solution = None
    if plan.use_ils:
        mean_arc = mean_arc_cost(sc, inst.num_depots, C)
        sp_check = search_parameters(params)
        configure_ils(sp_check, params, mean_arc, C)
        check_parameters(sp_check)
        return ils_then_meta(
            model,
            sp,
            params,
            mean_arc=mean_arc,
            num_clients=C,
            left=budget.left if budget else 0.0,
            deadline=budget.deadline if budget else INF,
            name=inst.name,
        )
    if plan.first == "sweep":
        routes0 = sweep_start(inst, sc, model.veh_type, params.seed)
        if routes0 is not None:
            start = model.read_routes(routes0, sp)
            if start is not None:
                solution = model.solve_from(start, sp)
            else:
                log.info("routing %s: sweep routes rejected by OR-Tools", inst.name)
        else:
            log.info("routing %s: no sweep start (no coordinates or leftovers)", inst.name)
    if solution is None:
        solution = model.solve(sp)
    return solution


def _extract(
    inst: RoutingInstance, model: VrpModel, sc: Scaled, solution: Assignment
) -> tuple[list[RawRoute], tuple[int, ...], np.ndarray]:
    """Routes (client indices), dropped clients, and which clients were visited."""
    D = inst.num_depots
    routes: list[RawRoute] = []
    visited = np.zeros(inst.num_clients, bool)
    # the model may hold fewer vehicles of a type than the fleet has
    numbers = fleet_numbers(inst, model.veh_type)
    for v, nodes in enumerate(model.routes(solution)):
        seq = tuple(int(sc.perm[n - D]) for n in nodes)
        visited[list(seq)] = True
        if seq:
            routes.append((model.veh_type[v], numbers[v], seq))
    dropped = tuple(int(c) for c in np.flatnonzero(~visited))
    return routes, dropped, visited


def fleet_numbers(inst: RoutingInstance, types: Sequence[int]) -> list[int]:
    """Vehicle numbers over the whole fleet for vehicles of ``types`` (in order): the type's
    offset in the fleet plus a running count per type."""
    offset = np.concatenate([[0], np.cumsum([vt.count for vt in inst.vehicle_types])])
    seen = [0] * len(inst.vehicle_types)
    out = []
    for t in types:
        out.append(int(offset[t]) + seen[t])
        seen[t] += 1
    return out


def _start_nodes(
    sc: Scaled, veh_type: list[int], num_depots: int, initial: Sequence[tuple[int, Sequence[int]]]
) -> list[list[int]]:
    """Node lists per vehicle from ``(vehicle type, client indices)`` routes."""
    node_of_client = np.empty(len(sc.perm), dtype=np.int64)
    node_of_client[sc.perm] = np.arange(len(sc.perm)) + num_depots
    free: dict[int, list[int]] = {}
    for v, t in enumerate(veh_type):
        free.setdefault(t, []).append(v)
    out: list[list[int]] = [[] for _ in veh_type]
    for t, seq in initial:
        if not free.get(t):
            raise RoutingError(f"initial routes use more vehicles of type {t} than there are.")
        out[free[t].pop(0)] = [int(node_of_client[c]) for c in seq]
    return out


def solve_monolithic(
    instance: RoutingInstance,
    params: RoutingParams,
    initial: Sequence[tuple[int, Sequence[int]]] | None = None,
) -> RoutingResult:
    """Solve a VRP instance as one model and re-check the solution with the evaluator.

    Parameters
    ----------
    instance : RoutingInstance
        The instance (validated at construction).
    params : RoutingParams
        Search parameters.
    initial : sequence of (vehicle type, client indices), optional
        Routes to start from (a warm start, for the decomposition's subproblems): then the
        search is the ``lns`` path (guided local search, then ruin-and-recreate rounds) from
        these routes, whatever ``search`` says, so the result is never worse than them.

    Returns
    -------
    RoutingResult
        ``status`` FEASIBLE when a solution passed the evaluator; NO_SOLUTION when the search
        found none (for instance, a mandatory client no vehicle can serve). Costs are in the
        instance's units, recomputed from its arrays.

    Raises
    ------
    RoutingError
        A client can never be served (e.g. demand above every capacity) and is mandatory.
    """
    t0 = time.perf_counter()
    inst = instance
    C = inst.num_clients
    check_servable(inst)
    mandatory = ~np.isfinite(inst.drop_penalty)
    # no solution uses more routes than there are clients: a larger fleet (a request may send
    # thousands of vans for ten orders) would only make the model slow to build and search
    veh_type = [t for t, vt in enumerate(inst.vehicle_types) for _ in range(min(vt.count, C))]
    if not veh_type:
        if np.any(mandatory):
            raise RoutingError(f"{inst.name}: no vehicles but mandatory clients.")
        return finish(inst, params, [], tuple(range(C)), t0, path="none")

    sc = scale_instance(inst, params.seed)
    plan = _plan(params, C)
    if initial is not None:
        rounds = params.lns_rounds if params.lns_rounds is not None else LNS_ROUNDS
        lns_on = rounds > 0 and params.time_limit_s is not None and C > 2
        plan = _Plan(first="initial", use_ils=False, rounds=rounds, lns=lns_on)
    model = VrpModel(inst, sc, veh_type, sc.drop_big(C) if plan.lns else 0)
    budget = _budget(params, plan, t0, C)
    sp = search_parameters(params, budget.slice_s if budget else None)
    check_parameters(sp)
    if params.neighbors and params.neighbors < C:
        set_neighbors(sp, params.neighbors, C)
    log.debug(
        "routing %s: %d clients, %d vehicles, scales time=%d cost=%d demand=%s",
        inst.name,
        C,
        len(veh_type),
        sc.ts,
        sc.cs,
        sc.ds,
    )
    solution = None
    if initial is not None:
        start = model.read_routes(_start_nodes(sc, veh_type, inst.num_depots, initial), sp)
        if start is None:
            log.info("routing %s: initial routes rejected by OR-Tools", inst.name)
        else:
            solution = model.solve_from(start, sp)
    if solution is None:
        solution = _first_search(inst, params, plan, model, sc, sp, budget)
    if solution is None and plan.use_ils:
        rest = None
        if params.time_limit_s is not None:
            rest = t0 + params.time_limit_s - time.perf_counter()
        if rest is None or rest > 0.1:
            log.info(
                "routing %s: no ILS solution (status %s); continuing with the LNS search",
                inst.name,
                model.status(),
            )
            res = solve_monolithic(
                inst, dataclasses.replace(params, search="lns", time_limit_s=rest)
            )
            return dataclasses.replace(res, solve_seconds=time.perf_counter() - t0, params=params)
    if plan.lns and solution is not None and budget is not None:
        solution = lns(
            model,
            solution,
            sp,
            rounds=plan.rounds,
            params=params,
            dist=sc.dist,
            mandatory=~np.isfinite(sc.pen),
            deadline=budget.deadline,
            round_s=(
                INF
                if params.lns_meta == "greedy"
                else (budget.left - budget.slice_s) / plan.rounds
                if params.lns_first_share
                else budget.slice_s
            ),
        )
    if solution is None:
        log.info("routing %s: no solution (status %s)", inst.name, model.status())
        return no_solution(inst, params, t0)
    routes, dropped, visited = _extract(inst, model, sc, solution)
    if np.any(mandatory & ~visited):
        # only possible with the LNS's prohibitive penalties: no vehicle can serve that client
        k = int(np.flatnonzero(mandatory & ~visited)[0])
        log.info("routing %s: mandatory client %r cannot be served", inst.name, inst.client_ids[k])
        return no_solution(inst, params, t0)
    return finish(inst, params, routes, dropped, t0, path="ils" if plan.use_ils else "lns")


def finish(
    inst: RoutingInstance,
    params: RoutingParams,
    routes: list[RawRoute],
    dropped: tuple[int, ...],
    t0: float,
    *,
    path: str,
) -> RoutingResult:
    """Re-check routes with the independent evaluator and make the result.

    Each route carries the evaluator's departure and return times and per-stop times:
    ``arrivals`` (ETA at the stop),
    ``starts`` (service start, after any wait) and ``slack`` (``instance.due - start``: how
    much earlier than the order's promise deadline service starts, negative when the promise
    is already missed; ``inf`` for an order without a deadline).
    """
    ev = evaluate_routes(inst, [(t, seq) for t, _, seq in routes], dropped=dropped)
    out = tuple(
        Route(
            vehicle_type=t,
            vehicle=v,
            clients=seq,
            distance=r.distance,
            duration=r.duration,
            cost=r.cost,
            arrivals=r.arrivals,
            starts=r.starts,
            slack=tuple(float(inst.due[c] - s) for c, s in zip(seq, r.starts, strict=True)),
            departure=r.departure,
            return_time=r.arrival,
        )
        for (t, v, seq), r in zip(routes, ev.routes, strict=True)
    )
    status = RoutingStatus.FEASIBLE if ev.feasible else RoutingStatus.INFEASIBLE
    if not ev.feasible:
        log.warning(
            "routing %s: evaluator found %d violation(s): %s",
            inst.name,
            len(ev.violations),
            ev.violations[0],
        )
    return RoutingResult(
        instance=inst.name,
        status=status,
        routes=out,
        dropped=dropped,
        cost=ev.cost,
        distance=ev.distance,
        drop_cost=ev.drop_cost,
        num_vehicles=len(out),
        solve_seconds=time.perf_counter() - t0,
        seed=params.seed,
        violations=tuple(ev.violations),
        client_ids=inst.client_ids,
        params=params,
        path=path,
    )
