"""tradelane's models: allocation MIP, evaluation, naive baseline, routing.

A facade: ``from optimizer import plan_scenario, AllocationParams``.
"""

from optimizer.exceptions import InvalidNetworkError as InvalidNetworkError
from optimizer.exceptions import OptimiserError as OptimiserError
from optimizer.exceptions import ScalingWarning as ScalingWarning
from optimizer.exceptions import SolverError as SolverError
from optimizer.params import AllocationParams as AllocationParams
from optimizer.result import AllocationResult as AllocationResult
from optimizer.result import Status as Status
from optimizer.planning import PlanOutcome as PlanOutcome  # noqa: E402, I001
from optimizer.planning import plan_scenario as plan_scenario
from optimizer.allocation import solve_allocation as solve_allocation
from optimizer.evaluate import evaluate as evaluate
from optimizer.plan_io import write_plan as write_plan
from optimizer.routing import RoutingError as RoutingError
from optimizer.routing import RoutingInstance as RoutingInstance
from optimizer.routing import RoutingParams as RoutingParams
from optimizer.routing import RoutingResult as RoutingResult
from optimizer.routing import RoutingStatus as RoutingStatus
from optimizer.routing import VehicleType as VehicleType
from optimizer.routing import promise_due_times as promise_due_times
from optimizer.routing import solve_routes as solve_routes
from optimizer.route_eval import evaluate_routes as evaluate_routes
