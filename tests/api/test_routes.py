"""``POST /v1/routes``: the real OR-Tools routing in a solver process, and its errors."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from api.convert import GEODESIC_MAX_LOCATIONS, route_request_to_instance
from api.schemas import RouteCreate
from api.worker import route_job
from network.geo import pairwise_km
from optimizer.routing import RoutingError
from optimizer.routing.solve import shortest_time_limit
from tests.api.conftest import auth


@pytest.fixture
def day() -> dict[str, Any]:
    """12 orders around Kuala Lumpur, 2 vans of 60 kg: not every order fits (parcel option)."""
    return {
        "depots": [{"id": "WH-KUL", "lat": 3.14, "lon": 101.69}],
        "orders": [
            {
                "id": f"o{i}",
                "lat": 3.0 + 0.02 * i,
                "lon": 101.5 + 0.015 * (i % 5),
                "demand_kg": 5 + i,
                "parcel_cost": 20.0,
            }
            for i in range(12)
        ],
        "fleet": [
            {
                "id": "van",
                "depot": "WH-KUL",
                "count": 2,
                "capacity_kg": 60,
                "fixed_cost": 30,
                "cost_per_km": 0.5,
            }
        ],
        "time_limit_s": 1,
    }


def test_routes_solution_is_consistent(client, day) -> None:
    """Every order is routed or handed to the parcel carrier exactly once; loads fit; the cost
    is the routes' cost plus the parcel cost of the dropped orders."""
    r = client.post("/v1/routes", json=day, headers=auth())
    assert r.status_code == 200, r.text
    sol = r.json()
    assert sol["feasible"] and sol["status"] == "feasible"
    routed = [o for rt in sol["routes"] for o in rt["orders"]]
    assert sorted(routed + sol["dropped"]) == sorted(o["id"] for o in day["orders"])
    assert len(set(routed)) == len(routed)
    kg = {o["id"]: o["demand_kg"] for o in day["orders"]}
    for rt in sol["routes"]:
        assert rt["load_kg"] == pytest.approx(sum(kg[o] for o in rt["orders"]))
        assert rt["load_kg"] <= 60 + 1e-9 and rt["depot"] == "WH-KUL"
    total = sum(rt["cost"] for rt in sol["routes"]) + 20.0 * len(sol["dropped"])
    assert sol["cost"] == pytest.approx(total, rel=1e-6)
    assert sol["vehicles"] == len(sol["routes"]) <= 2
    # 126 kg of demand, 120 kg of vans: at least 6 kg must go by parcel.
    assert sum(kg.values()) == 126
    assert sum(kg[o] for o in sol["dropped"]) >= 126 - 120
    # per stop: the ETA, the delivery after any wait, and the slack to the order's promise
    assert sol["path"] == "ils"
    for rt in sol["routes"]:
        assert [st["order"] for st in rt["stops"]] == rt["orders"]
        etas = [st["eta_h"] for st in rt["stops"]]
        assert etas == sorted(etas) and etas[0] > 0
        for st in rt["stops"]:
            assert st["start_h"] >= st["eta_h"] - 1e-9
            assert st["promise_slack_h"] is None or st["promise_slack_h"] >= -1e-9
        # the van leaves before its first arrival and is back after its last delivery
        assert 0 <= rt["depart_h"] < etas[0]
        assert rt["return_h"] > rt["stops"][-1]["start_h"]
    # each order handed to the carrier with its carrier cost (the request's parcel_cost)
    assert [c["order"] for c in sol["carrier"]] == sol["dropped"]
    assert all(c["carrier_cost"] == 20.0 for c in sol["carrier"])
    routes_cost = sum(rt["cost"] for rt in sol["routes"])
    assert sol["cost"] == pytest.approx(
        routes_cost + sum(c["carrier_cost"] for c in sol["carrier"])
    )


