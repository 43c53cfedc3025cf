"""Routing at day size by decomposition: POPMUSIC over OR-Tools, subproblems in parallel.

OR-Tools' iterated local search is good up to about 200 clients and falls apart above (its
neighbourhoods cover the whole day). ``solve_decomposed`` keeps every solve at that size:

1. **Sectors** (the first solution). Clients are grouped by their nearest depot, sorted by
   angle around it (by a nearest-neighbour chain from the depot when there are no coordinates)
   and cut into sectors of about ``sub_clients`` clients (where capacity binds, cut where the
   demand fills a whole number of vehicles: ``_cut``). Each sector is solved as its own VRP
   (``solve_monolithic``: ILS from ``sub_first_solution``, Clarke-Wright savings by default,
   then guided local search; the
   ``sector_time_share`` of the time limit is split over the waves of sectors the workers
   solve at the same time) with a share of each vehicle type
   proportional to its demand (largest remainders, so the shares add up to the fleet). A
   sector that finds no solution with its share is solved again afterwards with every vehicle
   the other sectors left unused.
2. **Rotated sectors** (``shift_passes`` passes in ``shift_time_share`` of the time left).
   The first pass regroups whole routes across each cut between two sectors of a depot: each
   sector's routes are ordered by the angle of their medoid around the depot, and the later
   half of one sector's routes goes with the earlier half of the next sector's (cyclically).
   The second pass takes each sector's routes as they now are, and so on alternately. Every
   group of a pass is re-optimised at the same time from its current routes (``shift_warm``;
   from scratch otherwise) with its vehicles plus a share of the unused ones, and put back
   when cheaper. The routes of the first solution never cross a cut, and the nearest-route
   groups below mostly fall inside one sector (on day-n800-s0 24 s of them improved the
   sectors' day by 0.01 %, one pass of rotated sectors by 2.3 %: single one-off runs,
   benchmarks/README.md "Routing at day size, fourth pass"; the bench's day and X runs there
   are the reproducible figures).
3. **Improvement rounds**, each a batch of ``workers`` subproblems on disjoint routes, solved
   at the same time by ``optimizer.executor``'s runner (local processes kept for the whole
   run, this process, or Dask), until the time is up or ``decompose_rounds`` batches are
   done. A batch takes first
   - **route eliminations**: a route with fewer than ``elim_below`` times the mean clients
     per route, not tried before, whose demand fits in the spare capacity of its
     ``elim_neighbours`` nearest routes, and those routes, with one vehicle fewer than they
     use, warm-started from the neighbours' routes (the short
     route's clients left to be inserted). Sectors close with part-filled routes (a
     155-client sector of day-n800-s0 holds 2.8 routes' worth of work and gets 3 or 4), and
     local search seldom empties a route of 15 stops one move at a time;
   - then **POPMUSIC** subproblems for the workers left: a seed route drawn at random and
     its nearest routes (distance between route medoids) until they hold ``sub_clients``
     clients (``warm_clients`` for a warm-started one) and at least ``MIN_ROUTES`` routes,
     with their vehicles plus a share of the unused ones. A share ``sub_warm_start`` of
     them is re-optimised from its current routes (guided local search and rounds of ruin
     and recreate: OR-Tools' ILS cannot start from given routes), the others by the ILS from
     scratch. By default that share is ``WARM_SHARE`` where capacity does not bind (the
     generated days: from-scratch subproblems there come back with more routes and are
     rarely taken) and 0 where it does (``_capacity_binds``; the CVRPLIB X instances, where
     warm-started ones did worse in the runs of benchmarks/README.md).
   Both kinds include the dropped orders whose nearest route is among theirs. The new
   routes replace the old ones when the subproblem's cost (routes plus carrier cost of its
   dropped orders, by the independent evaluator) is lower, so no round makes the day worse.

Every subproblem is exact for the part of the day it covers, so a cheaper subproblem is a
cheaper day:

- **time windows, service times, shifts, maximum durations**: the subproblem copies the
  clients' windows and service times and the vehicle types' shift and duration limits; its
  routes start from the same depots at the same clock, and no route crosses a subproblem
  boundary, so no other route's schedule changes;
- **capacities in every dimension**: the demand rows (all dimensions) and the vehicle types'
  capacity vectors are copied;
- **drop-to-carrier**: each order keeps its carrier cost as its drop penalty (mandatory orders
  stay mandatory); a dropped order enters at most one subproblem of a batch, and the compared
  costs include the carrier cost of the subproblem's dropped orders;
- **heterogeneous fleet**: the subproblem has the same vehicle types (same index, costs and
  limits) with, as counts, the vehicles of its routes plus a share of the vehicles no route
  uses (shares of one batch never exceed what is free; a route elimination gets no free
  vehicle and one fewer of the short route's type), so the fleet size per type holds for the
  assembled day;
- **several depots**: the subproblem keeps every depot (locations ``0 .. D-1``) and each vehicle
  type keeps its start and end depot.

The assembled day is re-checked by the independent evaluator after every batch that changed it
(a violation, which would be a bug, rolls the batch back) and at the end.

Known limit: on time-bound days with delivery slots (the bench's generated days) every
subproblem of about 150 orders needs about three routes, whatever its shape (wedges, compact
cells, rings), while the whole day's best routes are wide and hold 57-75 orders; the extra
routes' depot trips are most of the 6-12 % these days end above PyVRP at 60 s
(benchmarks/README.md, "Routing at day size, fifth pass"). Larger subproblems cut the routes
but OR-Tools' search on them leaves as much distance on the routes.

Time limits: the limit covers the whole call. The workers start before the sectors' time is
set (``start_workers``); each sector gets its share of the time left, at least ``MIN_SUB_S``
(OR-Tools then returns about its first solution); a sector whose search still found nothing
(a busy machine) is solved again with every free vehicle when ``RETRY_S`` are left, else by
the sweep in this process (``sweep_solution``); rotated passes and improvement rounds stop when
less than ``MIN_IMPROVE_S`` per subproblem is left. Under ``INLINE_BELOW_S`` the subproblems run
in this process when that is quicker than starting worker processes (``shortest_limit``), and
``solve_routes`` refuses a limit shorter than ``shortest_limit`` (about 0.1 s a sector, one
after the other, or a second to start the workers and 0.1 s a wave of sectors): before, a
half-second floor per sector and the workers' start made 1-s limits take 2.3-3.4 s on days of
800-1,500 orders (benchmarks/README.md, "Routing under short time limits").

Deterministic mode: with ``time_limit_s=None`` every subproblem stops by ``solution_limit``, the
number of batches is ``decompose_rounds`` (after the ``shift_passes`` passes of rotated
sectors, whose groups follow from the angles), seeds come from ``seed``, route eliminations are
picked by route size (ties by position) and warm starts by a counter, and results are taken in
submission order, so the same seed and solution limit give the same routes with any executor.
(Without a time limit a route elimination whose warm start leaves mandatory orders out, which
OR-Tools cannot read without the timed search's prohibitive drop penalties, starts from
``sub_first_solution`` instead.)
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from optimizer.executor import DASK_ENV, TaskRunner, make_executor
from optimizer.limits import MAX_SEED
from optimizer.progress import PhaseReport, quiet
from optimizer.routing.evaluate import evaluate_routes
from optimizer.routing.instance import RoutingError, RoutingInstance
from optimizer.routing.monolithic import (
    RawRoute,
    finish,
    fleet_numbers,
    no_solution,
    solve_monolithic,
)
from optimizer.routing.params import LNS_ROUNDS, RoutingParams
from optimizer.routing.result import RoutingResult, RoutingStatus
from optimizer.routing.scaling import scale_instance
from optimizer.routing.search import sweep_start

__all__ = [
    "Subproblem",
    "num_sectors",
    "sectors",
    "shortest_limit",
    "solve_decomposed",
    "sub_instance",
]

log = logging.getLogger(__name__)

I64 = npt.NDArray[np.int64]
CUT_ROUTES = 2.0
"""Vehicles' worth of demand per sector from which sectors are cut at whole vehicles."""
CUT_FILL = 0.98
"""Load of each vehicle when sectors are cut at whole vehicles (slack for the packing)."""
WARM_SHARE = 0.5
"""Share of warm-started POPMUSIC subproblems where capacity does not bind (``sub_warm_start``
None)."""
MIN_ROUTES = 3
"""Routes in a POPMUSIC subproblem at least (when there are that many): the seed and two
neighbours, so clients can move between routes on both sides of the seed."""
MIN_SUB_S = 0.05
"""A sector's shortest limit: OR-Tools then returns about its first solution (savings on a
150-order sector of day-n3000-s0: 0.06-0.09 s of wall; at 0.02 s one sector in six found
none; a one-off measurement on six sectors, not a benchmark of the repository)."""
SUB_WALL_S = 0.1
"""Wall seconds of a sector solved at ``MIN_SUB_S``, for the shortest time limit."""
POOL_START_S = 1.0
"""Seconds to start the local worker processes (spawned, each importing OR-Tools: 0.85 s
with two workers in a one-off measurement), for the shortest time limit."""
INLINE_BELOW_S = 3.0
"""Time limits under which the subproblems run in this process rather than in new worker
processes, whose start would take a third of the limit or more."""
RETRY_S = 1.0
"""Seconds left from which a sector that found no solution is solved again by OR-Tools (with
every vehicle left over); with less, by the sweep (``sweep_solution``)."""
MIN_IMPROVE_S = 0.3
"""Shortest limit of an improving subproblem (a rotated sector or a POPMUSIC group): with less
time left the improvement rounds stop."""


