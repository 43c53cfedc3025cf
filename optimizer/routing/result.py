"""Results of a routing solve: ``RoutingStatus``, ``Route``, ``RoutingResult``.

``RoutingResult`` fields: ``status`` (``RoutingStatus``: FEASIBLE, INFEASIBLE, NO_SOLUTION),
``routes`` (tuple of ``Route``: vehicle type index, vehicle number, client indices in visit
order, distance, duration, cost), ``dropped`` (client indices handed to the parcel carrier),
``cost`` (total, instance currency or unit), ``distance``, ``drop_cost``, ``num_vehicles``,
``solve_seconds``, ``seed``, ``violations`` (from the independent evaluator; empty when
feasible). ``result.client_routes`` gives routes as lists of ``client_ids``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from optimizer.routing.params import RoutingParams

__all__ = ["Route", "RoutingResult", "RoutingStatus"]


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
    arrivals, starts : tuple of float
        Per stop, in visit order: arrival time (the ETA) and service start (after any wait
        for the window to open), on the routing clock, as the independent evaluator computes
        them (departure as late as the windows allow).
    departure, return_time : float
        When the vehicle leaves its depot (as late as the windows allow, so no wait is cut
        short) and when it is back after the last leg; ``duration = return_time - departure``.
    slack : tuple of float
        Per stop: ``instance.due - start`` (``promise_due``, else ``tw_late``), how long before
        the order's promise deadline service starts; negative for an order already past its
        promise (served without a deadline); ``inf`` for an order without a deadline.
    """

    vehicle_type: int
    vehicle: int
    clients: tuple[int, ...]
    distance: float = 0.0
    duration: float = 0.0
    cost: float = 0.0
    arrivals: tuple[float, ...] = ()
    starts: tuple[float, ...] = ()
    slack: tuple[float, ...] = ()
    departure: float = 0.0
    return_time: float = 0.0


@dataclass(frozen=True)
class RoutingResult:
    """A routing solution, re-checked by ``optimizer.routing.evaluate.evaluate_routes``.

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
    params : RoutingParams or None
        The parameters of the solve.
    path : str
        The path that made the solution: ``ils`` or ``lns`` (one model of the whole
        instance), ``decomposition`` (subproblems, ``optimizer.routing.decompose``), ``none``
        (no vehicles) or empty (no solution).
    subproblems, improved : int
        Decomposition only: subproblems solved, and how many of them improved the solution.
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
    path: str = ""
    subproblems: int = 0
    improved: int = 0

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
        if self.path:
            s += f", path {self.path}"
        if self.subproblems:
            s += f" ({self.subproblems} subproblems, {self.improved} improved)"
        if self.violations:
            s += "\n" + "\n".join(f"  violation: {v}" for v in self.violations[:20])
        return s
