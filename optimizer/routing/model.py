"""The OR-Tools routing model: the only module of tradelane that touches the OR-Tools routing
API (``RoutingModel``, ``RoutingIndexManager``, callbacks, dimensions, search parameters, the
iterated local search's configuration, assignments).

Everything that crosses its boundary is plain numbers, numpy arrays and lists of model node
numbers (``optimizer.routing.scaling``: node ``n < D`` is depot ``n``, node ``n >= D`` is client
``perm[n - D]``); OR-Tools assignments are handed around as opaque ``Assignment`` values.

Formulation (OR-Tools' successor variables are the binary routing decisions):

- every client is visited once by one vehicle, or dropped at its ``drop_penalty`` (a
  disjunction; mandatory clients have none, or a prohibitive one when the search starts from
  partial routes, see ``VrpModel``);
- capacity: for each dimension ``d`` and each route, ``Σ demand[c, d] ≤ capacity[d]``;
- time: ``start[j] ≥ start[i] + service[i] + duration[i, j]`` along a route; ``tw_early[c] ≤
  start[c] ≤ tw_late[c]``; the vehicle leaves its depot at or after ``shift_start`` and is back
  by ``shift_end``; ``return - departure ≤ max_duration``;
- objective: ``Σ_used vehicles fixed_cost + Σ_arcs cost_per_distance·distance + Σ_routes
  cost_per_hour·(travel + service hours) + Σ_dropped drop_penalty`` (waiting is not charged).

OR-Tools' iterated local search (``solve_ils``) runs only through
``RoutingModel.SolveWithIteratedLocalSearch``: ``use_iterated_local_search`` alone has no effect
through ``SolveWithParameters`` (with greedy descent the search stopped at the first local
optimum, with guided local search the ILS settings were ignored).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt
from ortools.constraint_solver import pywrapcp
from ortools.constraint_solver import routing_enums_pb2 as enums
from ortools.constraint_solver import routing_ils_pb2 as ils_pb

from optimizer.exceptions import SolverError
from optimizer.routing.instance import RoutingInstance
from optimizer.routing.params import SAFETY_TIME_LIMIT_S, RoutingParams
from optimizer.routing.scaling import Scaled

__all__ = ["SLOW_OPERATORS", "Assignment", "SearchParameters", "VrpModel", "ils_removed"]

log = logging.getLogger(__name__)

Assignment = Any
"""An OR-Tools assignment (a solution of the model), opaque outside this module."""
SearchParameters = Any
"""OR-Tools ``RoutingSearchParameters`` (a protobuf message), opaque outside this module."""

# local-search operators switched off by ils_operators="fast": insertion-heuristic LNS operators
# (each move re-runs a cheapest-insertion heuristic) and operators for pickup-and-delivery,
# visit types and optional visits, none of which the VRPTW instances need
SLOW_OPERATORS = (
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

_M = enums.LocalSearchMetaheuristic
_METAHEURISTIC = {
    "gls": _M.GUIDED_LOCAL_SEARCH,
    "tabu": _M.TABU_SEARCH,
    "annealing": _M.SIMULATED_ANNEALING,
    "greedy": _M.GREEDY_DESCENT,
    "automatic": _M.AUTOMATIC,
}


def _first_enum(name: str) -> int:
    if name in ("auto", "sweep"):
        name = "parallel_cheapest_insertion"
    return int(enums.FirstSolutionStrategy.Value.Value(name.upper()))


def ils_removed(params: RoutingParams, num_clients: int) -> int:
    """Clients removed per ILS ruin (``RoutingParams.ils_removed``; None = 10 %, 10..40)."""
    if params.ils_removed is not None:
        return params.ils_removed
    return int(min(40, max(10, round(0.1 * num_clients))))


def set_time_limit(sp: SearchParameters, seconds: float) -> None:
    """Set the search's wall-clock limit."""
    sp.time_limit.FromNanoseconds(int(seconds * 1e9))


def set_metaheuristic(sp: SearchParameters, name: str) -> None:
    """Set the local-search metaheuristic (``RoutingParams.metaheuristic`` names)."""
    sp.local_search_metaheuristic = _METAHEURISTIC[name]