@dataclass(frozen=True)
class Subproblem:
    """A part of the day as its own instance.

    ``clients[k]`` is the day's client index of the subproblem's client ``k``; ``counts[t]``
    the vehicles of type ``t`` it may use.
    """

    instance: RoutingInstance
    clients: I64
    counts: tuple[int, ...]


def sub_instance(
    inst: RoutingInstance, clients: Sequence[int] | I64, counts: Sequence[int], name: str
) -> Subproblem:
    """The subproblem of ``clients`` with ``counts[t]`` vehicles of each type (see the module
    docstring for how each constraint is kept)."""
    D = inst.num_depots
    cl = np.asarray(clients, dtype=np.int64)
    locs = np.concatenate([np.arange(D), D + cl])
    vts = tuple(
        dataclasses.replace(vt, count=int(n))
        for vt, n in zip(inst.vehicle_types, counts, strict=True)
    )
    sub = RoutingInstance(
        name=name,
        distance=inst.distance[np.ix_(locs, locs)],
        duration=inst.duration[np.ix_(locs, locs)],
        num_depots=D,
        demand=inst.demand[cl],
        service=inst.service[cl],
        tw_early=inst.tw_early[cl],
        tw_late=inst.tw_late[cl],
        drop_penalty=inst.drop_penalty[cl],
        vehicle_types=vts,
        client_ids=tuple(inst.client_ids[c] for c in cl),
        dimension_names=inst.dimension_names,
        coords=None if inst.coords is None else inst.coords[locs],
        distance_convention=inst.distance_convention,
        depot_ids=inst.depot_ids,
    )
    return Subproblem(instance=sub, clients=cl, counts=tuple(int(n) for n in counts))


