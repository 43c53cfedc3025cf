"""Tests of ``optimizer.routing``: optimal routes on tiny instances (checked by brute force),
promise-derived due times, drop-to-carrier, fleet features and determinism."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from optimizer.routing import (
    RoutingError,
    RoutingInstance,
    RoutingParams,
    RoutingStatus,
    VehicleType,
    promise_due_times,
    solve_routes,
)
from optimizer.routing.evaluate import distance_matrix, evaluate_routes
from tests.helpers import brute_force, random_instance

# tiny instances: a solution limit ends most runs at once; the time limit ends the few whose
# neighbourhoods are exhausted (guided local search would otherwise wait for more solutions)
FAST = RoutingParams(time_limit_s=1.0, solution_limit=300)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("windows", [False, True])
def test_tiny_instances_reach_the_brute_force_optimum(seed: int, windows: bool) -> None:
    """On 6-client CVRP and VRPTW instances the solver's cost equals the brute-force optimum."""
    inst = random_instance(seed, 6, windows=windows)
    opt = brute_force(inst)
    res = solve_routes(inst, FAST)
    assert res.status is RoutingStatus.FEASIBLE
    assert res.cost == pytest.approx(opt, rel=1e-6)
    # the independent evaluator agrees with the reported figures
    ev = evaluate_routes(inst, [(r.vehicle_type, r.clients) for r in res.routes])
    assert ev.feasible and ev.cost == pytest.approx(res.cost)


def test_a_hand_checked_line_instance() -> None:
    """Clients on a line with capacity 2: the optimum is two out-and-back routes of cost 4 + 8."""
    xy = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]], float)
    inst = RoutingInstance.build(
        "line",
        distance_matrix(xy, "exact"),
        demand=[1, 1, 1, 1],
        vehicle_types=(VehicleType(count=4, capacity=(2.0,)),),
        coords=xy,
    )
    res = solve_routes(inst, FAST)
    assert res.cost == pytest.approx(12.0)
    assert sorted(sorted(r) for r in res.client_routes) == [[1, 2], [3, 4]]


def test_promise_due_times_formula() -> None:
    """Due time = order time + promise - hours already spent upstream."""
    due = promise_due_times([0.0, 1.5, -2.0], promise_hours=72.0, upstream_hours=[70.0, 12.0, 0.0])
    assert due.tolist() == [2.0, 61.5, 70.0]
    with pytest.raises(RoutingError, match="upstream_hours"):
        promise_due_times([0.0], upstream_hours=[-1.0])


def test_promise_due_time_forces_the_visit_order() -> None:
    """An order close to its 72 h limit is delivered first although it is farther away."""
    xy = np.array([[0, 0], [1, 0], [-2, 0]], float)
    dist = distance_matrix(xy, "exact")
    # client 2 (at x=-2) has spent 69.5 h upstream: due at 2.5 h; client 1 is fresh
    due = promise_due_times([0.0, 0.0], upstream_hours=[10.0, 69.5])
    inst = RoutingInstance.build(
        "promise",
        dist,
        demand=[1, 1],
        tw_late=due,
        vehicle_types=(VehicleType(count=1, capacity=(5.0,)),),
    )
    res = solve_routes(inst, FAST)
    assert res.feasible
    assert res.client_routes == [[2, 1]]
    # without the promise the nearest-first order (cost 8 either way) would also be allowed;
    # the evaluator rejects it under the promise
    ev = evaluate_routes(inst, [(0, [0, 1])])
    assert not ev.feasible and any("after its window" in v for v in ev.violations)


def test_order_that_fits_no_route_goes_to_parcel_carrier() -> None:
    """A too-heavy order with a carrier cost is dropped, listed, and its cost is added."""
    xy = np.array([[0, 0], [1, 0], [2, 0]], float)
    inst = RoutingInstance.build(
        "drop",
        distance_matrix(xy, "exact"),
        demand=[1, 50],
        drop_penalty=[100.0, 7.5],
        vehicle_types=(VehicleType(count=1, capacity=(10.0,)),),
        client_ids=["O-1", "O-2"],
    )
    res = solve_routes(inst, FAST)
    assert res.feasible
    assert res.dropped == (1,)
    assert res.client_routes == [["O-1"]]
    assert res.drop_cost == pytest.approx(7.5)
    assert res.cost == pytest.approx(2.0 + 7.5)


