"""Last-mile vehicle routing (VRP) with OR-Tools routing.

This is the only module of tradelane that touches the OR-Tools routing API (``RoutingModel``,
``RoutingIndexManager``, index/node mapping). Everything that crosses its boundary is a frozen
dataclass of plain numbers and numpy arrays, in the instance's own units; integer scaling for
OR-Tools happens here and nowhere else.

Data (``RoutingInstance``)
--------------------------
Locations ``0 .. L-1``: the first ``num_depots`` are depots, the rest are clients (orders), so
client ``c`` (0-based) sits at location ``num_depots + c``.

- ``distance[L, L]``: travel distance (instance units: km, or the benchmark's unit);
- ``duration[L, L]``: travel time (hours, or the benchmark's time unit); ``None`` = ``distance``
  (Solomon's convention: travel time equals distance);
- per client ``c``: ``demand[c, d]`` in each capacity dimension ``d`` (e.g. kg and m³),
  ``service[c]`` service time, ``tw_early[c] .. tw_late[c]`` window in which service must
  *start* (waiting before ``tw_early`` is allowed), ``drop_penalty[c]`` the cost of *not*
  routing the order (for tradelane: the parcel carrier's rate-card cost of handing it over;
  ``inf`` = the order is mandatory), ``client_ids[c]`` its label in the instance's numbering;
- ``vehicle_types``: a heterogeneous fleet (``VehicleType``: count, capacity per dimension,
  start/end depot, fixed cost per vehicle used, cost per distance unit and per hour of travel
  and service, maximum route duration, shift start/end on the routing clock).

``promise_due_times`` derives a client's latest service time from the 72-hour promise:
``order time + promise - hours already spent upstream`` (see its docstring).

Model
-----
Binary routing decisions are OR-Tools' successor variables; the formulation it solves is:

- every client is visited once by one vehicle, or dropped at its ``drop_penalty``
  (a disjunction; mandatory clients have none);
- capacity: for each dimension ``d`` and each route, ``Σ demand[c, d] ≤ capacity[d]``;
- time: ``start[j] ≥ start[i] + service[i] + duration[i, j]`` along a route; ``tw_early[c] ≤
  start[c] ≤ tw_late[c]``; the vehicle leaves its depot at or after ``shift_start`` and is back by
  ``shift_end``; ``return - departure ≤ max_duration``;
- objective: ``Σ_used vehicles fixed_cost + Σ_arcs cost_per_distance·distance + Σ_routes
  cost_per_hour·(travel + service hours) + Σ_dropped drop_penalty`` (waiting is not charged).

Numerics: OR-Tools needs integers. Costs are multiplied by ``cost_scale`` and rounded; times by
``time_scale`` and rounded *up* for travel and service (and ``tw_late``/``shift_end``/
``max_duration`` rounded *down*) so a solution feasible for OR-Tools is feasible in the exact
arithmetic; demands are rounded up and capacities down after multiplying by ``demand_scale``.
Each scale is 1 when the data are already integral (e.g. CVRPLIB with TSPLIB rounding), else a
power of ten chosen to keep magnitudes near 1e6–1e8 per value. Reported costs and distances are
recomputed in floating point from the instance's arrays (``optimizer.route_eval.evaluate_routes``,
an evaluator that does not use OR-Tools).

Search (``RoutingParams``)
--------------------------
``search="auto"`` (default) picks one of two searches.

- ``ils`` (instances whose first solution is an OR-Tools strategy: up to ``SWEEP_ABOVE``
  clients by default): OR-Tools' own iterated local search, ``RoutingModel.
  SolveWithIteratedLocalSearch``: parallel cheapest insertion, then, inside C++, SISR-like
  string removal of about 10 clients, local cheapest insertion of them, a greedy descent with
  the cheaper local-search operators, and simulated-annealing acceptance with temperatures
  relative to the mean arc cost; for the last 30 % of the time guided local search continues
  from the ILS's best solution (it removes routes the ILS keeps, e.g. on C2 instances).
  ``use_iterated_local_search`` alone has no effect through ``SolveWithParameters`` (with
  greedy descent the search stopped at the first local optimum, with guided local search the
  ILS settings were ignored); ``SolveWithIteratedLocalSearch`` is the entry point that runs it.
- ``lns`` (large days, which start from our sweep): a first solution (``first_solution``),
  then a metaheuristic: ``"gls"`` (guided local search, default), ``"tabu"``,
  ``"annealing"``, ``"greedy"``; then, for instances up to ``SWEEP_ABOVE`` clients,
  ruin-and-recreate rounds (``lns_rounds``, default 40): remove about 10 % of the clients from
  the best routes (default ``string``: SISR-like strings of consecutive clients from the
  routes nearest to a random client; ``radial``: a random client and its nearest neighbours),
  let a short guided local search re-insert and improve, keep the result if it is better (a
  large neighbourhood search around OR-Tools). The partial routes are handed over with
  ``RoutesToAssignment``: ``ReadAssignmentFromRoutes`` restores them under the search's time
  limit and rejected most of them after a few seconds of rounds, which silently ended the
  rounds early.

Stop: ``time_limit_s`` and/or ``solution_limit`` (the number of improving solutions; with no
time limit the run is time-independent). ``seed`` permutes the order in which clients are
given to OR-Tools (seed 0 keeps the instance order), which changes the search trajectory; for
a fixed seed and a solution-limit stop the result is deterministic.

API for the HTTP service
------------------------
``solve_routes(instance, params=None) -> RoutingResult``. ``RoutingResult`` fields: ``status``
(``RoutingStatus``: FEASIBLE, INFEASIBLE, NO_SOLUTION), ``routes`` (tuple of ``Route``: vehicle
type index, vehicle number, client indices in visit order, distance, duration, cost),
``dropped`` (client indices handed to the parcel carrier), ``cost`` (total, instance currency or
unit), ``distance``, ``drop_cost``, ``num_vehicles``, ``solve_seconds``, ``seed``,
``violations`` (from the independent evaluator; empty when feasible). ``result.client_routes``
gives routes as lists of ``client_ids``.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from optimizer.exceptions import InvalidNetworkError, ScalingWarning, SolverError

if TYPE_CHECKING:
    from optimizer.route_eval import RouteEvaluation

__all__ = [
    "Route",
    "RoutingError",
    "RoutingInstance",
    "RoutingParams",
    "RoutingResult",
    "RoutingStatus",
    "ScalingWarning",
    "VehicleType",
    "promise_due_times",
    "solve_routes",
]

log = logging.getLogger(__name__)

F = npt.NDArray[np.float64]
INF = math.inf
SWEEP_ABOVE = 400
"""``first_solution="auto"`` switches from parallel cheapest insertion to the sweep above this
many clients: OR-Tools' insertion heuristics did not finish a 2,000-order day within 60 s."""
LNS_ROUNDS = 40
"""Default ruin-and-recreate rounds (``RoutingParams.lns_rounds=None``)."""
SAFETY_TIME_LIMIT_S = 120.0
"""Time limit of a run stopped by ``solution_limit`` only (see ``_search_parameters``)."""
_MAX_INT = 1 << 44  # per-value bound after scaling (sums of ~1e4 of them stay far below int64)