def _solve_sub(
    _shared: object,
    task: tuple[RoutingInstance, RoutingParams, list[tuple[int, list[int]]] | None],
) -> RoutingResult | None:
    """One subproblem (runs in a worker); None when it cannot be served by its fleet."""
    sub, params, initial = task
    try:
        return solve_monolithic(sub, params, initial)
    except RoutingError:
        return None


def sweep_solution(sub: RoutingInstance, seed: int) -> RoutingResult | None:
    """The sweep's routes of ``sub`` (``optimizer.routing.search.sweep_start``, in this
    process, feasible by construction), re-checked by the evaluator; None without coordinates
    or when a mandatory client is left over or the evaluator finds a violation.

    The first solution of a sector whose OR-Tools search ran out of time before its first
    solution (a limit near ``shortest_limit`` on a busy machine): far from the engine's
    routes, but a plan within the limit that the improvement rounds start from.
    """
    t0 = time.perf_counter()
    C, D = sub.num_clients, sub.num_depots
    sc = scale_instance(sub, seed)
    veh = [t for t, vt in enumerate(sub.vehicle_types) for _ in range(min(vt.count, C))]
    nodes = sweep_start(sub, sc, veh, seed)
    if nodes is None:
        return None
    routes = [
        (veh[k], 0, tuple(int(sc.loc_of_node[n]) - D for n in r)) for k, r in enumerate(nodes) if r
    ]
    served = {c for _, _, r in routes for c in r}
    dropped = tuple(c for c in range(C) if c not in served)
    params = RoutingParams(time_limit_s=None, solution_limit=1, seed=seed)
    res = finish(sub, params, routes, dropped, t0, path="sweep")
    return res if res.status is RoutingStatus.FEASIBLE else None


def _ready(_shared: object, _item: int) -> bool:
    """A no-op task: its worker has started and imported this module (and OR-Tools)."""
    return True


# --------------------------------------------------------------------------------------------
# geometry: sectors and route neighbourhoods
# --------------------------------------------------------------------------------------------


def sectors(
    inst: RoutingInstance, size: int, rng: np.random.Generator
) -> tuple[list[I64], list[int]]:
    """Clients cut into compact groups of about ``size``, per nearest depot (and that depot):
    the first solution's sectors (step 1 of the module docstring)."""
    D, C = inst.num_depots, inst.num_clients
    near_depot = np.argmin(inst.distance[D:, :D], axis=1)
    groups: list[I64] = []
    depots: list[int] = []
    for d in range(D):
        cl = np.flatnonzero(near_depot == d)
        if not len(cl):
            continue
        if inst.coords is not None:
            xy = np.asarray(inst.coords, dtype=float)
            ang = np.arctan2(xy[D + cl, 1] - xy[d, 1], xy[D + cl, 0] - xy[d, 0])
            offset = float(rng.uniform(-math.pi, math.pi))
            order = cl[np.argsort((ang - offset) % (2 * math.pi), kind="stable")]
        else:
            order = _nn_chain(inst, cl, d)
        for part in _cut(inst, order, max(1, round(len(cl) / size))):
            if len(part):
                groups.append(part)
                depots.append(d)
    assert sum(len(g) for g in groups) == C
    return groups, depots


def num_sectors(inst: RoutingInstance, size: int) -> int:
    """How many sectors ``sectors(inst, size, ...)`` cuts."""
    D = inst.num_depots
    per_depot = np.bincount(np.argmin(inst.distance[D:, :D], axis=1), minlength=D)
    return sum(max(1, round(int(n) / size)) for n in per_depot if n)


def _base_s(inst: RoutingInstance) -> float:
    """Seconds of a decomposition outside the sub-solves (sectors, evaluations, the result)."""
    return 0.2 + 1e-4 * inst.num_clients


def shortest_limit(inst: RoutingInstance, params: RoutingParams) -> tuple[float, bool]:
    """The shortest time limit in which the sectors give a first solution, and whether to
    solve them in this process (``True``) or on the executor.

    In this process every sector takes ``SUB_WALL_S`` one after the other; on the executor
    the workers start first (``POOL_START_S``) and then solve ``workers`` sectors at a time.
    Under ``INLINE_BELOW_S`` the cheaper of the two is taken (this process when both fit the
    limit), above it the executor.
    """
    k = num_sectors(inst, params.sub_clients)
    base = _base_s(inst)
    inline = base + k * SUB_WALL_S
    pool = base + POOL_START_S + math.ceil(k / max(1, params.workers)) * SUB_WALL_S
    limit = params.time_limit_s
    if params.workers <= 1:
        return inline, True
    if limit is not None and limit < INLINE_BELOW_S and inline <= max(limit, pool):
        return inline, True
    return pool, False