@pytest.mark.parametrize(
    "mutate, field, words",
    [
        (
            lambda d: d["fleet"][0].update(depot="WH-X"),
            "fleet[0] (id 'van').depot",
            "unknown depot",
        ),
        (lambda d: d["orders"][1].update(id="o0"), "orders[1] (id 'o0').id", "duplicate id"),
        (
            lambda d: d["orders"][0].update(ready_h=10, due_h=5),
            "orders[0] (id 'o0').due_h",
            "before it is ready",
        ),
        (
            lambda d: d["orders"][0].update(age_h=80),
            "orders[0] (id 'o0').age_h",
            "promise is already missed",
        ),
        (
            lambda d: d["depots"][0].update(open_h=9, close_h=8),
            "depots[0] (id 'WH-KUL').close_h",
            "before it opens",
        ),
    ],
)
def test_route_request_problems_are_422(client, day, mutate, field, words) -> None:
    """Cross-reference problems are 422 entries naming the item."""
    mutate(day)
    r = client.post("/v1/routes", json=day, headers=auth())
    assert r.status_code == 422
    d = r.json()["detail"]
    assert d[0]["field"] == field and words in d[0]["msg"]


def test_route_schema_and_limits(client, day) -> None:
    """Schema errors name the field; a time limit over the synchronous maximum is 422."""
    bad = {**day, "orders": []}
    r = client.post("/v1/routes", json=bad, headers=auth())
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "orders"
    r = client.post("/v1/routes", json={**day, "time_limit_s": 31}, headers=auth())
    assert r.status_code == 422 and "synchronous" in r.json()["detail"][0]["msg"]


def test_router_errors_map_to_codes(client_factory, day) -> None:
    """A missing routing model is 503; a router refusing its input is 422 with its message at
    the field path of the order it names (it was a bare string, unlike every other 422)."""
    c = client_factory(router="tests.api.solvers:unavailable")
    r = c.post("/v1/routes", json=day, headers=auth())
    assert r.status_code == 503 and "not available" in r.json()["detail"]
    c = client_factory(router="tests.api.solvers:rejects")
    r = c.post("/v1/routes", json=day, headers=auth())
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", "orders", 0] and err["msg"] == "client 'o0': not understood"


def test_router_overrun_and_bug(client_factory, day) -> None:
    """A router silent past its limit plus the grace is 504 (and stopped); a crashing router
    is a 500 that does not leak its message."""
    c = client_factory(router="tests.api.solvers:slow_router", kill_grace_s=0.5)
    t0 = time.monotonic()
    r = c.post("/v1/routes", json={**day, "time_limit_s": 0.5}, headers=auth())
    assert r.status_code == 504 and time.monotonic() - t0 < 20
    c = client_factory(router="tests.api.solvers:explodes")
    r = c.post("/v1/routes", json=day, headers=auth())
    assert r.status_code == 500 and r.json() == {"detail": "routing failed"}