class RoutingError(InvalidNetworkError):
    """Invalid routing input (names the offending item); a ``ValueError``."""


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VehicleType:
    """A group of identical vehicles.

    Attributes
    ----------
    count : int
        Vehicles of this type available.
    capacity : tuple of float
        Capacity per dimension (same order as ``RoutingInstance.dimension_names``).
    start_depot, end_depot : int
        Depot index (``0 .. num_depots-1``) where routes start and end; ``end_depot=None`` means
        the start depot.
    fixed_cost : float
        Cost of using one vehicle (paid once per non-empty route).
    cost_per_distance : float
        Cost per distance unit travelled (1 for the standard benchmarks).
    cost_per_hour : float
        Cost per time unit of travel and service on the route (waiting is not charged: a
        span cost makes OR-Tools' move filters solve an LP per route, far too slow on large
        days).
    max_duration : float
        Longest route (time units); ``inf`` = no limit.
    shift_start, shift_end : float
        Earliest departure and latest return on the routing clock.
    name : str
        Display name.
    """

    count: int
    capacity: tuple[float, ...]
    start_depot: int = 0
    end_depot: int | None = None
    fixed_cost: float = 0.0
    cost_per_distance: float = 1.0
    cost_per_hour: float = 0.0
    max_duration: float = INF
    shift_start: float = 0.0
    shift_end: float = INF
    name: str = ""

    def __post_init__(self) -> None:
        who = f"vehicle type {self.name or '?'!r}"
        if self.count < 0:
            raise RoutingError(f"{who}: count < 0 not understood.")
        if any(not (c >= 0) for c in self.capacity):
            raise RoutingError(f"{who}: capacity must be >= 0, got {self.capacity!r}.")
        for attr in ("fixed_cost", "cost_per_distance", "cost_per_hour", "max_duration"):
            v = getattr(self, attr)
            if not (v >= 0):
                raise RoutingError(f"{who}: {attr} < 0 not understood.")
        if not (self.shift_end >= self.shift_start):
            raise RoutingError(f"{who}: shift_end < shift_start.")

    @property
    def end(self) -> int:
        """The end depot (the start depot when ``end_depot`` is None)."""
        return self.start_depot if self.end_depot is None else self.end_depot


def _ro(a: npt.ArrayLike, dtype: Any = np.float64) -> Any:
    arr = np.array(a, dtype=dtype)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True)