def search_parameters(params: RoutingParams, time_limit_s: float | None = None) -> SearchParameters:
    """OR-Tools search parameters from ``params`` (``time_limit_s`` overrides its limit)."""
    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = _first_enum(params.first_solution)
    set_metaheuristic(sp, params.metaheuristic)
    sp.guided_local_search_lambda_coefficient = params.gls_lambda
    # Guided local search does not stop by itself when the neighbourhoods run dry (tiny
    # instances with a single feasible solution), so a solution-limit-only run keeps a safety
    # time limit; the result is deterministic whenever the solution limit is reached first.
    limit = time_limit_s if time_limit_s is not None else params.time_limit_s
    set_time_limit(sp, limit if limit is not None else SAFETY_TIME_LIMIT_S)
    if params.solution_limit is not None:
        sp.solution_limit = params.solution_limit
    sp.log_search = params.log_search
    return sp


def check_parameters(sp: SearchParameters) -> None:
    """Raise ``SolverError`` when OR-Tools rejects the parameters (a bug on our side)."""
    err = pywrapcp.FindErrorInRoutingSearchParameters(sp)
    if err:
        raise SolverError(f"invalid OR-Tools search parameters: {err}")


def set_neighbors(sp: SearchParameters, neighbors: int, num_clients: int) -> None:
    """Restrict the first-solution heuristics to ``neighbors`` nearest clients.

    First-solution heuristics only: restricting the local-search operators with
    ``ls_operator_neighbors_ratio`` made every move fail its filters in our trials.
    """
    ratio = neighbors / num_clients
    sp.global_cheapest_insertion_first_solution_parameters.neighbors_ratio = ratio
    sp.global_cheapest_insertion_first_solution_parameters.min_neighbors = neighbors
    sp.savings_parameters.neighbors_ratio = ratio


def configure_ils(
    sp: SearchParameters, params: RoutingParams, mean_arc: float, num_clients: int
) -> None:
    """Set OR-Tools' iterated local search (ruin and recreate) from ``params``.

    ``mean_arc`` is the mean arc cost between clients in OR-Tools' scaled integers; the
    annealing temperatures ``params.ils_temperature`` are fractions of it. Each perturbation is
    followed by a greedy descent to a local optimum (a metaheuristic such as guided local search
    would never hand control back to the ILS loop).
    """
    sp.local_search_metaheuristic = _M.GREEDY_DESCENT
    if params.ils_operators == "fast":
        for name in SLOW_OPERATORS:
            setattr(sp.local_search_operators, name, 2)  # OptionalBoolean.BOOL_FALSE
    sp.use_iterated_local_search = True
    ils = sp.iterated_local_search_parameters
    ils.perturbation_strategy = ils_pb.PerturbationStrategy.RUIN_AND_RECREATE
    ils.improve_perturbed_solution = True
    rr = ils.ruin_recreate_parameters
    removed = ils_removed(params, num_clients)
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