def _cut(inst: RoutingInstance, order: I64, k: int) -> list[I64]:
    """``order`` cut into ``k`` runs: of equal client counts, or, when capacity binds (a run's
    demand fills ``CUT_ROUTES`` vehicles or more), of demand filling whole vehicles.

    Whole vehicles: ``R = ceil(U / CUT_FILL)`` vehicles for the total demand ``U`` (in vehicle
    capacities, the largest dimension of each client), split over the runs as evenly as
    integers allow, each run ending where the demand so far reaches those vehicles times
    ``U / R`` or, sooner, where its own demand would exceed its vehicles' capacity (the last
    run takes what is left). Equal
    counts leave most sectors with a part-filled last route (X-n573-k30 at 60 s: 32 routes
    where 30 suffice, 7.5 % above PyVRP).
    """
    caps = np.array(
        [vt.capacity for vt in inst.vehicle_types if vt.count > 0], dtype=float
    ).reshape(-1, inst.demand.shape[1])
    top = caps.max(axis=0) if len(caps) else np.zeros(inst.demand.shape[1])
    safe = np.where(top > 0, top, 1.0)
    load = np.where(top > 0, inst.demand[order] / safe, 0.0).max(axis=1, initial=0.0)
    total = float(load.sum())
    if k <= 1 or total / k < CUT_ROUTES:
        return list(np.array_split(order, k))
    vehicles = math.ceil(total / CUT_FILL)
    cum = np.cumsum(load)
    cuts: list[int] = []
    start = ideal = 0.0  # demand before the run; where it would start with divisible demand
    for n in _largest_remainder(vehicles, np.ones(k))[:-1]:
        ideal += n * total / vehicles
        cut = int(np.searchsorted(cum, min(ideal, start + n), side="right"))
        cuts.append(cut)
        start = float(cum[cut - 1]) if cut else 0.0
    return list(np.split(order, cuts))


def _capacity_binds(inst: RoutingInstance, size: int) -> bool:
    """Whether a subproblem of ``size`` clients holds ``CUT_ROUTES`` vehicles' worth of demand
    or more (mean demand per client in vehicle capacities, the largest dimension)."""
    caps = np.array(
        [vt.capacity for vt in inst.vehicle_types if vt.count > 0], dtype=float
    ).reshape(-1, inst.demand.shape[1])
    if not len(caps) or not inst.num_clients:
        return False
    top = caps.max(axis=0)
    load = np.where(top > 0, inst.demand / np.where(top > 0, top, 1.0), 0.0).max(axis=1)
    return float(load.mean()) * min(size, inst.num_clients) >= CUT_ROUTES


def _nn_chain(inst: RoutingInstance, cl: I64, depot: int) -> I64:
    """Clients in nearest-neighbour order from ``depot`` (compact runs without coordinates)."""
    D = inst.num_depots
    dist = inst.distance[np.ix_(D + cl, D + cl)]
    left = np.ones(len(cl), bool)
    cur = int(np.argmin(inst.distance[depot, D + cl]))
    out = [cur]
    left[cur] = False
    for _ in range(len(cl) - 1):
        row = np.where(left, dist[cur], np.inf)
        cur = int(np.argmin(row))
        out.append(cur)
        left[cur] = False
    return cl[np.asarray(out, dtype=np.int64)]


def _medoids(inst: RoutingInstance, routes: list[RawRoute]) -> I64:
    """Location of each route's medoid client (least total distance to its route mates)."""
    D = inst.num_depots
    out = np.empty(len(routes), dtype=np.int64)
    for k, (_, _, seq) in enumerate(routes):
        loc = D + np.asarray(seq, dtype=np.int64)
        out[k] = loc[int(np.argmin(inst.distance[np.ix_(loc, loc)].sum(axis=1)))]
    return out


def _largest_remainder(total: int, weights: npt.NDArray[np.float64]) -> list[int]:
    """``total`` split in proportion to ``weights`` (integers adding up to ``total``)."""
    if total <= 0 or not len(weights):
        return [0] * len(weights)
    w = weights / weights.sum() if weights.sum() > 0 else np.full(len(weights), 1 / len(weights))
    raw = total * w
    base = np.floor(raw).astype(np.int64)
    extra = total - int(base.sum())
    for i in np.argsort(-(raw - base), kind="stable")[:extra]:
        base[i] += 1
    return [int(x) for x in base]


# --------------------------------------------------------------------------------------------
# the search
# --------------------------------------------------------------------------------------------


@dataclass
class _State:
    routes: list[RawRoute]
    dropped: set[int]
    cost: float
    subproblems: int = 0
    improved: int = 0
    eliminated: int = 0


@dataclass
class _Group:
    """Routes of the day re-solved as one subproblem: ``counts[t]`` vehicles of type ``t``,
    warm-started from the routes ``warm`` (None: from scratch); ``eliminate``: a route
    elimination (one vehicle fewer than ``routes`` use)."""

    routes: list[int]
    drops: list[int]
    counts: list[int]
    warm: list[int] | None
    eliminate: bool = False