def test_drop_only_when_the_carrier_is_cheaper() -> None:
    """A remote order is routed when its carrier cost exceeds the detour, dropped otherwise."""
    xy = np.array([[0, 0], [1, 0], [50, 0]], float)
    dist = distance_matrix(xy, "exact")
    fleet = (VehicleType(count=1, capacity=(10.0,)),)
    cheap = RoutingInstance.build(
        "cheap", dist, demand=[1, 1], drop_penalty=[1e3, 20.0], vehicle_types=fleet
    )
    dear = RoutingInstance.build(
        "dear", dist, demand=[1, 1], drop_penalty=[1e3, 200.0], vehicle_types=fleet
    )
    assert solve_routes(cheap, FAST).dropped == (1,)
    r = solve_routes(dear, FAST)
    assert r.dropped == () and r.cost == pytest.approx(100.0)


def test_mandatory_order_that_fits_no_vehicle_is_an_error() -> None:
    """A mandatory order heavier than every vehicle raises an error naming it."""
    xy = np.array([[0, 0], [1, 0]], float)
    inst = RoutingInstance.build(
        "heavy",
        distance_matrix(xy, "exact"),
        demand=[50],
        vehicle_types=(VehicleType(count=2, capacity=(10.0,)),),
        client_ids=["ORD-9"],
    )
    with pytest.raises(RoutingError, match="ORD-9"):
        solve_routes(inst, FAST)


def test_order_no_vehicle_reaches_in_time_is_named_at_once() -> None:
    """A mandatory order whose window closes before any vehicle can arrive has no solution
    whatever the search does: the error names the order and the times, before any search."""
    xy = np.array([[0, 0], [10, 0], [1, 0]], float)
    inst = RoutingInstance.build(
        "late",
        distance_matrix(xy, "exact"),
        demand=[1, 1],
        tw_late=[5.0, 100.0],
        vehicle_types=(VehicleType(count=1, capacity=(10.0,)),),
        client_ids=["ORD-FAR", "ORD-NEAR"],
    )
    with pytest.raises(RoutingError, match=r"'ORD-FAR'.*cannot start before 10, after its window"):
        solve_routes(inst, RoutingParams(time_limit_s=2))


@pytest.mark.parametrize(
    ("fleet", "service"),
    [
        (VehicleType(count=2, capacity=(10.0,), shift_end=15.0), 0.0),  # back after the shift
        (VehicleType(count=2, capacity=(10.0,), max_duration=19.0), 0.0),  # trip too long
        (VehicleType(count=2, capacity=(10.0,), max_duration=25.0), 6.0),  # with the service
    ],
)
def test_order_beyond_every_shift_or_duration_is_named(fleet: VehicleType, service: float) -> None:
    """An order 10 away (20 there and back) that no shift or duration limit lets a vehicle
    serve and return from: the error names it."""
    xy = np.array([[0, 0], [10, 0]], float)
    inst = RoutingInstance.build(
        "far",
        distance_matrix(xy, "exact"),
        demand=[1],
        service=[service],
        vehicle_types=(fleet,),
        client_ids=["ORD-1"],
    )
    with pytest.raises(RoutingError, match=r"'ORD-1'.*shift and maximum route duration"):
        solve_routes(inst, FAST)


def test_unservable_order_that_may_go_to_the_carrier_is_dropped_not_an_error() -> None:
    """The same far order with a carrier price is handed to the carrier."""
    xy = np.array([[0, 0], [10, 0]], float)
    inst = RoutingInstance.build(
        "far",
        distance_matrix(xy, "exact"),
        demand=[1],
        drop_penalty=[3.0],
        vehicle_types=(VehicleType(count=1, capacity=(10.0,), shift_end=15.0),),
    )
    res = solve_routes(inst, FAST)
    assert res.feasible and res.dropped == (0,) and res.cost == pytest.approx(3.0)


def test_orders_each_servable_but_not_together_give_no_solution_status() -> None:
    """Two mandatory orders on opposite sides, both due at 10, and one vehicle: each can be
    served alone, not both, so the up-front check passes and the search reports NO_SOLUTION."""
    xy = np.array([[0, 0], [10, 0], [-10, 0]], float)
    inst = RoutingInstance.build(
        "apart",
        distance_matrix(xy, "exact"),
        demand=[1, 1],
        tw_late=[10.0, 10.0],
        vehicle_types=(VehicleType(count=1, capacity=(10.0,)),),
    )
    res = solve_routes(inst, RoutingParams(time_limit_s=2))
    assert res.status is RoutingStatus.NO_SOLUTION and not res.feasible