class VrpModel:
    """An OR-Tools routing model of a scaled instance.

    Parameters
    ----------
    inst : RoutingInstance
    sc : Scaled
        The instance in node order and scaled integers.
    veh_type : list of int
        Vehicle type of each vehicle (one entry per vehicle).
    drop_big : int
        When > 0, mandatory clients get this (prohibitive) drop penalty so partial routes are
        valid starting points (the LNS); a solution that drops one is never kept.
    """

    def __init__(
        self, inst: RoutingInstance, sc: Scaled, veh_type: list[int], drop_big: int = 0
    ) -> None:
        vts = inst.vehicle_types
        D, C = inst.num_depots, inst.num_clients
        N, V = D + C, len(veh_type)
        self.num_depots = D
        self.veh_type = veh_type
        self.manager = manager = pywrapcp.RoutingIndexManager(
            N, V, [vts[t].start_depot for t in veh_type], [vts[t].end for t in veh_type]
        )
        self.routing = routing = pywrapcp.RoutingModel(manager)
        self.node_of_index: npt.NDArray[np.int64] = np.array(
            [manager.IndexToNode(i) for i in range(routing.Size() + V)], dtype=np.int64
        )

        # arc costs: one matrix callback per distinct (cost_per_distance, cost_per_hour) class
        cost_cb: dict[tuple[float, float], int] = {}
        for v, t in enumerate(veh_type):
            key = (vts[t].cost_per_distance, vts[t].cost_per_hour)
            if key not in cost_cb:
                cost_cb[key] = routing.RegisterTransitMatrix(sc.arc_cost_int(*key).tolist())
            routing.SetArcCostEvaluatorOfVehicle(cost_cb[key], v)
            routing.SetFixedCostOfVehicle(round(vts[t].fixed_cost * sc.cs), v)

        # capacity dimensions
        for d in range(sc.dem.shape[1]):
            caps_d = [sc.capacity_int(vts[t], d) for t in veh_type]
            cb = routing.RegisterUnaryTransitVector(sc.demand_int(d).tolist())
            routing.AddDimensionWithVehicleCapacity(
                cb, 0, caps_d, True, f"cap_{inst.dimension_names[d]}"
            )

        # time dimension (only when time matters: windows, durations, shifts or time costs)
        self.has_time = sc.has_time
        if self.has_time:
            H = sc.H
            tcb = routing.RegisterTransitMatrix(sc.transit.tolist())
            routing.AddDimension(tcb, H, H, False, "time")
            tdim = routing.GetDimensionOrDie("time")
            for n in range(D, N):
                idx = manager.NodeToIndex(n)
                tdim.CumulVar(idx).SetRange(int(sc.early_i[n]), int(sc.late_i[n]))
            for v, t in enumerate(veh_type):
                vt = vts[t]
                s_lo = sc.time_int(vt.shift_start, "ceil")
                e_hi = min(sc.time_int(vt.shift_end, "floor"), H)
                tdim.CumulVar(routing.Start(v)).SetRange(min(s_lo, e_hi), e_hi)
                tdim.CumulVar(routing.End(v)).SetRange(min(s_lo, e_hi), e_hi)
                if np.isfinite(vt.max_duration):
                    tdim.SetSpanUpperBoundForVehicle(sc.time_int(vt.max_duration, "floor"), v)
                # tight schedules: leave as late and return as early as possible
                routing.AddVariableMaximizedByFinalizer(tdim.CumulVar(routing.Start(v)))
                routing.AddVariableMinimizedByFinalizer(tdim.CumulVar(routing.End(v)))

        # drop penalties: optional clients, and mandatory ones at drop_big when given
        for n in range(D, N):
            p = sc.pen[n - D]
            if np.isfinite(p):
                routing.AddDisjunction([manager.NodeToIndex(n)], sc.cost_int(float(p)))
            elif drop_big:
                routing.AddDisjunction([manager.NodeToIndex(n)], drop_big)

    @property
    def num_vehicles(self) -> int:
        """Vehicles of the model."""
        return len(self.veh_type)

    def status(self) -> Any:
        """OR-Tools' status of the last search (for logs)."""
        return self.routing.status()

    def solve(self, sp: SearchParameters) -> Assignment | None:
        """Search from OR-Tools' first-solution heuristic."""
        return self.routing.SolveWithParameters(sp)

    def solve_ils(self, sp: SearchParameters) -> Assignment | None:
        """OR-Tools' iterated local search (``sp`` set by ``configure_ils``)."""
        return self.routing.SolveWithIteratedLocalSearch(sp)

    def solve_from(self, start: Assignment, sp: SearchParameters) -> Assignment | None:
        """Search from an assignment."""
        return self.routing.SolveFromAssignmentWithParameters(start, sp)

    def read_routes(self, routes: list[list[int]], sp: SearchParameters) -> Assignment | None:
        """Close the model with ``sp`` and restore complete routes (node numbers per vehicle).

        ``ReadAssignmentFromRoutes`` checks the routes against every constraint and returns
        None when they violate one.
        """
        self.routing.CloseModelWithParameters(sp)
        idx = [[self.manager.NodeToIndex(n) for n in r] for r in routes]
        return self.routing.ReadAssignmentFromRoutes(idx, True)

    def partial_assignment(self, routes: list[list[int]]) -> Assignment | None:
        """An assignment from partial routes (missing clients inactive), or None.

        ``RoutesToAssignment``, not ``ReadAssignmentFromRoutes``: the latter restores the routes
        under the search's time limit and, after a few seconds of LNS rounds, rejected most
        partial routes in our trials (the rounds then ended early).
        """
        idx = [[self.manager.NodeToIndex(n) for n in r] for r in routes]
        start = self.routing.solver().Assignment()
        if not self.routing.RoutesToAssignment(idx, True, True, start):
            return None
        return start

    def routes(self, sol: Assignment) -> list[list[int]]:
        """The node numbers of each vehicle's route (depots excluded), one list per vehicle."""
        routing, node = self.routing, self.node_of_index
        out = []
        for v in range(len(self.veh_type)):
            idx = sol.Value(routing.NextVar(routing.Start(v)))
            r = []
            while not routing.IsEnd(idx):
                r.append(int(node[idx]))
                idx = sol.Value(routing.NextVar(idx))
            out.append(r)
        return out

    @staticmethod
    def objective(sol: Assignment) -> int:
        """The solution's objective in the scaled integers."""
        return int(sol.ObjectiveValue())