class _Decomposition:
    """One run of ``solve_decomposed`` (holds the instance, parameters, executor and clock)."""

    def __init__(
        self,
        inst: RoutingInstance,
        params: RoutingParams,
        ex: TaskRunner,
        t0: float,
        say: PhaseReport = quiet,
    ) -> None:
        self.inst = inst
        self.say = say
        self.params = params
        self.ex = ex
        self.t0 = t0
        self.timed = params.time_limit_s is not None
        reserve = 0.0
        if params.time_limit_s is not None:
            reserve = min(0.1 * params.time_limit_s, 0.5 + 2e-4 * inst.num_clients)
        self.deadline = t0 + (params.time_limit_s or math.inf) - reserve
        self.rng = np.random.default_rng(params.seed)
        self.counter = 0
        self.tried: set[tuple[int, ...]] = set()
        self.pop_count = 0
        self.warm_share: float = (
            (0.0 if _capacity_binds(inst, params.sub_clients) else WARM_SHARE)
            if params.sub_warm_start is None
            else float(params.sub_warm_start)
        )

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def start_workers(self) -> None:
        """Start the executor's workers before the sectors' time is set, so their start
        (spawned processes importing OR-Tools) is not counted as search time."""
        if self.ex.kind != "inline":
            self.ex.map(_ready, None, list(range(self.ex.workers)), deadline=self.deadline)

    def sub_params(self, time_limit: float | None) -> RoutingParams:
        self.counter += 1
        rounds = self.params.lns_rounds
        if rounds is None and time_limit is not None:
            # ruin-and-recreate rounds of the warm-started subproblems: about 0.15 s each
            rounds = max(2, min(LNS_ROUNDS, int(time_limit / 0.15)))
        return dataclasses.replace(
            self.params,
            time_limit_s=time_limit,
            lns_rounds=rounds,
            seed=(self.params.seed * 1_000_003 + self.counter) % MAX_SEED,
            decompose="never",
            first_solution=self.params.sub_first_solution,
            search="auto",
        )

    def run_batch(
        self,
        subs: list[Subproblem],
        time_limit: float | None,
        initial: Sequence[list[tuple[int, list[int]]] | None] | None = None,
    ) -> list[RoutingResult | None]:
        tasks = [
            (s.instance, self.sub_params(time_limit), None if initial is None else initial[k])
            for k, s in enumerate(subs)
        ]
        # a sub-solve that overruns its own limit by far (or fails) comes back as None; with a
        # time limit, none is waited for past the limit itself (workers that start late or
        # hang must not break it: the sectors' sweep serves what is missing)
        grace = math.inf if time_limit is None else time_limit * len(tasks) + 30.0
        end = time.perf_counter() + grace
        if self.params.time_limit_s is not None:
            end = min(end, self.t0 + self.params.time_limit_s)
        return self.ex.map(_solve_sub, None, tasks, deadline=end)

    # -- first solution --------------------------------------------------------------------
    def initial(self) -> _State | None:
        inst, p = self.inst, self.params
        groups, depots = sectors(inst, p.sub_clients, self.rng)
        self.num_sectors = len(groups)
        self.sector_of = np.zeros(inst.num_clients, dtype=np.int64)
        for k, g in enumerate(groups):
            self.sector_of[g] = k
        self.sector_depot = list(depots)
        weight = np.array([max(len(g) / inst.num_clients, *self._demand_share(g)) for g in groups])
        # each vehicle type's vehicles go to the sectors of its own depot (all sectors when
        # its depot has none), in proportion to their demand
        dep = np.asarray(depots)
        shares = []  # [type][sector]
        for vt in inst.vehicle_types:
            mine = dep == vt.start_depot
            w = np.where(mine, weight, 0.0) if mine.any() else weight
            shares.append(_largest_remainder(vt.count, w))
        subs = [
            sub_instance(inst, g, [shares[t][s] for t in range(len(shares))], f"{inst.name}/s{s}")
            for s, g in enumerate(groups)
        ]
        waves = math.ceil(len(subs) / self.ex.workers)
        t_sub: float | None = None
        self.say(
            f"{inst.num_clients:,} orders by decomposition: {len(subs)} sectors of about "
            f"{p.sub_clients} orders, {self.ex.workers} at a time"
        )
        if self.timed:
            self.start_workers()
            t_sub = max(MIN_SUB_S, p.sector_time_share * self.left() / waves)
        results = self.run_batch(subs, t_sub)
        routes: list[RawRoute] = []
        dropped: set[int] = set()
        failed = []
        for s, res in zip(subs, results, strict=True):
            if res is None or res.status is not RoutingStatus.FEASIBLE:
                failed.append(s)
                continue
            routes.extend(self._routes_back(s, res))
            dropped.update(int(s.clients[c]) for c in res.dropped)
        for s in failed:  # again, one at a time, with every vehicle left over
            free = self._free(routes)
            again = sub_instance(inst, s.clients, free, s.instance.name + "+")
            res = None
            if not self.timed or self.left() >= RETRY_S:
                t = None if not self.timed else min(p.sub_time_s, 0.5 * self.left())
                res = _solve_sub(None, (again.instance, self.sub_params(t), None))
            if res is None or res.status is not RoutingStatus.FEASIBLE:
                # out of time (a short limit on a busy machine): the sweep, in this process
                res = sweep_solution(again.instance, self.params.seed)
                log.info("routing %s: sector %s by the sweep", inst.name, s.instance.name)
            if res is None:
                log.info("routing %s: sector %s has no solution", inst.name, s.instance.name)
                return None
            routes.extend(self._routes_back(again, res))
            dropped.update(int(again.clients[c]) for c in res.dropped)
        ev = evaluate_routes(inst, [(t, seq) for t, _, seq in routes], dropped=sorted(dropped))
        if not ev.feasible:
            log.warning("routing %s: sectors assembled infeasibly: %s", inst.name, ev.violations[0])
            return None
        log.info(
            "routing %s: sectors %.6g (%d routes, %d dropped), %.1f s",
            inst.name,
            ev.cost,
            len(routes),
            len(dropped),
            time.perf_counter() - self.t0,
        )
        self.say(f"first solution by sectors: {len(routes)} routes", best=ev.cost)
        return _State(routes=routes, dropped=dropped, cost=ev.cost, subproblems=len(subs))

    def _demand_share(self, g: I64) -> list[float]:
        tot = self.inst.demand.sum(axis=0)
        part = self.inst.demand[g].sum(axis=0)
        return [float(a / b) for a, b in zip(part, tot, strict=True) if b > 0]

    def _free(self, routes: list[RawRoute]) -> list[int]:
        used = np.zeros(len(self.inst.vehicle_types), dtype=np.int64)
        for t, _, _ in routes:
            used[t] += 1
        return [int(vt.count - u) for vt, u in zip(self.inst.vehicle_types, used, strict=True)]

    @staticmethod
    def _routes_back(s: Subproblem, res: RoutingResult) -> list[RawRoute]:
        return [
            (r.vehicle_type, -1, tuple(int(s.clients[c]) for c in r.clients)) for r in res.routes
        ]

    # -- POPMUSIC ------------------------------------------------------------------------------
    def _drops_near(self, st: _State, med: I64) -> tuple[list[int], I64]:
        """The dropped clients and the route whose medoid is nearest to each."""
        dropped = sorted(st.dropped)
        if not dropped:
            return dropped, np.zeros(0, dtype=np.int64)
        D = self.inst.num_depots
        near = np.argmin(self.inst.distance[np.ix_(D + np.asarray(dropped), med)], axis=1)
        return dropped, near

    def neighbourhoods(
        self, st: _State, taken: npt.NDArray[np.bool_] | None = None, most: int | None = None
    ) -> list[_Group]:
        """Up to ``most`` (default ``workers``) groups of routes not ``taken``: a random seed
        route and its nearest routes, re-solved from scratch (or warm with
        ``sub_warm_start``) with a share of the free vehicles."""
        inst, p = self.inst, self.params
        R = len(st.routes)
        if R == 0:
            return []
        most = p.workers if most is None else most
        med = _medoids(inst, st.routes)
        rd = inst.distance[np.ix_(med, med)]
        rd = 0.5 * (rd + rd.T)
        taken = np.zeros(R, bool) if taken is None else taken.copy()
        picked: list[list[int]] = []
        warm: list[bool] = []
        for seed in self.rng.permutation(R):
            if len(picked) >= most:
                break
            if taken[seed]:
                continue
            # the k-th improving subproblem is warm-started when floor(k * share) steps up
            k = self.pop_count
            self.pop_count += 1
            is_warm = math.floor((k + 1) * self.warm_share) > math.floor(k * self.warm_share)
            size = p.warm_clients if is_warm else p.sub_clients
            group: list[int] = []
            n = 0
            for r in np.argsort(rd[seed], kind="stable"):
                if taken[r]:
                    continue
                group.append(int(r))
                n += len(st.routes[r][2])
                if n >= size and len(group) >= MIN_ROUTES:
                    break
            taken[group] = True
            picked.append(group)
            warm.append(is_warm)
        return self._with_vehicles(st, med, picked, warm)

    def _with_vehicles(
        self, st: _State, med: I64, picked: list[list[int]], warm: list[bool]
    ) -> list[_Group]:
        """The groups of routes ``picked``, each with its routes' vehicles plus a share of the
        unused ones and the dropped orders nearest to its routes; warm-started where ``warm``."""
        dropped, near = self._drops_near(st, med)
        free = self._free(st.routes)
        share = [_largest_remainder(f, np.ones(len(picked))) for f in free]
        out = []
        for g, group in enumerate(picked):
            gset = set(group)
            counts = [share[t][g] for t in range(len(free))]
            for r in group:
                counts[st.routes[r][0]] += 1
            out.append(
                _Group(
                    routes=group,
                    drops=[c for c, r in zip(dropped, near, strict=True) if int(r) in gset],
                    counts=counts,
                    warm=group if warm[g] else None,
                )
            )
        return out

    def shifted(self, st: _State, phase: int = 0) -> list[_Group]:
        """Whole routes regrouped across the sectors' cuts: each sector's routes ordered by
        the angle of their medoid around its depot, and the later half of each sector's routes
        put with the earlier half of the next sector's (cyclically, per depot), so every
        group straddles one cut of the first solution. Re-solved warm (``shift_warm``) or from
        scratch, with their vehicles plus a share of the unused ones."""
        inst, p = self.inst, self.params
        R = len(st.routes)
        if inst.coords is None or R < 2 or self.num_sectors < 2:
            return []
        xy = np.asarray(inst.coords, dtype=float)
        med = _medoids(inst, st.routes)
        # a route's sector: where most of its clients were first placed
        sec = np.array([np.bincount(self.sector_of[list(seq)]).argmax() for _, _, seq in st.routes])
        halves: dict[int, tuple[list[int], list[int]]] = {}
        for k in range(self.num_sectors):
            mine = np.flatnonzero(sec == k)
            if not len(mine):
                continue
            d = self.sector_depot[k]
            ang = np.arctan2(xy[med[mine], 1] - xy[d, 1], xy[med[mine], 0] - xy[d, 0])
            mid = math.atan2(float(np.sin(ang).mean()), float(np.cos(ang).mean()))
            rel = (ang - mid + math.pi) % (2 * math.pi) - math.pi
            order = [int(r) for r in mine[np.argsort(rel, kind="stable")]]
            cut = len(order) // 2
            halves[k] = (order[:cut], order[cut:])
        picked: list[list[int]] = []
        for d in sorted(set(self.sector_depot)):
            ks = [k for k in range(self.num_sectors) if self.sector_depot[k] == d and k in halves]
            if len(ks) < 2:
                continue
            for i, k in enumerate(ks):
                if phase % 2:  # the sectors themselves, with the routes they now hold
                    group = halves[k][0] + halves[k][1]
                else:
                    group = halves[k][1] + halves[ks[(i + 1) % len(ks)]][0]
                if len(group) >= 2:
                    picked.append(group)
        return self._with_vehicles(st, med, picked, [p.shift_warm] * len(picked))

    def eliminations(self, st: _State) -> list[_Group]:
        """Up to ``workers`` route eliminations: a short route not tried yet (fewer clients
        than ``elim_below`` times the mean) and its ``elim_neighbours`` nearest routes, with
        one vehicle fewer than they use, warm-started from the neighbours' routes (the short
        route's clients to be inserted); skipped when its demand cannot fit in the
        neighbours' spare capacity."""
        inst, p = self.inst, self.params
        R = len(st.routes)
        if R < 2 or p.elim_neighbours < 1:
            return []
        sizes = np.array([len(seq) for _, _, seq in st.routes])
        limit = p.elim_below * sizes.mean()
        cands = [
            int(r)
            for r in np.argsort(sizes, kind="stable")
            if sizes[r] <= limit and st.routes[r][2] not in self.tried
        ]
        if not cands:
            return []
        med = _medoids(inst, st.routes)
        rd = inst.distance[np.ix_(med, med)]
        rd = 0.5 * (rd + rd.T)
        taken = np.zeros(R, bool)
        picked: list[list[int]] = []
        for seed in cands:
            if len(picked) >= p.workers:
                break
            if taken[seed]:
                continue
            group = [seed]
            for r in np.argsort(rd[seed], kind="stable"):
                if len(group) > p.elim_neighbours:
                    break
                if not taken[r] and int(r) != seed:
                    group.append(int(r))
            if len(group) < 2:
                continue
            self.tried.add(st.routes[seed][2])
            if not self._fits(st, seed, group[1:]):
                continue
            taken[group] = True
            picked.append(group)
        dropped, near = self._drops_near(st, med)
        out = []
        for group in picked:
            gset = set(group)
            counts = [0] * len(inst.vehicle_types)
            for r in group[1:]:
                counts[st.routes[r][0]] += 1
            out.append(
                _Group(
                    routes=group,
                    drops=[c for c, r in zip(dropped, near, strict=True) if int(r) in gset],
                    counts=counts,
                    warm=group[1:],
                    eliminate=True,
                )
            )
        return out

    def _fits(self, st: _State, seed: int, others: list[int]) -> bool:
        """Whether the seed route's demand fits in the spare capacity of the other routes'
        vehicles, in every dimension (else no elimination can serve its orders: on
        capacity-bound days such as the X instances most short routes are full ones)."""
        inst = self.inst
        spare = np.zeros(inst.demand.shape[1])
        for r in others:
            t, _, seq = st.routes[r]
            cap = np.asarray(inst.vehicle_types[t].capacity, dtype=float)
            spare += cap - inst.demand[list(seq)].sum(axis=0)
        need = inst.demand[list(st.routes[seed][2])].sum(axis=0)
        return bool(np.all(need <= spare + 1e-9))

    def improve(self, st: _State) -> None:
        p = self.params
        rounds: float = self.num_sectors if not self.timed else math.inf
        if p.decompose_rounds is not None:
            rounds = p.decompose_rounds
        batch = 0
        budget = p.shift_time_share * self.left() if self.timed else 0.0
        for phase in range(p.shift_passes if p.shift_time_share > 0 else 0):
            groups = self.shifted(st, phase)
            if not groups:
                break
            t_sub = None
            if self.timed:
                waves = math.ceil(len(groups) / self.ex.workers)
                # each pass its part of the budget, and never more than the time left
                t_sub = min(budget / p.shift_passes, self.left()) / waves
                if t_sub < MIN_IMPROVE_S:
                    break
            self.say(
                f"rotated sectors, pass {phase + 1} of {p.shift_passes}: {len(st.routes)} routes",
                best=st.cost,
            )
            self.run_groups(st, groups, batch, t_sub=t_sub)
        while batch < rounds:
            if self.timed and self.left() < MIN_IMPROVE_S:
                break
            batch += 1
            groups = self.eliminations(st)
            if len(groups) < p.workers:
                taken = np.zeros(len(st.routes), bool)
                for g in groups:
                    taken[g.routes] = True
                groups += self.neighbourhoods(st, taken, p.workers - len(groups))
            if not groups:
                break
            self.say(
                f"improvement round {batch}: {len(st.routes)} routes, {st.improved} "
                "subproblems improved so far",
                best=st.cost,
            )
            self.run_groups(st, groups, batch)

    def run_groups(
        self, st: _State, groups: list[_Group], batch: int, t_sub: float | None = None
    ) -> None:
        """Solve the groups' subproblems at the same time (``t_sub`` seconds each; default
        ``sub_time_s``); put back the cheaper ones."""
        inst, p = self.inst, self.params
        subs: list[Subproblem] = []
        old_costs: list[float] = []
        starts: list[list[tuple[int, list[int]]] | None] = []
        for g in groups:
            clients = [c for r in g.routes for c in st.routes[r][2]] + g.drops
            name = f"{inst.name}/p{self.counter + len(subs) + 1}"
            s = sub_instance(inst, clients, g.counts, name)
            pos = {int(c): k for k, c in enumerate(s.clients)}
            cur = [(st.routes[r][0], [pos[c] for c in st.routes[r][2]]) for r in g.routes]
            ev = evaluate_routes(s.instance, cur, dropped=[pos[c] for c in g.drops])
            subs.append(s)
            old_costs.append(ev.cost)
            starts.append(
                None
                if g.warm is None
                else [(st.routes[r][0], [pos[c] for c in st.routes[r][2]]) for r in g.warm]
            )
        if t_sub is None and self.timed:
            waves = math.ceil(len(subs) / self.ex.workers)
            t_sub = max(MIN_SUB_S, min(p.sub_time_s, self.left() / waves))
        results = self.run_batch(subs, t_sub, starts)
        st.subproblems += len(subs)
        new_routes = list(st.routes)
        new_dropped = set(st.dropped)
        remove: set[int] = set()
        changed = 0
        for g, s, res, old in zip(groups, subs, results, old_costs, strict=True):
            log.debug(
                "routing %s: %s %s: %s -> %s",
                inst.name,
                "elimination" if g.eliminate else "subproblem",
                s.instance.name,
                old,
                None if res is None else (res.status.value, res.cost, len(res.routes)),
            )
            if res is None or res.status is not RoutingStatus.FEASIBLE:
                continue
            if not res.cost < old - 1e-9 * max(1.0, abs(old)):
                continue
            changed += 1
            st.eliminated += int(g.eliminate)
            remove.update(g.routes)
            new_dropped.difference_update(g.drops)
            new_dropped.update(int(s.clients[c]) for c in res.dropped)
            new_routes.extend(self._routes_back(s, res))
        if not changed:
            return
        new_routes = [r for k, r in enumerate(new_routes) if k not in remove]
        ev = evaluate_routes(
            inst, [(t, seq) for t, _, seq in new_routes], dropped=sorted(new_dropped)
        )
        if not ev.feasible or not ev.cost < st.cost:
            log.warning(
                "routing %s: batch rolled back (%s)",
                inst.name,
                ev.violations[0] if ev.violations else f"cost {ev.cost} >= {st.cost}",
            )
            return
        st.routes, st.dropped, st.cost = new_routes, new_dropped, ev.cost
        st.improved += changed
        log.debug(
            "routing %s: batch %d, cost %.6g, %d routes", inst.name, batch, st.cost, len(new_routes)
        )


