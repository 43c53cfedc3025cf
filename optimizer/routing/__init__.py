"""Last-mile vehicle routing (VRP) with OR-Tools routing.

One module per concern, imports pointing down this list only:

- ``instance``: ``RoutingInstance``, ``VehicleType``, ``RoutingError``, ``promise_due_times``
  (the data, in the instance's own units);
- ``params``: ``RoutingParams`` and its choices;
- ``result``: ``RoutingStatus``, ``Route``, ``RoutingResult``;
- ``evaluate``: the independent evaluator (no OR-Tools) that re-checks every solution;
- ``scaling``: the instance in OR-Tools' integers (rounded so feasible stays feasible);
- ``model``: the only module touching the OR-Tools routing API;
- ``search``: sweep start, ILS then guided local search, ruin-and-recreate rounds;
- ``monolithic``: one model of the whole instance (which search runs when);
- ``decompose``: large days in subproblems solved in parallel (POPMUSIC over OR-Tools);
- ``solve``: ``solve_routes`` (the path by size);
- ``io``: Solomon and VRPLIB readers, solution files and JSON.

A facade: ``from optimizer.routing import solve_routes, RoutingParams``.
"""

from optimizer.exceptions import ScalingWarning as ScalingWarning
from optimizer.routing.evaluate import RouteEvaluation as RouteEvaluation
from optimizer.routing.evaluate import evaluate_routes as evaluate_routes
from optimizer.routing.instance import RoutingError as RoutingError
from optimizer.routing.instance import RoutingInstance as RoutingInstance
from optimizer.routing.instance import VehicleType as VehicleType
from optimizer.routing.instance import promise_due_times as promise_due_times
from optimizer.routing.params import RoutingParams as RoutingParams
from optimizer.routing.result import Route as Route
from optimizer.routing.result import RoutingResult as RoutingResult
from optimizer.routing.result import RoutingStatus as RoutingStatus
from optimizer.routing.solve import solve_routes as solve_routes
