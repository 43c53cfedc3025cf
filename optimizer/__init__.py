"""tradelane's models: allocation MIP, evaluation, naive baseline, routing.

A facade: ``from optimizer import plan_scenario, AllocationParams``.
"""

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