def solve_decomposed(
    instance: RoutingInstance,
    params: RoutingParams,
    executor: TaskRunner | None = None,
    *,
    on_phase: PhaseReport | None = None,
) -> RoutingResult:
    """Solve a large instance by decomposition (see the module docstring).

    Parameters
    ----------
    instance : RoutingInstance
    params : RoutingParams
        ``sub_clients``, ``sub_time_s``, ``workers``, ``executor_address`` and
        ``decompose_rounds`` steer the decomposition; the ILS settings apply to every
        subproblem.
    executor : optimizer.executor.TaskRunner, optional
        Where subproblems run; default ``make_executor(params.executor_address,
        workers=params.workers, persistent=True)`` (closed at the end).
    on_phase : optimizer.progress.PhaseReport, optional
        Told each phase (the sectors, each rotated pass and improvement round) with the day's
        best cost so far.

    Returns
    -------
    RoutingResult
        ``path="decomposition"``; ``subproblems`` and ``improved`` count the sub-solves.
    """
    t0 = time.perf_counter()
    say = on_phase or quiet
    if executor is not None:
        return _run(instance, params, executor, t0, say)
    _, inline = shortest_limit(instance, params)
    dask = params.executor_address or os.environ.get(DASK_ENV)
    # a short limit: this process, as new worker processes would take much of it to start
    workers = 1 if inline and not dask else params.workers
    ex = make_executor(params.executor_address, workers=workers, persistent=True)
    try:
        return _run(instance, params, ex, t0, say)
    finally:
        ex.close()


