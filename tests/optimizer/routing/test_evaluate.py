"""Tests of the independent route evaluator ``optimizer.routing.evaluate``."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.routing import RoutingInstance, VehicleType
from optimizer.routing.evaluate import distance_matrix, evaluate_routes
from optimizer.routing.io import read_instance, read_solomon, read_solution, routes_to_indices


@pytest.fixture(scope="module")
def square() -> RoutingInstance:
    """Four clients on a unit square around a depot at the origin; capacity 2, two vehicles."""
    xy = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [-1, 0]], float)
    return RoutingInstance.build(
        "square",
        distance_matrix(xy, "exact"),
        demand=[1, 1, 1, 1],
        tw_early=[0, 0, 0, 0],
        tw_late=[10, 10, 2.0, 10],
        service=[0.5, 0, 0, 0],
        drop_penalty=[np.inf, np.inf, np.inf, 3.0],
        client_ids=["a", "b", "c", "d"],
        vehicle_types=(VehicleType(count=2, capacity=(2.0,), shift_end=20.0, max_duration=8.0),),
        coords=xy,
    )


def test_a_feasible_solution_is_accepted_with_its_cost(square: RoutingInstance) -> None:
    """Routes a-b and c + d dropped: feasible, cost = distances + penalty."""
    ev = evaluate_routes(square, [(0, [0, 1]), (0, [2])], dropped=[3])
    assert ev.feasible, ev.violations
    assert ev.distance == pytest.approx((1 + 1 + np.sqrt(2)) + 2.0)
    assert ev.cost == pytest.approx(ev.distance + 3.0)


@pytest.mark.parametrize(
    ("routes", "dropped", "message"),
    [
        ([(0, [0, 1, 2])], [3], "load 3 > capacity 2"),  # capacity
        # time window
        ([(0, [0, 1]), (0, [3, 2])], [], "'c' served at 2.4142 after its window closes at 2"),
        ([(0, [0, 1]), (0, [2])], [], "'d' neither routed"),  # missing client
        ([(0, [0, 1]), (0, [2, 0])], [3], "'a' visited 2 times"),  # duplicate
        ([(0, [0]), (0, [1]), (0, [2])], [3], "3 routes > 2 vehicles"),  # fleet size
        ([(0, [0, 1]), (0, [3])], [2], "'c' is mandatory but dropped"),  # mandatory dropped
        ([(0, [0, 1]), (0, [2, 3])], [3], "'d' both routed and dropped"),  # both
        ([(0, [0, 9])], [], "unknown client index 9"),  # bad index
        ([(5, [0])], [], "unknown vehicle type 5"),  # bad vehicle type
    ],
)
def test_each_kind_of_violation_is_reported(
    square: RoutingInstance, routes: list, dropped: list, message: str
) -> None:
    """The evaluator rejects the solution and names the violated rule and item."""
    ev = evaluate_routes(square, routes, dropped=dropped)
    assert not ev.feasible
    assert any(message in v for v in ev.violations), ev.violations


def test_route_duration_and_shift_end_are_checked() -> None:
    """A route longer than max_duration, and one returning after the shift, are rejected."""
    xy = np.array([[0, 0], [5, 0]], float)
    dist = distance_matrix(xy, "exact")
    short = RoutingInstance.build(
        "d",
        dist,
        demand=[1],
        vehicle_types=(VehicleType(count=1, capacity=(1.0,), max_duration=9.0),),
    )
    ev = evaluate_routes(short, [(0, [0])])
    assert any("duration 10.0000 > max_duration 9" in v for v in ev.violations)
    shift = RoutingInstance.build(
        "s", dist, demand=[1], vehicle_types=(VehicleType(count=1, capacity=(1.0,), shift_end=9.0),)
    )
    ev = evaluate_routes(shift, [(0, [0])])
    assert any("after the shift end 9" in v for v in ev.violations)


def test_waiting_at_the_start_is_not_route_duration() -> None:
    """The departure is delayed to the latest useful time: duration excludes the early wait."""
    xy = np.array([[0, 0], [2, 0]], float)
    inst = RoutingInstance.build(
        "wait",
        distance_matrix(xy, "exact"),
        demand=[1],
        tw_early=[10.0],
        tw_late=[12.0],
        vehicle_types=(VehicleType(count=1, capacity=(1.0,), max_duration=4.0),),
    )
    ev = evaluate_routes(inst, [(0, [0])])
    assert ev.feasible and ev.routes[0].duration == pytest.approx(4.0)
    assert ev.routes[0].departure == pytest.approx(8.0)


def test_cvrplib_optimal_solution_recomputes_to_its_cost(data_dir) -> None:
    """X-n101-k25's optimal solution: feasible, TSPLIB-rounded cost exactly 27591."""
    inst = read_instance(data_dir / "vrp" / "X-n101-k25.vrp")
    routes = routes_to_indices(inst, read_solution(data_dir / "vrp" / "X-n101-k25.sol"))
    ev = evaluate_routes(inst, routes)
    assert ev.feasible, ev.violations
    assert ev.cost == 27591


def test_homberger_bks_solution_recomputes_to_its_distance(data_dir) -> None:
    """c1_2_1's best-known solution: feasible with windows, distance 2704.5678 (double)."""
    inst = read_solomon(data_dir / "vrp" / "c1_2_1.txt")
    routes = routes_to_indices(inst, read_solution(data_dir / "vrp" / "c1_2_1.sol"))
    ev = evaluate_routes(inst, routes)
    assert ev.feasible, ev.violations
    assert len(routes) == 20
    assert ev.distance == pytest.approx(2704.5678, abs=1e-3)
    # a truncated-distance re-evaluation can only be shorter
    assert evaluate_routes(inst, routes, convention="trunc1").distance < ev.distance
