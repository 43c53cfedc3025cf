"""tradelane's models: allocation MIP, evaluation, naive baseline, routing.

A facade: ``from optimizer import plan_scenario, AllocationParams``. The names are imported on
first use (PEP 562), so that importing one submodule (``optimizer.plan.planning`` for
``tradelane plan``) does not load the others (routing and its OR-Tools solver, say).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optimizer.allocation.params import AllocationParams as AllocationParams
    from optimizer.allocation.result import AllocationResult as AllocationResult
    from optimizer.allocation.result import Status as Status
    from optimizer.allocation.solve import solve_allocation as solve_allocation
    from optimizer.exceptions import InvalidNetworkError as InvalidNetworkError
    from optimizer.exceptions import OptimiserError as OptimiserError
    from optimizer.exceptions import ScalingWarning as ScalingWarning
    from optimizer.exceptions import SolverError as SolverError
    from optimizer.plan.evaluate import evaluate as evaluate
    from optimizer.plan.io import write_plan as write_plan
    from optimizer.plan.planning import PlanOutcome as PlanOutcome
    from optimizer.plan.planning import plan_scenario as plan_scenario
    from optimizer.routing import RoutingError as RoutingError
    from optimizer.routing import RoutingInstance as RoutingInstance
    from optimizer.routing import RoutingParams as RoutingParams
    from optimizer.routing import RoutingResult as RoutingResult
    from optimizer.routing import RoutingStatus as RoutingStatus
    from optimizer.routing import VehicleType as VehicleType
    from optimizer.routing import evaluate_routes as evaluate_routes
    from optimizer.routing import promise_due_times as promise_due_times
    from optimizer.routing import solve_routes as solve_routes

#: Name → the module it comes from.
_WHERE = {
    "AllocationParams": "optimizer.allocation.params",
    "AllocationResult": "optimizer.allocation.result",
    "Status": "optimizer.allocation.result",
    "solve_allocation": "optimizer.allocation.solve",
    "InvalidNetworkError": "optimizer.exceptions",
    "OptimiserError": "optimizer.exceptions",
    "ScalingWarning": "optimizer.exceptions",
    "SolverError": "optimizer.exceptions",
    "evaluate": "optimizer.plan.evaluate",
    "write_plan": "optimizer.plan.io",
    "PlanOutcome": "optimizer.plan.planning",
    "plan_scenario": "optimizer.plan.planning",
    "RoutingError": "optimizer.routing",
    "RoutingInstance": "optimizer.routing",
    "RoutingParams": "optimizer.routing",
    "RoutingResult": "optimizer.routing",
    "RoutingStatus": "optimizer.routing",
    "VehicleType": "optimizer.routing",
    "evaluate_routes": "optimizer.routing",
    "promise_due_times": "optimizer.routing",
    "solve_routes": "optimizer.routing",
}

__all__ = [
    "AllocationParams",
    "AllocationResult",
    "InvalidNetworkError",
    "OptimiserError",
    "PlanOutcome",
    "RoutingError",
    "RoutingInstance",
    "RoutingParams",
    "RoutingResult",
    "RoutingStatus",
    "ScalingWarning",
    "SolverError",
    "Status",
    "VehicleType",
    "evaluate",
    "evaluate_routes",
    "plan_scenario",
    "promise_due_times",
    "solve_allocation",
    "solve_routes",
    "write_plan",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'optimizer' has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