def test_unservable_mandatory_client_with_lns_is_no_solution() -> None:
    """With ruin-and-recreate on (mandatory clients get a prohibitive drop penalty inside the
    search), mandatory clients one vehicle cannot all reach in time still give NO_SOLUTION,
    never a silent drop."""
    xy = np.array([[0, 0], [1, 0], [2, 0], [10, 0], [-10, 0]], float)
    inst = RoutingInstance.build(
        "late3",
        distance_matrix(xy, "exact"),
        demand=[1, 1, 1, 1],
        tw_late=[100.0, 100.0, 10.0, 10.0],
        vehicle_types=(VehicleType(count=1, capacity=(10.0,)),),
    )
    res = solve_routes(inst, RoutingParams(time_limit_s=1.0, search="lns", lns_rounds=2))
    assert res.status is RoutingStatus.NO_SOLUTION and res.routes == ()


def test_travel_that_costs_nothing_still_solves() -> None:
    """Vans paid per van only (no cost per km or hour): the annealing's temperature, relative
    to the mean arc cost, used to be 0, which OR-Tools refuses."""
    xy = np.array([[0, 0], [1, 0], [2, 0], [0, 3]], float)
    inst = RoutingInstance.build(
        "free-km",
        distance_matrix(xy, "exact"),
        demand=[1, 1, 1],
        vehicle_types=(
            VehicleType(count=3, capacity=(10.0,), fixed_cost=7.0, cost_per_distance=0.0),
        ),
    )
    res = solve_routes(inst, FAST)
    assert res.feasible and res.num_vehicles == 1 and res.cost == pytest.approx(7.0)


def test_a_fleet_far_larger_than_the_orders_keeps_the_fleet_numbering() -> None:
    """100,000 vans of one type and 3 of another for three orders: the model holds at most a
    route per order and type, and vehicle numbers still count over the whole fleet (the second
    type's vans are numbered from 100,000)."""
    xy = np.array([[0, 0], [1, 0], [2, 0], [0, 3]], float)
    inst = RoutingInstance.build(
        "big-fleet",
        distance_matrix(xy, "exact"),
        demand=[1, 1, 5],
        vehicle_types=(
            VehicleType(count=100_000, capacity=(2.0,), cost_per_distance=10.0),
            VehicleType(count=3, capacity=(10.0,), cost_per_distance=1.0),
        ),
    )
    res = solve_routes(inst, FAST)
    assert res.feasible
    # the cheap big van serves everything in one route: 0-1-2-3-0 = 1 + 1 + sqrt(13) + 3
    assert res.cost == pytest.approx(5.0 + float(np.sqrt(13.0)))
    assert [(r.vehicle_type, r.vehicle) for r in res.routes] == [(1, 100_000)]


@pytest.mark.parametrize("removal", ["radial", "string"])
def test_ruin_and_recreate_keeps_every_client_and_is_feasible(removal: str) -> None:
    """Both removal kinds (with a record-to-record acceptance) return a feasible solution that
    serves every mandatory client, re-checked by the evaluator."""
    inst = dataclasses.replace(
        random_instance(11, 30, windows=True),
        vehicle_types=(VehicleType(count=10, capacity=(40.0,), shift_end=400.0),),
    )
    res = solve_routes(
        inst,
        RoutingParams(
            time_limit_s=2.0,
            search="lns",
            lns_rounds=8,
            lns_share=0.2,
            lns_removal=removal,
            lns_accept=0.01,
        ),
    )
    assert res.feasible and res.dropped == ()
    assert sorted(c for r in res.routes for c in r.clients) == list(range(30))


def test_second_capacity_dimension_binds() -> None:
    """Weight fits one vehicle but volume does not: two routes are needed."""
    xy = np.array([[0, 0], [1, 0], [1, 1]], float)
    inst = RoutingInstance.build(
        "kgm3",
        distance_matrix(xy, "exact"),
        demand=[[1.0, 0.6], [1.0, 0.6]],
        dimension_names=("kg", "m3"),
        vehicle_types=(VehicleType(count=2, capacity=(100.0, 1.0)),),
    )
    res = solve_routes(inst, FAST)
    assert res.feasible and res.num_vehicles == 2