def _large_request(n: int, *, time_limit_s: float) -> dict[str, Any]:
    """``n`` orders within about 10 km of one Kuala Lumpur depot, one van per 20 orders."""
    rng = np.random.default_rng(0)
    return RouteCreate.model_validate(
        {
            "depots": [{"id": "WH-KUL", "lat": 3.14, "lon": 101.69}],
            "orders": [
                {
                    "id": f"o{i}",
                    "lat": 3.14 + rng.normal(0, 0.08),
                    "lon": 101.69 + rng.normal(0, 0.08),
                    "demand_kg": float(rng.integers(1, 20)),
                    "service_min": 3,
                    "parcel_cost": 20.0,
                }
                for i in range(n)
            ],
            "fleet": [{"id": "van", "depot": "WH-KUL", "count": n // 20 + 1, "capacity_kg": 600}],
            "time_limit_s": time_limit_s,
        }
    ).model_dump()


def test_large_requests_use_haversine_distances() -> None:
    """Up to ``GEODESIC_MAX_LOCATIONS`` locations the distances are WGS84 geodesics; above, the
    haversine formula (pyproj's geodesics took 4-5 s of a 2,000-order request's time limit),
    within 0.6 % of them; both times the circuity."""
    small, _ = route_request_to_instance(
        _large_request(GEODESIC_MAX_LOCATIONS - 1, time_limit_s=1), time_limit_s=1, seed=0
    )
    large, _ = route_request_to_instance(
        _large_request(GEODESIC_MAX_LOCATIONS, time_limit_s=1), time_limit_s=1, seed=0
    )
    assert small.distance_convention == "geodesic"
    assert large.distance_convention == "haversine"
    lat, lon = large.coords[:, 0], large.coords[:, 1]
    exact = pairwise_km(lat, lon, lat, lon) * 1.3
    off = ~np.eye(len(lat), dtype=bool)
    assert np.abs(large.distance[off] / exact[off] - 1).max() < 0.006
    assert np.all(np.diag(large.distance) == 0)
    assert np.allclose(large.duration, large.distance / 30.0)


def test_the_time_limit_covers_building_the_request() -> None:
    """The solve gets what is left of the request's limit after the instance is built; a limit
    shorter than the decomposition's shortest is refused naming the request's own limit, and
    one the search alone could keep but not after the build is refused naming what to give
    (it was searched for the shortest limit after the build, and answered late)."""
    inst, params = route_request_to_instance(
        _large_request(2000, time_limit_s=30), time_limit_s=30, seed=0
    )
    assert params.time_limit_s is not None and params.time_limit_s < 30
    shortest = shortest_time_limit(inst, params)
    assert shortest > 1
    with pytest.raises(RoutingError, match=r"building their distances took .* give at least"):
        route_request_to_instance(
            _large_request(2000, time_limit_s=shortest), time_limit_s=shortest, seed=0
        )
    with pytest.raises(RoutingError, match=r"a time limit of 1 s is too short for 2,000 orders"):
        route_job(_large_request(2000, time_limit_s=1), time_limit_s=1)


def test_the_largest_request_keeps_its_time_limit() -> None:
    """A 2,000-order request (the schema's largest) answers within its limit plus 10 %: its
    distances took 4-5 s on their own, and the solve had the whole limit besides. (3 s: above
    the decomposition's shortest limit, 1.7 s, by more than a slow build of the distances.)"""
    limit = 3.0
    t0 = time.perf_counter()
    out = route_job(_large_request(2000, time_limit_s=limit), time_limit_s=limit)
    wall = time.perf_counter() - t0
    assert out["feasible"] and out["path"] == "decomposition"
    assert wall <= 1.1 * limit, wall


def test_carrier_orders_carry_their_deadline(day) -> None:
    """Each order handed to the parcel carrier carries ``due_h``, its latest delivery (the
    promise less its age, or its own ``due_h``): what the carrier has left."""
    day["orders"][0].update(lat=5.9, lon=102.2, age_h=10.0)  # 350 km away: no van goes
    day["orders"][1].update(lat=5.9, lon=102.3, due_h=30.0)
    out = route_job(RouteCreate.model_validate(day).model_dump(), time_limit_s=1)
    due = {c["order"]: c["due_h"] for c in out["carrier"]}
    assert due["o0"] == pytest.approx(62.0) and due["o1"] == pytest.approx(30.0)
    # the others were placed at day start: the whole 72-h promise is left
    assert all(v == pytest.approx(72.0) for k, v in due.items() if k not in ("o0", "o1"))


def test_vehicle_labels_number_within_their_fleet_entry(day) -> None:
    """A route's label is its fleet entry's id and the vehicle's number within that entry:
    the trucks listed after two vans are truck#0 and truck#1 (they were truck#2 and truck#3,
    numbered over the whole fleet)."""
    day["fleet"][0]["capacity_kg"] = 20  # vans too small for most orders
    day["fleet"].append(
        {"id": "truck", "depot": "WH-KUL", "count": 2, "capacity_kg": 200, "cost_per_km": 0.5}
    )
    out = route_job(RouteCreate.model_validate(day).model_dump(), time_limit_s=1)
    labels = [r["vehicle"] for r in out["routes"]]
    counts = {"van": 2, "truck": 2}
    assert any(lab.startswith("truck#") for lab in labels), labels
    for lab in labels:
        name, _, k = lab.partition("#")
        assert 0 <= int(k) < counts[name], labels
    assert len(set(labels)) == len(labels)


def test_a_time_limit_too_short_is_a_422_at_time_limit_s(client) -> None:
    """The solver's refusal of a limit too short for the day is a 422 at ``time_limit_s``,
    in words without the instance's internal name (it was a bare string starting
    'api-request: ')."""
    r = client.post("/v1/routes", json=_large_request(2000, time_limit_s=1), headers=auth())
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", "time_limit_s"]
    assert err["msg"].startswith("a time limit of 1 s is too short for 2,000 orders")