def _run(
    inst: RoutingInstance, params: RoutingParams, ex: TaskRunner, t0: float, say: PhaseReport
) -> RoutingResult:
    run = _Decomposition(inst, params, ex, t0, say)
    st = run.initial()
    if st is None:
        left = None if params.time_limit_s is None else run.deadline - time.perf_counter()
        if left is not None and left < MIN_IMPROVE_S:
            log.info("routing %s: no first solution by sectors within the limit", inst.name)
            return no_solution(inst, params, t0)
        log.info("routing %s: no first solution by sectors; one model instead", inst.name)
        say(f"no first solution by sectors: one model of {inst.num_clients:,} orders")
        res = solve_monolithic(inst, dataclasses.replace(params, time_limit_s=left))
        return dataclasses.replace(res, solve_seconds=time.perf_counter() - t0)
    run.improve(st)
    log.info(
        "routing %s: %.6g, %d routes, %d dropped; %d subproblems, %d improved, %d route "
        "eliminations",
        inst.name,
        st.cost,
        len(st.routes),
        len(st.dropped),
        st.subproblems,
        st.improved,
        st.eliminated,
    )
    ordered = sorted(st.routes, key=lambda r: (r[0], r[2]))
    numbers = fleet_numbers(inst, [t for t, _, _ in ordered])
    routes: list[RawRoute] = [(t, n, seq) for (t, _, seq), n in zip(ordered, numbers, strict=True)]
    res = finish(inst, params, routes, tuple(sorted(st.dropped)), t0, path="decomposition")
    return dataclasses.replace(res, subproblems=st.subproblems, improved=st.improved)