def test_heterogeneous_fleet_prefers_cheaper_vehicle() -> None:
    """Of two vehicle types the one with the lower fixed + per-km cost is used."""
    xy = np.array([[0, 0], [1, 0], [2, 0]], float)
    fleet = (
        VehicleType(count=1, capacity=(10.0,), fixed_cost=50.0, cost_per_distance=2.0, name="van"),
        VehicleType(count=1, capacity=(10.0,), fixed_cost=10.0, cost_per_distance=1.0, name="bike"),
    )
    inst = RoutingInstance.build(
        "fleet", distance_matrix(xy, "exact"), demand=[1, 1], vehicle_types=fleet
    )
    res = solve_routes(inst, FAST)
    assert [r.vehicle_type for r in res.routes] == [1]
    assert res.cost == pytest.approx(10.0 + 4.0)


def test_per_hour_cost_counts_route_duration() -> None:
    """cost_per_hour multiplies the hours of travel and service on the route."""
    xy = np.array([[0, 0], [3, 0]], float)
    inst = RoutingInstance.build(
        "hourly",
        distance_matrix(xy, "exact"),
        demand=[1],
        service=[0.5],
        duration=distance_matrix(xy, "exact") / 3.0,  # 3 units per hour
        vehicle_types=(
            VehicleType(count=1, capacity=(5.0,), cost_per_distance=0.0, cost_per_hour=10.0),
        ),
    )
    res = solve_routes(inst, FAST)
    assert res.routes[0].duration == pytest.approx(2.5)
    assert res.cost == pytest.approx(25.0)


def test_each_depot_serves_its_own_neighbourhood() -> None:
    """With two depots far apart, each client is served from the nearer depot."""
    xy = np.array([[0, 0], [100, 0], [1, 0], [101, 0]], float)
    fleet = (
        VehicleType(count=1, capacity=(10.0,), start_depot=0, name="west"),
        VehicleType(count=1, capacity=(10.0,), start_depot=1, name="east"),
    )
    inst = RoutingInstance.build(
        "2dep",
        distance_matrix(xy, "exact"),
        num_depots=2,
        demand=[1, 1],
        vehicle_types=fleet,
        client_ids=["w", "e"],
    )
    res = solve_routes(inst, FAST)
    got = {
        inst.vehicle_types[r.vehicle_type].name: [inst.client_ids[c] for c in r.clients]
        for r in res.routes
    }
    assert got == {"west": ["w"], "east": ["e"]}
    assert res.cost == pytest.approx(4.0)


def test_max_route_duration_splits_routes() -> None:
    """A maximum route duration shorter than one tour forces two routes."""
    xy = np.array([[0, 0], [5, 0], [0, 5]], float)
    dist = distance_matrix(xy, "exact")
    long_ok = RoutingInstance.build(
        "dur", dist, demand=[1, 1], vehicle_types=(VehicleType(count=2, capacity=(10.0,)),)
    )
    short = RoutingInstance.build(
        "dur",
        dist,
        demand=[1, 1],
        vehicle_types=(VehicleType(count=2, capacity=(10.0,), max_duration=12.0),),
    )
    assert solve_routes(long_ok, FAST).num_vehicles == 1
    res = solve_routes(short, FAST)
    assert res.feasible and res.num_vehicles == 2
    assert max(r.duration for r in res.routes) <= 12.0


