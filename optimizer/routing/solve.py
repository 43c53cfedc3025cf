"""``solve_routes``: a VRP instance to routes, by the path that fits its size.

- up to ``RoutingParams.decompose_above`` clients (``decompose="auto"``): one OR-Tools model of
  the whole instance (``optimizer.routing.monolithic``: the ILS then guided local search, or
  the sweep start and rounds of ruin and recreate);
- above: decomposition into subproblems of about ``sub_clients`` clients solved by that same
  engine, in parallel (``optimizer.routing.decompose``).

The path taken is ``RoutingResult.path``. Either way the returned solution was re-checked by
the independent evaluator (``optimizer.routing.evaluate``), which also gives each stop's
arrival time and each order's slack to its promise.
"""

from __future__ import annotations

import math

from optimizer.progress import PhaseReport
from optimizer.routing.decompose import shortest_limit, solve_decomposed
from optimizer.routing.instance import RoutingError, RoutingInstance
from optimizer.routing.monolithic import check_servable, solve_monolithic
from optimizer.routing.params import RoutingParams
from optimizer.routing.result import RoutingResult

__all__ = ["shortest_time_limit", "solve_routes"]


def _decomposed(instance: RoutingInstance, params: RoutingParams) -> bool:
    big = instance.num_clients > params.decompose_above
    return params.decompose == "always" or (params.decompose == "auto" and big)


def shortest_time_limit(instance: RoutingInstance, params: RoutingParams) -> float:
    """The shortest time limit ``solve_routes`` accepts for ``instance`` (seconds): 0 for one
    model of the whole instance, the decomposition's first solution (``shortest_limit``) for a
    large one. A caller that spends part of a limit before the solve (building the instance)
    gives the solve no less than this, rather than have a limit the caller's user gave
    refused."""
    if not _decomposed(instance, params):
        return 0.0
    return shortest_limit(instance, params)[0]


def solve_routes(
    instance: RoutingInstance,
    params: RoutingParams | None = None,
    *,
    on_phase: PhaseReport | None = None,
) -> RoutingResult:
    """Solve a VRP instance and re-check the solution with the independent evaluator.

    Parameters
    ----------
    instance : RoutingInstance
        The instance (validated at construction).
    params : RoutingParams, optional
        Search parameters; default ``RoutingParams()`` (10 s, seed 0).
    on_phase : optimizer.progress.PhaseReport, optional
        Told which path runs and, on the decomposition, each phase with the best cost so far
        (``tradelane route`` shows it on a status line).

    Returns
    -------
    RoutingResult
        ``status`` FEASIBLE when a solution passed the evaluator; NO_SOLUTION when the search
        found none (for instance, a mandatory client no vehicle can serve). Costs are in the
        instance's units, recomputed from its arrays. ``path`` says which path ran.

    Raises
    ------
    RoutingError
        A mandatory client can never be served, even on a route of its own (its demand is
        above every capacity, or no vehicle reaches it before its window closes and gets back
        within its shift and maximum duration); the message names the client. Or the time
        limit is shorter than the decomposition's first solution takes (``shortest_limit``:
        about 0.1 s a sector of ``sub_clients`` orders, plus a second to start the worker
        processes above ``INLINE_BELOW_S``): the message gives the shortest limit.
    """
    # Defaults are resolved here: a shared default instance would be a mutable default.
    params = params or RoutingParams()
    check_servable(instance)
    if _decomposed(instance, params):
        limit = params.time_limit_s
        shortest = shortest_time_limit(instance, params)
        if limit is not None and limit < shortest:
            raise RoutingError(
                f"{instance.name}: a time limit of {limit:g} s is too short for "
                f"{instance.num_clients:,} orders: the decomposition's first solution (one "
                f"sector of about {params.sub_clients} orders at a time per worker) takes "
                f"about {math.ceil(shortest * 10) / 10:g} s; give at least that"
            )
        return solve_decomposed(instance, params, on_phase=on_phase)
    if on_phase is not None:
        on_phase(f"{instance.num_clients:,} orders as one model (OR-Tools)")
    return solve_monolithic(instance, params)