class RoutingInstance:
    """A VRP instance (see the module docstring for the layout and units).

    Use ``RoutingInstance.build(...)`` to construct one from plain arrays; it fills defaults,
    converts to read-only numpy arrays and validates.
    """

    name: str
    distance: F
    duration: F
    num_depots: int
    demand: F
    service: F
    tw_early: F
    tw_late: F
    drop_penalty: F
    vehicle_types: tuple[VehicleType, ...]
    client_ids: tuple[Any, ...]
    dimension_names: tuple[str, ...] = ("demand",)
    coords: F | None = None
    distance_convention: str = "matrix"
    depot_ids: tuple[Any, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def build(
        cls,
        name: str,
        distance: npt.ArrayLike,
        *,
        num_depots: int = 1,
        vehicle_types: tuple[VehicleType, ...] | list[VehicleType],
        demand: npt.ArrayLike | None = None,
        duration: npt.ArrayLike | None = None,
        service: npt.ArrayLike | None = None,
        tw_early: npt.ArrayLike | None = None,
        tw_late: npt.ArrayLike | None = None,
        drop_penalty: npt.ArrayLike | None = None,
        client_ids: tuple[Any, ...] | list[Any] | None = None,
        depot_ids: tuple[Any, ...] | list[Any] | None = None,
        dimension_names: tuple[str, ...] | None = None,
        coords: npt.ArrayLike | None = None,
        distance_convention: str = "matrix",
        meta: dict[str, Any] | None = None,
    ) -> RoutingInstance:
        """Build and validate an instance; omitted client arrays get neutral defaults.

        Parameters
        ----------
        name : str
            Instance name.
        distance : array (L, L)
            Distance matrix over depots then clients.
        num_depots : int
            Number of depots (the first locations).
        vehicle_types : sequence of VehicleType
            The fleet.
        demand : array (C,) or (C, D), optional
            Demand per client and dimension (default 0).
        duration : array (L, L), optional
            Travel times (default: ``distance``).
        service, tw_early, tw_late, drop_penalty : array (C,), optional
            Defaults 0, 0, inf, inf (no window, mandatory).
        client_ids, depot_ids : sequence, optional
            Labels (default: location numbers).
        dimension_names : tuple of str, optional
            Names of the capacity dimensions.
        coords : array (L, 2), optional
            Coordinates (for plots and re-checks).
        distance_convention : str
            How ``distance`` was made (``exact``, ``nint``, ``trunc1``, ``geodesic``, ``matrix``).

        Returns
        -------
        RoutingInstance

        Raises
        ------
        RoutingError
            Shapes disagree, negative values, windows that close before they open, depot
            indices out of range.
        """
        dist = np.asarray(distance, dtype=np.float64)
        n_loc = dist.shape[0] if dist.ndim == 2 else -1
        n_cli = n_loc - num_depots
        if demand is None:
            dem = np.zeros((max(n_cli, 0), 1))
        else:
            dem = np.asarray(demand, dtype=np.float64)
            if dem.ndim == 1:
                dem = dem[:, None]
        ndim = dem.shape[1] if dem.ndim == 2 else 1
        vts = tuple(vehicle_types)
        if dimension_names is None:
            dimension_names = ("demand",) if ndim == 1 else tuple(f"dim{i}" for i in range(ndim))

        def vec(x: npt.ArrayLike | None, default: float) -> F:
            if x is None:
                return np.full(max(n_cli, 0), default)
            return np.asarray(x, dtype=np.float64)

        inst = cls(
            name=name,
            distance=_ro(dist),
            duration=_ro(dist if duration is None else duration),
            num_depots=int(num_depots),
            demand=_ro(dem),
            service=_ro(vec(service, 0.0)),
            tw_early=_ro(vec(tw_early, 0.0)),
            tw_late=_ro(vec(tw_late, INF)),
            drop_penalty=_ro(vec(drop_penalty, INF)),
            vehicle_types=vts,
            client_ids=tuple(client_ids)
            if client_ids is not None
            else tuple(range(num_depots, num_depots + max(n_cli, 0))),
            depot_ids=tuple(depot_ids) if depot_ids is not None else tuple(range(num_depots)),
            dimension_names=tuple(dimension_names),
            coords=None if coords is None else _ro(coords),
            distance_convention=distance_convention,
            meta=dict(meta or {}),
        )
        inst.validate()
        return inst

    # -- derived ---------------------------------------------------------------------------
    @property
    def num_locations(self) -> int:
        """Depots plus clients."""
        return int(self.distance.shape[0])

    @property
    def num_clients(self) -> int:
        """Number of clients (orders)."""
        return self.num_locations - self.num_depots

    @property
    def num_vehicles(self) -> int:
        """Total vehicles over all types."""
        return sum(vt.count for vt in self.vehicle_types)

    def validate(self) -> None:
        """Check shapes and values; raise ``RoutingError`` naming the first offending item."""
        n = self.distance.shape[0] if self.distance.ndim == 2 else -1
        if self.distance.ndim != 2 or self.distance.shape != (n, n):
            raise RoutingError(f"{self.name}: distance must be square, got {self.distance.shape}.")
        if self.duration.shape != (n, n):
            raise RoutingError(f"{self.name}: duration shape {self.duration.shape} != {(n, n)}.")
        if not 1 <= self.num_depots <= n:
            raise RoutingError(f"{self.name}: num_depots={self.num_depots} not in 1..{n}.")
        c = n - self.num_depots
        if self.demand.ndim != 2 or self.demand.shape[0] != c:
            raise RoutingError(
                f"{self.name}: demand must have one row per client ({c}), "
                f"got shape {self.demand.shape}."
            )
        for nm in ("service", "tw_early", "tw_late", "drop_penalty"):
            if getattr(self, nm).shape != (c,):
                raise RoutingError(
                    f"{self.name}: {nm} must have {c} entries, got shape {getattr(self, nm).shape}."
                )
        if len(self.client_ids) != c:
            raise RoutingError(f"{self.name}: {len(self.client_ids)} client ids for {c} clients.")
        if len(self.dimension_names) != self.demand.shape[1]:
            raise RoutingError(
                f"{self.name}: {len(self.dimension_names)} dimension names for "
                f"{self.demand.shape[1]} demand dimensions."
            )
        for nm, arr in (("distance", self.distance), ("duration", self.duration)):
            bad = np.argwhere(~(arr >= 0) | ~np.isfinite(arr))
            if len(bad):
                i, j = bad[0]
                raise RoutingError(
                    f"{self.name}: {nm}[{i}, {j}] = {arr[i, j]!r} must be finite and >= 0."
                )
        for nm in ("demand", "service", "tw_early", "drop_penalty"):
            arr = getattr(self, nm)
            bad = np.argwhere(~(arr >= 0))
            if len(bad):
                k = int(bad[0][0])
                raise RoutingError(
                    f"{self.name}: client {self.client_ids[k]!r}: {nm} must be "
                    f">= 0, got {arr[tuple(bad[0])]!r}."
                )
        bad = np.flatnonzero(~(self.tw_late >= self.tw_early))
        if len(bad):
            k = int(bad[0])
            raise RoutingError(
                f"{self.name}: client {self.client_ids[k]!r}: time window closes "
                f"({self.tw_late[k]:g}) before it opens ({self.tw_early[k]:g})."
            )
        if not self.vehicle_types:
            raise RoutingError(f"{self.name}: no vehicle types.")
        for t, vt in enumerate(self.vehicle_types):
            who = f"{self.name}: vehicle type {vt.name or t!r}"
            if len(vt.capacity) != self.demand.shape[1]:
                raise RoutingError(
                    f"{who}: {len(vt.capacity)} capacities for "
                    f"{self.demand.shape[1]} demand dimensions."
                )
            for d in (vt.start_depot, vt.end):
                if not 0 <= d < self.num_depots:
                    raise RoutingError(f"{who}: depot {d} not in 0..{self.num_depots - 1}.")


def promise_due_times(
    order_time: npt.ArrayLike,
    *,
    promise_hours: float = 72.0,
    upstream_hours: npt.ArrayLike = 0.0,
) -> F:
    """Latest delivery time of each order under the promise, on the routing clock.

    ``due = order_time + promise_hours - upstream_hours``: ``order_time`` is when the order
    reaches the last mile (is ready at the depot) on the routing clock, and ``upstream_hours``
    are the hours of the promise already spent before that (placing to ready: warehouse
    processing, cut-off wait, linehaul and customs for direct parcels).

    Parameters
    ----------
    order_time : array_like
        Ready time at the depot on the routing clock (hours).
    promise_hours : float
        The promise, order to door (72 h).
    upstream_hours : array_like
        Hours already spent since the order was placed.

    Returns
    -------
    numpy.ndarray
        Due times (hours, routing clock). Negative values mean the promise is already missed.

    Examples
    --------
    >>> promise_due_times([0.0, 2.0], upstream_hours=[60.0, 12.0]).tolist()
    [12.0, 62.0]
    """
    if promise_hours < 0:
        raise RoutingError("promise_hours < 0 not understood.")
    up = np.asarray(upstream_hours, dtype=np.float64)
    if np.any(up < 0):
        raise RoutingError("upstream_hours < 0 not understood.")
    return np.asarray(order_time, dtype=np.float64) + promise_hours - up


# --------------------------------------------------------------------------------------------
# parameters and results
# --------------------------------------------------------------------------------------------

_FIRST = (
    "auto",
    "sweep",
    "parallel_cheapest_insertion",
    "local_cheapest_insertion",
    "savings",
    "path_cheapest_arc",
    "christofides",
    "sequential_cheapest_insertion",
    "automatic",
    "global_cheapest_arc",
    "best_insertion",
    "sweep",
)
_META = ("gls", "tabu", "annealing", "greedy", "automatic")
_SEARCH = ("auto", "ils", "lns")
# local-search operators switched off by ils_operators="fast": insertion-heuristic LNS operators
# (each move re-runs a cheapest-insertion heuristic) and operators for pickup-and-delivery,
# visit types and optional visits, none of which the VRPTW instances need
_SLOW_OPERATORS = (
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
    "use_shortest_path_swap_active",
    "use_shortest_path_two_opt",
    "use_swap_active_chain",
    "use_relocate_subtrip",
    "use_exchange_subtrip",
    "use_relocate_pair",
    "use_light_relocate_pair",
    "use_exchange_pair",
)
_ILS_RUIN = ("sisr", "random_walk", "routes", "sisr+random_walk")
_ILS_RECREATE = (
    "local_cheapest_insertion",
    "parallel_cheapest_insertion",
    "local_cheapest_cost_insertion",
    "sequential_cheapest_insertion",
)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """Raise ``RoutingError`` naming the parameter when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise RoutingError(f"{name} {value!r} not understood; one of {', '.join(choices)}.")


@dataclass(frozen=True, slots=True)
class RoutingParams:
    """Search parameters.

    Attributes
    ----------
    time_limit_s : float or None
        Wall-clock limit of the search; None = stop by ``solution_limit`` (then a safety limit
        of ``SAFETY_TIME_LIMIT_S`` still applies: guided local search never stops by itself on
        instances whose neighbourhoods are exhausted).
    solution_limit : int or None
        Stop after this many solutions (time-independent, deterministic stop).
    seed : int
        Client-order permutation seed (0 = instance order).
    first_solution : str
        First-solution heuristic: ``auto`` (parallel cheapest insertion up to
        ``SWEEP_ABOVE`` clients, ``sweep`` above), ``sweep`` (our own angular sweep built in
        Python, feasible by construction and O(n log n), handed to OR-Tools as the start of the
        local search), or an OR-Tools strategy (``parallel_cheapest_insertion``, ``savings``,
        ...).
    metaheuristic : str
        ``gls`` (guided local search), ``tabu``, ``annealing``, ``greedy`` or ``automatic``.
    gls_lambda : float
        Guided local search penalty coefficient.
    neighbors : int
        Nearest-neighbour count used by the first-solution heuristics (savings, cheapest
        insertion); 0 = all. Large instances need it: without it the first solution of a
        2,000-order day does not finish within a minute.
    lns_rounds : int or None
        Ruin-and-recreate rounds after the first guided local search (0 = off; None = auto:
        ``LNS_ROUNDS`` with a time limit and at most ``SWEEP_ABOVE`` clients, else off). Each
        round removes ``lns_share`` of the clients from the best routes (see ``lns_removal``)
        and lets the search re-insert and improve them; the time limit is split evenly over the
        first search and the rounds (see ``lns_first_share``). Many short rounds beat few long
        ones: on 5 Solomon instances at 10 s, 40 rounds of ~0.25 s beat 14 rounds, and 80
        rounds (~0.12 s each) were worse again (see benchmarks/routing_quality.py).
    lns_share : float
        Share of clients removed per round.
    lns_removal : str
        ``string`` (default; SISR-like: walking outwards from a random client, remove a random
        string of up to 10 consecutive clients containing the nearest client of each route not
        yet touched, until ``lns_share`` of the clients are removed) or ``radial`` (a random
        client and its nearest ``lns_share`` of clients).
    lns_accept : float
        Record-to-record acceptance: a round's result becomes the next round's start when it is
        within ``lns_accept`` (relative) of the best, the threshold shrinking linearly to 0 by
        the end; 0 (default) = only improvements (the best is kept in every case).
    lns_meta : str or None
        Metaheuristic of the rounds (None = ``metaheuristic``); with ``greedy`` a round ends at
        its local optimum instead of its time slice.
    lns_first_share : float or None
        Share of the time given to the first search (None = an even split with the rounds).
    search : str
        ``auto`` (default): ``ils`` whenever the first solution is an OR-Tools strategy (up to
        ``SWEEP_ABOVE`` clients with ``first_solution="auto"``), else ``lns`` (the sweep start
        of large days, which OR-Tools' ILS cannot take). ``ils``: OR-Tools' own iterated local
        search (``SolveWithIteratedLocalSearch``: ruin and recreate inside C++, each perturbed
        solution taken to its local optimum by a greedy descent, simulated-annealing
        acceptance), for ``ils_time_share`` of the time, then ``metaheuristic`` from its best
        solution for the rest. ``lns``: the first search plus our Python-driven
        ruin-and-recreate rounds (``lns_*``). What moved the numbers (Solomon 14-instance
        subset, 30 s, seed 0, shared 2-core machine): ``lns`` 1.96 % mean gap, ratio to PyVRP
        1.015; ``ils`` alone 1.75 %; ``ils`` then guided local search for the last 30 % of the
        time 1.62 % (C204: the ILS kept 4 routes, 5.9 %; guided local search removed one,
        1.9 %). The ILS became competitive only with ``ils_operators="fast"`` (6x more
        ruin-and-recreate iterations per second) and a low annealing temperature. All 56
        Solomon instances at 30 s beside PyVRP (benchmarks/README.md): 56/56 feasible, mean
        gap 1.12 % (exact, truncated distances), cost ratio to PyVRP 1.009.
    ils_ruin : str
        Ruin of the ILS: ``sisr`` (default; SISR string removal, Christiaens and Vanden Berghe
        2020), ``random_walk``, ``routes`` (whole routes near a random client) or
        ``sisr+random_walk`` (one of the two at random in each iteration).
    ils_removed : int or None
        Clients removed per ruin on average (SISR's c-bar; random walk: exactly this many;
        ``routes``: ``ils_removed // 5`` routes); None (default) = 10 % of the clients, at
        least 10 and at most 40. On Solomon (100 clients) 10 beat 15 (1.58 % against 1.99 %,
        8 instances at 10 s); on Homberger 200, 20 beat 10 (r2_2_1 3574 against 3647, rc2_2_1
        2883 against 2909 at 30 s).
    ils_max_string : int
        Longest string SISR removes from one route (L-max).
    ils_acceptance : str
        When a perturbed and re-optimised solution replaces the reference solution:
        ``annealing`` (default; simulated annealing) or ``greedy`` (improvements only;
        2.25 % against 1.58 % for annealing on 8 Solomon instances at 10 s).
    ils_temperature : (float, float) or None
        Initial and final annealing temperature as fractions of the mean arc cost between
        clients (cooling is exponential over the time limit); None = OR-Tools' automatic
        temperatures. Default (0.1, 0.001): on 8 Solomon instances at 10 s, 1.58 % mean gap
        against 1.68 % (0.05, 0.0005), 2.41 % (0.3, 0.003), 2.22 % (1, 0.01) and 3.77 %
        automatic (with all operators).
    ils_recreate : str
        Insertion heuristic that re-inserts the removed clients (an OR-Tools first-solution
        strategy); ``local_cheapest_insertion`` (default) beat ``parallel_cheapest_insertion``
        (2.62 % against 3.83 %, 8 Solomon instances at 10 s, all operators).
    ils_time_share : float
        Share of the time limit for the ILS (1 = all of it); the rest goes to
        ``metaheuristic`` starting from the ILS's best solution.
    ils_operators : str
        Local-search operators of the ILS's descent: ``fast`` (default) switches off OR-Tools'
        insertion-heuristic LNS operators and the pickup-and-delivery, visit-type and
        inactive-chain operators (``_SLOW_OPERATORS``); ``all`` keeps OR-Tools' defaults
        (about 55 ILS iterations in 10 s on R101 against about 340 with ``fast``).
    log_search : bool
        Let OR-Tools log its search (to stderr).
    """

    time_limit_s: float | None = 10.0
    solution_limit: int | None = None
    seed: int = 0
    first_solution: str = "auto"
    metaheuristic: str = "gls"
    gls_lambda: float = 0.1
    neighbors: int = 0
    lns_rounds: int | None = None
    lns_share: float = 0.1
    lns_removal: str = "string"
    lns_accept: float = 0.0
    lns_meta: str | None = None
    lns_first_share: float | None = None
    search: str = "auto"
    ils_ruin: str = "sisr"
    ils_removed: int | None = None
    ils_max_string: int = 10
    ils_acceptance: str = "annealing"
    ils_temperature: tuple[float, float] | None = (0.1, 0.001)
    ils_recreate: str = "local_cheapest_insertion"
    ils_time_share: float = 0.7
    ils_operators: str = "fast"
    log_search: bool = False

    def __post_init__(self) -> None:
        if self.time_limit_s is not None and not self.time_limit_s > 0:
            raise RoutingError("time_limit_s <= 0 not understood.")
        if self.solution_limit is not None and self.solution_limit < 1:
            raise RoutingError("solution_limit < 1 not understood.")
        if self.time_limit_s is None and self.solution_limit is None:
            raise RoutingError("give time_limit_s or solution_limit (or both).")
        _choice("first_solution", self.first_solution, _FIRST)
        _choice("metaheuristic", self.metaheuristic, _META)
        if self.seed < 0:
            raise RoutingError("seed < 0 not understood.")
        if self.neighbors < 0:
            raise RoutingError("neighbors < 0 not understood.")
        if (self.lns_rounds is not None and self.lns_rounds < 0) or not 0 < self.lns_share < 1:
            raise RoutingError("lns_rounds >= 0 and 0 < lns_share < 1 needed.")
        if not self.gls_lambda > 0:
            raise RoutingError("gls_lambda <= 0 not understood.")
        _choice("lns_removal", self.lns_removal, ("radial", "string"))
        if not self.lns_accept >= 0:
            raise RoutingError("lns_accept < 0 not understood.")
        if self.lns_meta is not None:
            _choice("lns_meta", self.lns_meta, _META)
        if self.lns_first_share is not None and not 0 < self.lns_first_share < 1:
            raise RoutingError("0 < lns_first_share < 1 needed.")
        _choice("search", self.search, _SEARCH)
        _choice("ils_ruin", self.ils_ruin, _ILS_RUIN)
        if (self.ils_removed is not None and self.ils_removed < 1) or self.ils_max_string < 1:
            raise RoutingError("ils_removed >= 1 and ils_max_string >= 1 needed.")
        _choice("ils_acceptance", self.ils_acceptance, ("annealing", "greedy"))
        if self.ils_temperature is not None:
            t = tuple(float(x) for x in self.ils_temperature)
            if len(t) != 2 or not t[0] >= t[1] > 0:
                raise RoutingError(
                    "ils_temperature must be (initial, final) with initial >= "
                    f"final > 0, got {self.ils_temperature!r}."
                )
            object.__setattr__(self, "ils_temperature", t)
        if not 0 < self.ils_time_share <= 1:
            raise RoutingError("0 < ils_time_share <= 1 needed.")
        _choice("ils_operators", self.ils_operators, ("all", "fast"))
        _choice("ils_recreate", self.ils_recreate, _ILS_RECREATE)

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> RoutingParams:
        """Read parameters from a TOML file (top level or a ``[routing]`` table).

        Unknown keys raise ``RoutingError`` naming them; ``overrides`` (given keys only) win over
        the file.
        """
        with open(path, "rb") as fh:
            try:
                doc = tomllib.load(fh)
            except tomllib.TOMLDecodeError as e:
                raise RoutingError(f"{path}: not valid TOML: {e}") from None
        doc = doc.get("routing", doc)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(doc) - names)
        if unknown:
            raise RoutingError(
                f"{path}: unknown routing parameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(names))}."
            )
        doc.update(overrides)
        try:
            return cls(**doc)
        except TypeError as e:
            raise RoutingError(f"{path}: {e}") from None


class RoutingStatus(enum.StrEnum):
    """Outcome of a solve."""

    FEASIBLE = "feasible"
    """A solution passing the independent evaluator (not proven optimal)."""
    INFEASIBLE = "infeasible"
    """A solution was found but the evaluator found a violation (a bug or a scaling issue)."""
    NO_SOLUTION = "no_solution"
    """No solution within the limits (e.g. mandatory clients that no vehicle can serve)."""


@dataclass(frozen=True, slots=True)
class Route:
    """One vehicle's route.

    Attributes
    ----------
    vehicle_type : int
        Index into ``instance.vehicle_types``.
    vehicle : int
        Vehicle number over the whole fleet.
    clients : tuple of int
        Client indices (0-based) in visit order; depots not included.
    distance, duration, cost : float
        Route distance, duration (departure to return) and cost (fixed + distance + time).
    """

    vehicle_type: int
    vehicle: int
    clients: tuple[int, ...]
    distance: float = 0.0
    duration: float = 0.0
    cost: float = 0.0


@dataclass(frozen=True)
class RoutingResult:
    """A routing solution, re-checked by ``optimizer.route_eval.evaluate_routes``.

    Attributes
    ----------
    instance : str
        Instance name.
    status : RoutingStatus
    routes : tuple of Route
        Non-empty routes.
    dropped : tuple of int
        Client indices not routed (handed to the parcel carrier at ``drop_penalty``).
    cost : float
        Total cost: vehicles (fixed + distance + time) + drop penalties.
    distance : float
        Total distance of the routes.
    drop_cost : float
        Sum of the dropped clients' penalties.
    num_vehicles : int
        Routes used.
    solve_seconds : float
        Wall-clock time of build + search.
    seed : int
    violations : tuple of str
        Problems found by the evaluator (empty when feasible).
    client_ids : tuple
        The instance's client labels (for ``client_routes``).
    """

    instance: str
    status: RoutingStatus
    routes: tuple[Route, ...]
    dropped: tuple[int, ...]
    cost: float
    distance: float
    drop_cost: float
    num_vehicles: int
    solve_seconds: float
    seed: int
    violations: tuple[str, ...] = ()
    client_ids: tuple[Any, ...] = ()
    params: RoutingParams | None = None

    @property
    def feasible(self) -> bool:
        """True when the evaluator accepted the solution."""
        return self.status is RoutingStatus.FEASIBLE

    @property
    def client_routes(self) -> list[list[Any]]:
        """Routes as lists of client labels (the instance's own numbering)."""
        return [[self.client_ids[c] for c in r.clients] for r in self.routes]

    def summary(self) -> str:
        """A one-paragraph human summary."""
        s = (
            f"{self.instance}: {self.status.value}, cost {self.cost:.2f}, distance "
            f"{self.distance:.2f}, {self.num_vehicles} vehicle(s), {len(self.dropped)} order(s) "
            f"to parcel carrier (cost {self.drop_cost:.2f}), {self.solve_seconds:.1f} s, "
            f"seed {self.seed}"
        )
        if self.violations:
            s += "\n" + "\n".join(f"  violation: {v}" for v in self.violations[:20])
        return s


# --------------------------------------------------------------------------------------------
# scaling
# --------------------------------------------------------------------------------------------


def _scale_for(values: list[F], target: float = 1e7) -> int:
    """1 when all finite values are integral, else a power of ten taking the largest to ~target."""
    finite = [v[np.isfinite(v)] for v in values if v.size]
    if not finite:
        return 1
    allv = np.concatenate([f.ravel() for f in finite])
    if allv.size == 0 or np.all(np.abs(allv - np.round(allv)) < 1e-9):
        return 1
    vmax = float(np.max(np.abs(allv))) or 1.0
    k = math.floor(math.log10(target / vmax))
    return int(10 ** min(max(k, 0), 6))


def _to_int(x: F, scale: int, how: str, cap: int) -> npt.NDArray[np.int64]:
    y = np.asarray(x, dtype=np.float64) * scale
    inf = ~np.isfinite(y)
    y = np.where(inf, 0.0, y)
    # tolerance: values within 1e-6 of an integer count as that integer (float noise)
    r = np.round(y)
    near = np.abs(y - r) < 1e-6
    if how == "ceil":
        y = np.where(near, r, np.ceil(y))
    elif how == "floor":
        y = np.where(near, r, np.floor(y))
    else:
        y = r
    if np.any(y > cap):
        import warnings

        warnings.warn(
            f"scaled value {float(y.max()):.3g} above {cap}; clipped", ScalingWarning, stacklevel=3
        )
    y = np.minimum(y, cap)
    y = np.where(inf, cap, y)
    return y.astype(np.int64)


# --------------------------------------------------------------------------------------------
# solve
# --------------------------------------------------------------------------------------------


def _first_enum(name: str) -> int:
    from ortools.constraint_solver import routing_enums_pb2 as e

    if name in ("auto", "sweep"):
        name = "parallel_cheapest_insertion"
    return int(e.FirstSolutionStrategy.Value.Value(name.upper()))


def _sweep_routes(
    *,
    D: int,
    veh_type: list[int],
    vts: tuple[VehicleType, ...],
    bounds: list[tuple[Any, float, float, float]],
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
    All data are the scaled integers given to OR-Tools (``bounds[t]``: capacity vector, shift
    start, shift end and maximum duration of vehicle type ``t``), so the routes are feasible in
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
        cap, shift_start, shift_end, max_duration = bounds[t]
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


def _search_parameters(params: RoutingParams) -> Any:
    from google.protobuf.duration_pb2 import Duration
    from ortools.constraint_solver import pywrapcp
    from ortools.constraint_solver import routing_enums_pb2 as e

    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = _first_enum(params.first_solution)
    meta = params.metaheuristic
    M = e.LocalSearchMetaheuristic
    sp.local_search_metaheuristic = {
        "gls": M.GUIDED_LOCAL_SEARCH,
        "tabu": M.TABU_SEARCH,
        "annealing": M.SIMULATED_ANNEALING,
        "greedy": M.GREEDY_DESCENT,
        "automatic": M.AUTOMATIC,
    }[meta]
    sp.guided_local_search_lambda_coefficient = params.gls_lambda
    # Guided local search does not stop by itself when the neighbourhoods run dry (tiny
    # instances with a single feasible solution), so a solution-limit-only run keeps a safety
    # time limit; the result is deterministic whenever the solution limit is reached first.
    limit = params.time_limit_s if params.time_limit_s is not None else SAFETY_TIME_LIMIT_S
    d = Duration()
    d.FromNanoseconds(int(limit * 1e9))
    sp.time_limit.CopyFrom(d)
    if params.solution_limit is not None:
        sp.solution_limit = params.solution_limit
    sp.log_search = params.log_search
    return sp


def _ils_removed(params: RoutingParams, num_clients: int) -> int:
    """Clients removed per ILS ruin (``RoutingParams.ils_removed``; None = 10 %, 10..40)."""
    if params.ils_removed is not None:
        return params.ils_removed
    return int(min(40, max(10, round(0.1 * num_clients))))


def _configure_ils(sp: Any, params: RoutingParams, mean_arc: float, num_clients: int) -> None:
    """Set OR-Tools' iterated local search (ruin and recreate) from ``params``.

    ``mean_arc`` is the mean arc cost between clients in OR-Tools' scaled integers; the
    annealing temperatures ``params.ils_temperature`` are fractions of it.
    """
    from ortools.constraint_solver import routing_enums_pb2 as e
    from ortools.constraint_solver import routing_ils_pb2 as ils_pb

    # each perturbation is followed by a descent to a local optimum (a metaheuristic such as
    # guided local search would never hand control back to the ILS loop)
    sp.local_search_metaheuristic = e.LocalSearchMetaheuristic.GREEDY_DESCENT
    if params.ils_operators == "fast":
        for name in _SLOW_OPERATORS:
            setattr(sp.local_search_operators, name, 2)  # OptionalBoolean.BOOL_FALSE
    sp.use_iterated_local_search = True
    ils = sp.iterated_local_search_parameters
    ils.perturbation_strategy = ils_pb.PerturbationStrategy.RUIN_AND_RECREATE
    ils.improve_perturbed_solution = True
    rr = ils.ruin_recreate_parameters
    removed = _ils_removed(params, num_clients)
    del rr.ruin_strategies[:]
    for kind in params.ils_ruin.split("+"):
        r = rr.ruin_strategies.add()
        if kind == "sisr":
            r.sisr.max_removed_sequence_size = params.ils_max_string
            r.sisr.avg_num_removed_visits = removed
            r.sisr.bypass_factor = 0.01
        elif kind == "random_walk":
            r.random_walk.num_removed_visits = removed
        else:
            r.spatially_close_routes.num_ruined_routes = max(1, removed // 5)
    rr.ruin_composition_strategy = ils_pb.RuinCompositionStrategy.RUN_ONE_RANDOMLY
    rr.recreate_strategy.heuristic = _first_enum(params.ils_recreate)
    acc = ils.reference_solution_acceptance_strategy
    if params.ils_acceptance == "greedy":
        acc.greedy_descent.SetInParent()
    else:
        sa = acc.simulated_annealing
        sa.cooling_schedule_strategy = ils_pb.CoolingScheduleStrategy.EXPONENTIAL
        if params.ils_temperature is None:
            sa.automatic_temperatures = True
        else:
            sa.automatic_temperatures = False
            sa.initial_temperature = params.ils_temperature[0] * mean_arc
            sa.final_temperature = params.ils_temperature[1] * mean_arc
    ils.best_solution_acceptance_strategy.greedy_descent.SetInParent()


def solve_routes(instance: RoutingInstance, params: RoutingParams | None = None) -> RoutingResult:
    """Solve a VRP instance and re-check the solution with the independent evaluator.

    Parameters
    ----------
    instance : RoutingInstance
        The instance (validated at construction).
    params : RoutingParams, optional
        Search parameters; default ``RoutingParams()`` (10 s, GLS, seed 0).

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
    from ortools.constraint_solver import pywrapcp

    from optimizer.route_eval import evaluate_routes

    # Defaults are resolved here: a shared default instance would be a mutable default.
    params = params or RoutingParams()
    t0 = time.perf_counter()
    inst = instance
    D = inst.num_depots
    C = inst.num_clients
    vts = inst.vehicle_types

    # -- quick infeasibility detection: a mandatory client that fits no vehicle type ---------
    mandatory = ~np.isfinite(inst.drop_penalty)
    if C:
        caps = np.array([vt.capacity for vt in vts if vt.count > 0], dtype=float)
        if caps.size == 0:
            fits = np.zeros(C, bool)
        else:
            fits = np.any(
                np.all(inst.demand[:, None, :] <= caps[None, :, :] + 1e-9, axis=2), axis=1
            )
        bad = np.flatnonzero(mandatory & ~fits)
        if len(bad):
            k = int(bad[0])
            raise RoutingError(
                f"{inst.name}: client {inst.client_ids[k]!r} is mandatory but its "
                f"demand {inst.demand[k].tolist()} fits no vehicle."
            )

    # -- vehicles -----------------------------------------------------------------------------
    veh_type: list[int] = [t for t, vt in enumerate(vts) for _ in range(vt.count)]
    V = len(veh_type)
    if V == 0:
        if np.any(mandatory):
            raise RoutingError(f"{inst.name}: no vehicles but mandatory clients.")
        routes: list[tuple[int, int, tuple[int, ...]]] = []
        return _finish(inst, params, routes, tuple(range(C)), t0, evaluate_routes)

    # -- seed: permute the client order given to OR-Tools -------------------------------------
    perm = np.arange(C)
    if params.seed:
        perm = np.random.default_rng(params.seed).permutation(C)
    # node n of the model: n < D depot n; n >= D client perm[n - D]
    loc_of_node = np.concatenate([np.arange(D), D + perm]).astype(np.int64)

    # -- scaling ------------------------------------------------------------------------------
    dist = inst.distance[np.ix_(loc_of_node, loc_of_node)]
    dur = inst.duration[np.ix_(loc_of_node, loc_of_node)]
    svc = np.concatenate([np.zeros(D), inst.service[perm]])
    early = np.concatenate([np.zeros(D), inst.tw_early[perm]])
    late = np.concatenate([np.full(D, INF), inst.tw_late[perm]])
    dem = np.vstack([np.zeros((D, inst.demand.shape[1])), inst.demand[perm]])
    pen = inst.drop_penalty[perm]

    shift_s = np.array([vt.shift_start for vt in vts])
    shift_e = np.array([vt.shift_end for vt in vts])
    maxdur = np.array([vt.max_duration for vt in vts])
    # a finite horizon: the latest time anything can happen
    finite_late = late[np.isfinite(late)]
    horizon = max(
        float(np.max(shift_e[np.isfinite(shift_e)], initial=0.0)),
        float(np.max(finite_late, initial=0.0))
        + float(dur.max(initial=0.0))
        + float(svc.max(initial=0.0)),
        float(np.max(shift_s, initial=0.0))
        + float(np.max(maxdur[np.isfinite(maxdur)], initial=0.0)),
    )
    if not np.isfinite(shift_e).all() and not np.isfinite(finite_late).any():
        # nothing bounds time: allow every client in sequence
        horizon += float(svc.sum()) + float(dur.max(initial=0.0)) * (C + 1)
    ts = _scale_for([dur, svc, early, late, shift_s, shift_e, maxdur, np.array([horizon])])
    cost_pd = np.array([vt.cost_per_distance for vt in vts])
    cost_ph = np.array([vt.cost_per_hour for vt in vts])
    fixed = np.array([vt.fixed_cost for vt in vts])
    # per-hour costs are charged on travel + service time (arc-based, see VehicleType): a span
    # cost would make OR-Tools re-optimise every route's schedule with an LP inside each move
    # filter, which made a 2,000-order day ~100x slower in our trials
    arc_hours = dur + svc[:, None]
    arc_costs = [
        dist * c + arc_hours * h
        for c, h in {(float(a), float(b)) for a, b in zip(cost_pd, cost_ph, strict=True)}
    ]
    cs = _scale_for([*arc_costs, fixed, pen], target=1e7)
    ds = [
        _scale_for([dem[:, d], np.array([vt.capacity[d] for vt in vts])], target=1e6)
        for d in range(dem.shape[1])
    ]

    t_int = _to_int(dur, ts, "ceil", _MAX_INT)
    svc_int = _to_int(svc, ts, "ceil", _MAX_INT)
    transit = t_int + svc_int[:, None]  # service at the origin of the arc
    H = int(_to_int(np.array([horizon]), ts, "ceil", _MAX_INT)[0]) + 1
    early_i = np.minimum(_to_int(early, ts, "ceil", _MAX_INT), H)
    late_i = np.minimum(_to_int(late, ts, "floor", _MAX_INT), H)

    # -- model ----------------------------------------------------------------------------
    starts = [vts[t].start_depot for t in veh_type]
    ends = [vts[t].end for t in veh_type]
    N = D + C
    manager = pywrapcp.RoutingIndexManager(N, V, starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    node_of_index = np.array(
        [manager.IndexToNode(i) for i in range(routing.Size() + V)], dtype=np.int64
    )

    # arc costs: one matrix callback per distinct (cost_per_distance, cost_per_hour) class
    cost_cb: dict[tuple[float, float], int] = {}
    for v, t in enumerate(veh_type):
        key = (vts[t].cost_per_distance, vts[t].cost_per_hour)
        if key not in cost_cb:
            m = _to_int(dist * key[0] + arc_hours * key[1], cs, "round", _MAX_INT)
            cost_cb[key] = routing.RegisterTransitMatrix(m.tolist())
        routing.SetArcCostEvaluatorOfVehicle(cost_cb[key], v)
        routing.SetFixedCostOfVehicle(round(vts[t].fixed_cost * cs), v)

    # capacity dimensions
    for d in range(dem.shape[1]):
        q = _to_int(dem[:, d], ds[d], "ceil", _MAX_INT)
        caps_d = [
            int(_to_int(np.array([vts[t].capacity[d]]), ds[d], "floor", _MAX_INT)[0])
            for t in veh_type
        ]
        cb = routing.RegisterUnaryTransitVector(q.tolist())
        routing.AddDimensionWithVehicleCapacity(
            cb, 0, caps_d, True, f"cap_{inst.dimension_names[d]}"
        )

    # time dimension (only when time matters: windows, durations, shifts or time costs)
    has_time = (
        np.isfinite(late).any()
        or np.any(early > 0)
        or np.isfinite(maxdur).any()
        or np.isfinite(shift_e).any()
        or np.any(cost_ph > 0)
        or np.any(shift_s > 0)
    )
    if has_time:
        tcb = routing.RegisterTransitMatrix(transit.tolist())
        routing.AddDimension(tcb, H, H, False, "time")
        tdim = routing.GetDimensionOrDie("time")
        for n in range(D, N):
            idx = manager.NodeToIndex(n)
            tdim.CumulVar(idx).SetRange(int(early_i[n]), int(late_i[n]))
        for v, t in enumerate(veh_type):
            vt = vts[t]
            s_lo = int(_to_int(np.array([vt.shift_start]), ts, "ceil", _MAX_INT)[0])
            e_hi = min(int(_to_int(np.array([vt.shift_end]), ts, "floor", _MAX_INT)[0]), H)
            tdim.CumulVar(routing.Start(v)).SetRange(min(s_lo, e_hi), e_hi)
            tdim.CumulVar(routing.End(v)).SetRange(min(s_lo, e_hi), e_hi)
            if np.isfinite(vt.max_duration):
                tdim.SetSpanUpperBoundForVehicle(
                    int(_to_int(np.array([vt.max_duration]), ts, "floor", _MAX_INT)[0]), v
                )
            # tight schedules: leave as late and return as early as possible
            routing.AddVariableMaximizedByFinalizer(tdim.CumulVar(routing.Start(v)))
            routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(routing.End(v)))

    # drop penalties: optional clients only (LNS: mandatory ones get a prohibitive penalty so
    # partial routes are valid starting points; a result that drops one is never kept)
    first = params.first_solution
    if first == "auto":
        first = "sweep" if C > SWEEP_ABOVE else "parallel_cheapest_insertion"
    # OR-Tools' iterated local search builds its own first solution (it cannot start from our
    # sweep), so "auto" uses it only with an OR-Tools first-solution strategy
    use_ils = params.search == "ils" or (params.search == "auto" and first != "sweep")
    rounds = params.lns_rounds
    if rounds is None:
        rounds = LNS_ROUNDS if C <= SWEEP_ABOVE else 0
    lns = rounds > 0 and params.time_limit_s is not None and C > 2 and not use_ils
    big = 0
    if lns:
        arc_max = max(int(_to_int(a, cs, "round", _MAX_INT).max()) for a in arc_costs)
        big = min(_MAX_INT, 4 * arc_max + 2 * round(float(fixed.max()) * cs) + 1) * (C + 1)
        big = min(big, _MAX_INT)
    for n in range(D, N):
        p = pen[n - D]
        if np.isfinite(p):
            routing.AddDisjunction(
                [manager.NodeToIndex(n)], int(_to_int(np.array([p]), cs, "round", _MAX_INT)[0])
            )
        elif lns:
            routing.AddDisjunction([manager.NodeToIndex(n)], big)

    # -- search ---------------------------------------------------------------------------
    if params.time_limit_s is not None:
        # the time limit covers the whole call: model building counts
        # and a reserve for reading the solution back and re-checking it
        reserve = min(0.1 * params.time_limit_s, 0.002 * C)
        left = max(0.05, params.time_limit_s - (time.perf_counter() - t0) - reserve)
        slice_s = left / (rounds + 1) if lns else left
        if lns and params.lns_first_share is not None:
            slice_s = left * params.lns_first_share
        sp = _search_parameters(dataclasses.replace(params, time_limit_s=slice_s))
    else:
        sp = _search_parameters(params)
    err = pywrapcp.FindErrorInRoutingSearchParameters(sp)
    if err:  # a bug on our side, not bad input
        raise SolverError(f"invalid OR-Tools search parameters: {err}")
    if params.neighbors and params.neighbors < C:
        # first-solution heuristics only: restricting the local-search operators with
        # ls_operator_neighbors_ratio made every move fail its filters in our trials
        ratio = params.neighbors / C
        sp.global_cheapest_insertion_first_solution_parameters.neighbors_ratio = ratio
        sp.global_cheapest_insertion_first_solution_parameters.min_neighbors = params.neighbors
        sp.savings_parameters.neighbors_ratio = ratio
    log.debug(
        "routing %s: %d clients, %d vehicles, scales time=%d cost=%d demand=%s",
        inst.name,
        C,
        V,
        ts,
        cs,
        ds,
    )
    solution = None
    if use_ils:
        n_c = max(C, 2)
        sub = arc_costs[0][D:, D:]
        mean_arc = float(sub.sum() / (n_c * (n_c - 1))) * cs if C > 1 else float(cs)
        sp_check = _search_parameters(params)
        _configure_ils(sp_check, params, mean_arc, C)
        err = pywrapcp.FindErrorInRoutingSearchParameters(sp_check)
        if err:
            raise SolverError(f"invalid OR-Tools search parameters: {err}")
        _configure_ils(sp, params, mean_arc, C)
        if params.time_limit_s is not None and params.ils_time_share < 1:
            # ILS for its share of the time, then the metaheuristic (guided local search by
            # default) from the ILS's best solution for the rest
            t_ils = left * params.ils_time_share
            sp_ils = _search_parameters(dataclasses.replace(params, time_limit_s=t_ils))
            _configure_ils(sp_ils, params, mean_arc, C)
            solution = routing.SolveWithIteratedLocalSearch(sp_ils)
            rest = t0 + params.time_limit_s - reserve - time.perf_counter()
            if solution is not None and rest > 0.05:
                sp_meta = _search_parameters(dataclasses.replace(params, time_limit_s=rest))
                better = routing.SolveFromAssignmentWithParameters(solution, sp_meta)
                log.debug(
                    "routing %s: ILS %s, then %s: %s",
                    inst.name,
                    solution.ObjectiveValue(),
                    params.metaheuristic,
                    None if better is None else better.ObjectiveValue(),
                )
                if better is not None and better.ObjectiveValue() <= solution.ObjectiveValue():
                    solution = better
        else:
            solution = routing.SolveWithIteratedLocalSearch(sp)
    elif first == "sweep":
        routes0 = None
        if inst.coords is not None:
            xy = np.asarray(inst.coords, dtype=float)[loc_of_node]
            # angle around the first depot (several depots: each route still starts at its own)
            angle = np.arctan2(xy[:, 1] - xy[0, 1], xy[:, 0] - xy[0, 0])
            offset = float(np.random.default_rng(params.seed).uniform(-math.pi, math.pi))
            dem_i = np.column_stack(
                [_to_int(dem[:, d], ds[d], "ceil", _MAX_INT) for d in range(dem.shape[1])]
            )
            bounds = []
            for vt in vts:
                cap_i = np.array(
                    [
                        _to_int(np.array([vt.capacity[d]]), ds[d], "floor", _MAX_INT)[0]
                        for d in range(dem.shape[1])
                    ]
                )
                lo, hi, md = (
                    _to_int(np.array([vt.shift_start]), ts, "ceil", _MAX_INT)[0],
                    _to_int(np.array([vt.shift_end]), ts, "floor", _MAX_INT)[0],
                    _to_int(np.array([vt.max_duration]), ts, "floor", _MAX_INT)[0],
                )
                bounds.append((cap_i, float(lo), float(min(hi, H)), float(md)))
            routes0 = _sweep_routes(
                D=D,
                veh_type=veh_type,
                vts=vts,
                bounds=bounds,
                angle=angle,
                dem=dem_i.astype(float),
                dur=t_int.astype(float),
                svc=svc_int.astype(float),
                early=early_i.astype(float),
                late=late_i.astype(float),
                optional=np.isfinite(pen),
                offset=offset,
            )
        if routes0 is not None:
            routing.CloseModelWithParameters(sp)
            idx_routes = [[manager.NodeToIndex(n) for n in r] for r in routes0]
            start_assignment = routing.ReadAssignmentFromRoutes(idx_routes, True)
            if start_assignment is not None:
                solution = routing.SolveFromAssignmentWithParameters(start_assignment, sp)
            else:
                log.info("routing %s: sweep routes rejected by OR-Tools", inst.name)
        else:
            log.info("routing %s: no sweep start (no coordinates or leftovers)", inst.name)
    if solution is None and not use_ils:
        solution = routing.SolveWithParameters(sp)
    if solution is None and use_ils:
        # the ILS's first solution (an insertion heuristic on the full model, every client
        # mandatory) can fail on tight windows; the LNS path starts with mandatory clients
        # droppable at a prohibitive penalty, so it finds a start whenever one exists
        rest: float | None = None
        if params.time_limit_s is not None:
            rest = t0 + params.time_limit_s - time.perf_counter()
        if rest is None or rest > 0.1:
            log.info(
                "routing %s: no ILS solution (status %s); continuing with the LNS search",
                inst.name,
                routing.status(),
            )
            res = solve_routes(inst, dataclasses.replace(params, search="lns", time_limit_s=rest))
            return dataclasses.replace(res, solve_seconds=time.perf_counter() - t0, params=params)
    if lns and solution is not None:
        solution = _lns(
            routing,
            manager,
            solution,
            sp,
            rounds=rounds,
            params=params,
            dist=dist,
            D=D,
            mandatory=~np.isfinite(pen),
            node_of_index=node_of_index,
            deadline=t0 + params.time_limit_s - reserve,
            round_s=(
                INF
                if params.lns_meta == "greedy"
                else (left - slice_s) / rounds
                if params.lns_first_share
                else slice_s
            ),
        )
    if solution is None:
        log.info("routing %s: no solution (status %s)", inst.name, routing.status())
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

    # -- extract ------------------------------------------------------------------------------
    routes = []
    visited = np.zeros(C, bool)
    for v in range(V):
        idx = routing.Start(v)
        seq: list[int] = []
        idx = solution.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            n = int(node_of_index[idx])
            c = int(perm[n - D])
            seq.append(c)
            visited[c] = True
            idx = solution.Value(routing.NextVar(idx))
        if seq:
            routes.append((veh_type[v], v, tuple(seq)))
    dropped = tuple(int(c) for c in np.flatnonzero(~visited))
    if np.any(mandatory & ~visited):
        # only possible with the LNS's prohibitive penalties: no vehicle can serve that client
        k = int(np.flatnonzero(mandatory & ~visited)[0])
        log.info("routing %s: mandatory client %r cannot be served", inst.name, inst.client_ids[k])
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
    return _finish(inst, params, routes, dropped, t0, evaluate_routes)


def _lns(
    routing: Any,
    manager: Any,
    best: Any,
    sp: Any,
    *,
    rounds: int,
    params: RoutingParams,
    dist: F,
    D: int,
    mandatory: npt.NDArray[np.bool_],
    node_of_index: npt.NDArray[np.int64],
    deadline: float,
    round_s: float,
) -> Any:
    """Ruin-and-recreate rounds around OR-Tools' search (see ``RoutingParams.lns_rounds``)."""
    from google.protobuf.duration_pb2 import Duration
    from ortools.constraint_solver import routing_enums_pb2 as e

    rng = np.random.default_rng(params.seed + 7919)
    C = len(mandatory)
    q = max(3, round(params.lns_share * C))
    V = routing.vehicles()
    if params.lns_meta is not None:
        M = e.LocalSearchMetaheuristic
        sp.local_search_metaheuristic = {
            "gls": M.GUIDED_LOCAL_SEARCH,
            "tabu": M.TABU_SEARCH,
            "annealing": M.SIMULATED_ANNEALING,
            "greedy": M.GREEDY_DESCENT,
            "automatic": M.AUTOMATIC,
        }[params.lns_meta]
    order = np.argsort(dist[D:, D:], axis=1) + D  # clients by distance, per client

    def routes_of(sol: Any) -> list[list[int]]:
        out = []
        for v in range(V):
            idx = sol.Value(routing.NextVar(routing.Start(v)))
            r = []
            while not routing.IsEnd(idx):
                r.append(int(node_of_index[idx]))
                idx = sol.Value(routing.NextVar(idx))
            out.append(r)
        return out

    def drops_mandatory(sol: Any) -> bool:
        served = {n for r in routes_of(sol) for n in r}
        return any(mandatory[n - D] and n not in served for n in range(D, D + C))

    def ruin(routes: list[list[int]]) -> set[int]:
        seed_node = D + int(rng.integers(C))
        near = order[seed_node - D]
        if params.lns_removal == "radial":
            return {int(n) for n in near[:q]}
        # string removal (SISR-like): a string around the nearest client of each route met
        # while walking outwards from the seed client, until q clients are removed
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

    best_obj = cur_obj = best.ObjectiveValue()
    cur = best
    t_start = time.perf_counter()
    span = max(1e-9, deadline - t_start)
    for _ in range(rounds):
        now = time.perf_counter()
        left = deadline - now
        if left < 0.2:
            break
        routes = routes_of(cur)
        removed = ruin(routes)
        partial = [[manager.NodeToIndex(n) for n in r if n not in removed] for r in routes]
        # RoutesToAssignment, not ReadAssignmentFromRoutes: the latter restores the routes
        # under the search's time limit and, after a few seconds of rounds, rejected most
        # partial routes in our trials (the rounds then ended early)
        start = routing.solver().Assignment()
        if not routing.RoutesToAssignment(partial, True, True, start):
            start = None
        if start is None:
            log.debug("lns round: partial routes rejected")
            continue
        d = Duration()
        d.FromNanoseconds(int(min(left, round_s) * 1e9))
        sp.time_limit.CopyFrom(d)
        t_r = time.perf_counter()
        sol = routing.SolveFromAssignmentWithParameters(start, sp)
        log.debug(
            "lns round: %d removed, %.3f s, status %s, objective %s",
            len(removed),
            time.perf_counter() - t_r,
            routing.status(),
            None if sol is None else sol.ObjectiveValue(),
        )
        if sol is None or drops_mandatory(sol):
            continue
        obj = sol.ObjectiveValue()
        # acceptance: better than the incumbent, or within a threshold that shrinks linearly
        # to 0 over the time left (record-to-record travel)
        thr = params.lns_accept * max(0.0, 1.0 - (time.perf_counter() - t_start) / span)
        if obj < cur_obj or (thr > 0 and obj <= best_obj * (1 + thr)):
            cur, cur_obj = sol, obj
        if obj < best_obj:
            best, best_obj = sol, obj
    return best


def _finish(
    inst: RoutingInstance,
    params: RoutingParams,
    routes: list[tuple[int, int, tuple[int, ...]]],
    dropped: tuple[int, ...],
    t0: float,
    evaluate_routes: Any,
) -> RoutingResult:
    ev: RouteEvaluation = evaluate_routes(inst, [(t, seq) for t, _, seq in routes], dropped=dropped)
    out = tuple(
        Route(
            vehicle_type=t,
            vehicle=v,
            clients=seq,
            distance=r.distance,
            duration=r.duration,
            cost=r.cost,
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
    )