def test_same_seed_gives_same_routes() -> None:
    """With a solution-limit stop, the same seed reproduces the same routes."""
    inst = random_instance(7, 25, windows=True)
    p = RoutingParams(time_limit_s=None, solution_limit=200, seed=3)
    a, b = solve_routes(inst, p), solve_routes(inst, p)
    assert a.client_routes == b.client_routes and a.cost == b.cost
    assert a.seed == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"time_limit_s": -1.0}, r"time_limit_s must be > 0 seconds, got -1\.0"),  # negative
        ({"workers": 0}, "workers must be >= 1, got 0"),  # no worker
        ({"time_limit_s": None}, "solution_limit"),  # no stop at all
        ({"first_solution": "magic"}, "magic"),  # unknown heuristic
        ({"metaheuristic": "ants"}, "ants"),  # unknown metaheuristic
        ({"seed": -2}, "seed must be from 0 to 2147483647, got -2"),  # negative seed
        ({"lns_removal": "blast"}, "blast"),  # unknown removal
        ({"lns_accept": -0.1}, "lns_accept"),  # negative acceptance threshold
        ({"lns_meta": "ants"}, "ants"),  # unknown round metaheuristic
        ({"sub_first_solution": "magic"}, "sub_first_solution"),  # unknown subproblem start
        ({"sector_time_share": 0.0}, "sector_time_share"),  # no time for the sectors
        ({"sector_time_share": 1.0}, "sector_time_share"),  # none left to improve them
        ({"sub_warm_start": 1.5}, "sub_warm_start"),  # a share above 1
        ({"sub_warm_start": -0.5}, "sub_warm_start"),  # a negative share
        ({"warm_clients": 1}, "warm_clients"),  # a warm subproblem of one client
        ({"elim_neighbours": -1}, "elim_neighbours"),  # negative neighbour count
        ({"elim_below": -0.1}, "elim_below"),  # negative size threshold
    ],
)
def test_bad_params_are_rejected(kwargs: dict, match: str) -> None:
    """Invalid search parameters raise RoutingError naming the parameter."""
    with pytest.raises(RoutingError, match=match):
        RoutingParams(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"demand": [1, -1]}, "'b'.*demand"),  # negative demand names the client
        ({"tw_early": [5, 0], "tw_late": [1, 9]}, "'a'.*closes"),  # window closes before opening
        ({"demand": [1, 2, 3]}, "one row per client"),  # wrong length
        ({"vehicle_types": (VehicleType(count=1, capacity=(1.0,), start_depot=3),)}, "depot 3"),
    ],
)
def test_bad_instances_are_rejected(kwargs: dict, match: str) -> None:
    """Invalid instance data raise RoutingError naming the offending item."""
    xy = np.array([[0, 0], [1, 0], [2, 0]], float)
    base = {
        "demand": [1, 1],
        "vehicle_types": (VehicleType(count=1, capacity=(5.0,)),),
        "client_ids": ["a", "b"],
    }
    base.update(kwargs)
    with pytest.raises(RoutingError, match=match):
        RoutingInstance.build("bad", distance_matrix(xy, "exact"), **base)


def test_params_from_toml(tmp_path) -> None:
    """RoutingParams.from_toml reads a [routing] table and rejects unknown keys."""
    good = tmp_path / "p.toml"
    good.write_text("[routing]\ntime_limit_s = 3.0\nfirst_solution = 'savings'\n")
    p = RoutingParams.from_toml(good, seed=5)
    assert (p.time_limit_s, p.first_solution, p.seed) == (3.0, "savings", 5)
    bad = tmp_path / "q.toml"
    bad.write_text("speed = 3\n")
    with pytest.raises(RoutingError, match="speed"):
        RoutingParams.from_toml(bad)


@pytest.mark.parametrize("value, share", [("true", 1.0), ("false", 0.0)])
def test_params_from_toml_read_sub_warm_start_true_false_as_1_0(
    tmp_path, value: str, share: float
) -> None:
    """``sub_warm_start = true`` / ``false`` in a TOML is a share of 1 / 0, as in the Python
    call (the docstring says so; the TOML path refused it as "not a number")."""
    f = tmp_path / "p.toml"
    f.write_text(f"[routing]\ntime_limit_s = 3.0\nsub_warm_start = {value}\n")
    p = RoutingParams.from_toml(f)
    assert p == RoutingParams(time_limit_s=3.0, sub_warm_start=value == "true")
    assert p.sub_warm_start == share and type(p.sub_warm_start) is float


def test_sweep_start_is_feasible_and_used(caplog) -> None:
    """The sweep first solution (large-instance default) gives a feasible, evaluator-checked
    result, also with optional orders and a tight shift."""
    base = random_instance(11, 60, windows=True)
    inst = dataclasses.replace(
        base, vehicle_types=(VehicleType(count=30, capacity=(40.0,), shift_end=400.0),)
    )
    with caplog.at_level("INFO", logger="optimizer.routing"):
        res = solve_routes(inst, RoutingParams(time_limit_s=2.0, first_solution="sweep"))
    assert "sweep" not in caplog.text  # no fallback to OR-Tools' own first solution
    assert res.feasible, res.violations
    ev = evaluate_routes(inst, [(r.vehicle_type, r.clients) for r in res.routes])
    assert ev.cost == pytest.approx(res.cost)
