"""Tests of ``optimizer.plan.day``: a day's orders sampled from a plan, and their routes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from network.scenario import load_scenario
from optimizer.plan.day import FleetSpec, build_day_instance
from optimizer.plan.document import Plan
from optimizer.routing import RoutingError, RoutingParams, solve_routes
from optimizer.routing.evaluate import evaluate_routes
from optimizer.solver import Status


@pytest.fixture(scope="module")
def plan_and_scenario(data_dir):
    """The hand-written tiny plan (WH-KUL serves Z-KUL and Z-JHB) and its scenario."""
    d = data_dir / "vrp" / "plan-tiny"
    return Plan.from_json(json.loads((d / "plan.json").read_text())), load_scenario(
        d / "scenario.json"
    )


def test_sampling_is_deterministic_by_seed_and_day(plan_and_scenario) -> None:
    """Same (seed, day) gives the same orders and addresses; another day gives other orders."""
    plan, scen = plan_and_scenario
    a = build_day_instance(plan, scen, warehouse="WH-KUL", day=3, seed=1)
    b = build_day_instance(plan, scen, warehouse="WH-KUL", day=3, seed=1)
    c = build_day_instance(plan, scen, warehouse="WH-KUL", day=4, seed=1)
    assert a.client_ids == b.client_ids
    np.testing.assert_array_equal(a.coords, b.coords)
    assert not (a.client_ids == c.client_ids and np.array_equal(a.coords, c.coords))


def test_day_instance_contents(plan_and_scenario) -> None:
    """Orders come from WH-KUL's rows only, with SKU kg/m³, rate-card carrier cost, due times."""
    plan, scen = plan_and_scenario
    inst = build_day_instance(plan, scen, warehouse="WH-KUL", day=0, seed=0)
    # daily mean: (1800 + 600 + 280) / 28 ~ 96 orders; Poisson, so within a wide band
    assert 60 < inst.num_clients < 140
    zones = {cid.split("/")[0] for cid in inst.client_ids}
    assert zones <= {"Z-KUL", "Z-JHB"} and "Z-KUL" in zones
    assert inst.depot_ids == ("WH-KUL",) and inst.dimension_names == ("kg", "m3")
    k = next(i for i, cid in enumerate(inst.client_ids) if "/SKU-B/" in cid)
    assert inst.demand[k].tolist() == [1.2, 0.006]
    # MY-std rate card: 1.1 + 0.35 kg + 0.0008 km (km = road km from the warehouse)
    km = inst.distance[0, k + 1]
    assert inst.drop_penalty[k] == pytest.approx(1.1 + 0.35 * 1.2 + 0.0008 * km)
    # due = 72 h - age; the warehouse's 12 processing hours hold the cut-off wait, so they
    # are the mean age (12 + U(-12, 12), 24 h more for the 10 % backlog: mean 14.4 h; it was
    # 26.4 h when the day added a cut-off wait of U(0, 24) on top)
    age = np.asarray(inst.meta["age_hours"])
    fin = np.isfinite(inst.tw_late)
    assert np.all((age >= 0.0) & (age <= 48.0))
    assert abs(age.mean() - 14.4) < 4.0, age.mean()
    np.testing.assert_allclose(inst.tw_late[fin], (72.0 - age)[fin], atol=1e-3)


def test_far_orders_go_to_parcel_carrier_and_metro_orders_are_routed(plan_and_scenario) -> None:
    """Johor orders (~300 km away) cannot be reached in a van shift: handed to the carrier."""
    plan, scen = plan_and_scenario
    inst = build_day_instance(plan, scen, warehouse="WH-KUL", day=2, seed=0)
    res = solve_routes(inst, RoutingParams(time_limit_s=2.0))
    assert res.feasible, res.violations
    routed = {inst.client_ids[c] for r in res.routes for c in r.clients}
    dropped = {inst.client_ids[c] for c in res.dropped}
    assert all(cid.startswith("Z-KUL") for cid in routed) and routed
    assert {cid for cid in inst.client_ids if cid.startswith("Z-JHB")} <= dropped
    ev = evaluate_routes(
        inst, [(r.vehicle_type, r.clients) for r in res.routes], dropped=res.dropped
    )
    assert ev.feasible and ev.cost == pytest.approx(res.cost)


def test_given_matrix_replaces_geodesic_distances(plan_and_scenario) -> None:
    """A distance matrix of the right shape is used as is; a wrong shape is an error."""
    plan, scen = plan_and_scenario
    base = build_day_instance(plan, scen, warehouse="WH-KUL", day=1, seed=0)
    n = base.num_locations
    m = np.full((n, n), 7.0)
    np.fill_diagonal(m, 0.0)
    inst = build_day_instance(plan, scen, warehouse="WH-KUL", day=1, seed=0, matrix_km=m)
    assert inst.distance[0, 1] == 7.0 and inst.duration[0, 1] == pytest.approx(7.0 / 30.0)
    with pytest.raises(RoutingError, match="shape"):
        build_day_instance(
            plan, scen, warehouse="WH-KUL", day=1, seed=0, matrix_km=np.zeros((3, 3))
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"warehouse": "WH-XXX"}, "unknown warehouse 'WH-XXX'"),  # not in the scenario
        ({"warehouse": "Z-KUL"}, "unknown warehouse 'Z-KUL'"),  # a zone, not a warehouse
        ({"day": 28}, "day 28 outside the horizon"),  # horizon is 28 days
        (
            {"warehouse": "WH-PEN", "plan": Plan("s", Status.OPTIMAL, 0, 0, 0, 0, fulfilment=())},
            "no fulfilment from 'WH-PEN'",
        ),
    ],
)
def test_bad_plan_requests_are_rejected(plan_and_scenario, kwargs, match) -> None:
    """Bad warehouse, day or plan raise RoutingError naming the item."""
    plan, scen = plan_and_scenario
    args = {"warehouse": "WH-KUL", "day": 0, "plan": plan}
    args.update(kwargs)
    with pytest.raises(RoutingError, match=match):
        build_day_instance(args.pop("plan"), scen, **args)
    with pytest.raises(RoutingError, match="speed_kmh"):
        FleetSpec(speed_kmh=0)


# -- the day's ETAs and promise slacks, recomputed independently -----------------------------


def _recompute(inst, route):
    """Arrival, start, return of one route from the instance arrays (departure at shift start:
    plan days have no opening times, so no wait can be cut by leaving later)."""
    vt = inst.vehicle_types[route.vehicle_type]
    t, prev, rows = vt.shift_start, 0, []
    for c in route.clients:
        arr = t + inst.duration[prev, 1 + c]
        start = max(arr, inst.tw_early[c])
        rows.append((arr, start))
        t, prev = start + inst.service[c], 1 + c
    return vt.shift_start, rows, t + inst.duration[prev, 0]


def _check_day_output(inst, res, promise_hours=72.0):
    """Every stop's ETA, start and slack (promise - age - start), every route's departure,
    return and duration, and the carrier orders, against an independent recomputation."""
    from optimizer.routing.io import solution_to_dict

    out = json.loads(json.dumps(solution_to_dict(inst, res), allow_nan=False))
    due = promise_hours - np.asarray(inst.meta["age_hours"])
    pos = {cid: i for i, cid in enumerate(inst.client_ids)}
    vt = inst.vehicle_types[0]
    assert vt.shift_start == 0.0 and vt.shift_end == 10.0 and vt.max_duration == 10.0
    for r, rd in zip(res.routes, out["route_details"], strict=True):
        dep, rows, ret = _recompute(inst, r)
        assert rd["duration"] == pytest.approx(ret - dep, abs=1e-5) and ret <= vt.shift_end + 1e-9
        for st, (arr, start) in zip(rd["stops"], rows, strict=True):
            c = pos[st["client"]]
            assert st["eta"] == pytest.approx(arr, abs=1e-5)
            assert st["start"] == pytest.approx(start, abs=1e-5)
            # service = 3 min handover; 72 h promise minus the order's age at dispatch
            assert inst.service[c] == pytest.approx(0.05)
            assert st["slack"] == pytest.approx(due[c] - start, abs=2e-3)
    routed = {s["client"] for rd in out["route_details"] for s in rd["stops"]}
    for d in out["dropped"]:
        assert d["client"] not in routed and d["carrier_cost"] > 0
    assert len(routed) + len(out["dropped"]) == inst.num_clients
    return out


def test_small_day_etas_and_slacks_recompute(plan_and_scenario) -> None:
    """A one-model day: ETAs, departures, returns and promise slacks are what a hand
    recomputation gives, in hours since dispatch, as valid JSON."""
    plan, scen = plan_and_scenario
    inst = build_day_instance(plan, scen, warehouse="WH-KUL", day=2, seed=0)
    res = solve_routes(inst, RoutingParams(time_limit_s=1.0))
    assert res.feasible and res.path in ("ils", "lns") and res.routes
    _check_day_output(inst, res)


def test_decomposed_day_reports_etas_the_same_way(plan_and_scenario) -> None:
    """The decomposition path (forced on a small day to keep the test fast) reports the same
    per-stop figures, recomputed the same way."""
    plan, scen = plan_and_scenario
    inst = build_day_instance(plan, scen, warehouse="WH-KUL", day=2, seed=0)
    res = solve_routes(
        inst, RoutingParams(time_limit_s=2.0, decompose="always", sub_clients=40, workers=1)
    )
    assert res.feasible and res.path == "decomposition" and res.routes
    _check_day_output(inst, res)


def test_late_orders_report_their_negative_slack_not_none(plan_and_scenario) -> None:
    """An order already past its promise keeps no deadline in the VRP, but its reported slack
    is the (negative) hours to its promise, not null ("no deadline")."""
    plan, scen = plan_and_scenario
    short = scen.model_copy(
        update={"service": scen.service.model_copy(update={"promise_hours": 37.0})}
    )
    inst = build_day_instance(plan, short, warehouse="WH-KUL", day=2, seed=0, backlog_share=0.5)
    late = set(inst.meta["late_orders"])
    res = solve_routes(inst, RoutingParams(time_limit_s=1.0))
    out = _check_day_output(inst, res, promise_hours=37.0)
    slacks = {s["client"]: s["slack"] for rd in out["route_details"] for s in rd["stops"]}
    routed_late = late & set(slacks)
    assert routed_late, "the test needs a late order on a route"
    assert all(slacks[c] < 0 for c in routed_late)


def test_output_states_its_clock_and_each_route_s_departure_and_return(
    plan_and_scenario,
) -> None:
    """A dispatcher reads the units and the clock's origin from the output, and when each van
    leaves and is back (the last leg), not only the route's duration."""
    from optimizer.routing.io import solution_to_dict

    plan, scen = plan_and_scenario
    inst = build_day_instance(plan, scen, warehouse="WH-KUL", day=2, seed=0)
    res = solve_routes(inst, RoutingParams(time_limit_s=1.0))
    out = solution_to_dict(inst, res)
    assert out["time_unit"] == "hours" and "dispatch" in out["clock"]
    for r, rd in zip(res.routes, out["route_details"], strict=True):
        dep, _, ret = _recompute(inst, r)
        assert rd["depart"] == pytest.approx(dep, abs=1e-5)
        assert rd["return"] == pytest.approx(ret, abs=1e-5)
        assert rd["duration"] == pytest.approx(rd["return"] - rd["depart"], abs=1e-5)


def _cross_border(plan_and_scenario):
    """The tiny scenario plus a bonded Singapore warehouse serving Singapore and Batam
    (Indonesia, 23 km away across the strait) through a cross-border card."""
    from network.scenario import parse_scenario

    plan, scen = plan_and_scenario
    doc = scen.to_document()
    doc["nodes"] += [
        {"id": "WH-SIN", "kind": "warehouse", "lat": 1.35, "lon": 103.97, "country": "SG",
         "bonded": True, "processing_hours": 8},
        {"id": "Z-SIN", "kind": "zone", "lat": 1.35, "lon": 103.85, "country": "SG"},
        {"id": "Z-BTM", "kind": "zone", "lat": 1.13, "lon": 104.05, "country": "ID"},
    ]  # fmt: skip
    doc["rate_cards"] += [
        {"id": "SG-std", "country": "SG", "base_hours": 10, "km_per_hour": 30, "circuity": 1.3,
         "cost_per_unit": 2.2, "cost_per_kg": 0.3, "cost_per_km": 0.0008},
        {"id": "ID-xb", "country": "ID", "from_countries": ["SG"], "base_hours": 40,
         "km_per_hour": 30, "circuity": 1.3, "cost_per_unit": 1.8, "cost_per_kg": 0.6,
         "cost_per_km": 0.0008, "duty_rate": 0.05},
    ]  # fmt: skip
    rows = [
        {"sku": "SKU-A", "zone": "Z-SIN", "source": "WH-SIN", "lanes": ["SG-std:WH-SIN:Z-SIN"],
         "units": 1400, "hours": 20.0, "on_time": True},
        {"sku": "SKU-A", "zone": "Z-BTM", "source": "WH-SIN", "lanes": ["ID-xb:WH-SIN:Z-BTM"],
         "units": 700, "hours": 50.0, "on_time": True},
    ]  # fmt: skip
    p = Plan.from_json({**plan.to_json(), "fulfilment": rows})
    return p, parse_scenario(doc)


def test_cross_border_orders_go_to_their_own_carrier_at_its_cost(plan_and_scenario) -> None:
    """Batam orders from a Singapore warehouse cost the ID-xb card's rate, not SG-std's."""
    plan, scen = _cross_border(plan_and_scenario)
    inst = build_day_instance(plan, scen, warehouse="WH-SIN", day=0, seed=0)
    km = inst.distance[0, 1:]
    for k, cid in enumerate(inst.client_ids):
        if cid.startswith("Z-BTM/"):  # SKU-A weighs 0.45 kg
            assert inst.drop_penalty[k] == pytest.approx(1.8 + 0.6 * 0.45 + 0.0008 * km[k])
        else:
            assert inst.drop_penalty[k] == pytest.approx(2.2 + 0.3 * 0.45 + 0.0008 * km[k])


def test_vans_do_not_cross_the_border(plan_and_scenario) -> None:
    """No van ETA for a Batam order: the strait and Indonesian customs are not a 1-hour drive;
    those orders go to the cross-border carrier, the Singapore ones are routed."""
    plan, scen = _cross_border(plan_and_scenario)
    inst = build_day_instance(plan, scen, warehouse="WH-SIN", day=0, seed=0)
    res = solve_routes(inst, RoutingParams(time_limit_s=1.0))
    assert res.feasible, res.violations
    routed = {inst.client_ids[c] for r in res.routes for c in r.clients}
    assert routed and all(cid.startswith("Z-SIN/") for cid in routed)
    assert {cid for cid in inst.client_ids if cid.startswith("Z-BTM/")} <= {
        inst.client_ids[c] for c in res.dropped
    }


def test_a_zone_no_card_reaches_from_the_warehouse_is_named(plan_and_scenario) -> None:
    """A row to a zone no rate card serves from the warehouse's country names the row."""
    plan, scen = _cross_border(plan_and_scenario)
    row = {"sku": "SKU-A", "zone": "Z-KUL", "source": "WH-SIN", "lanes": [], "units": 280,
           "hours": 30.0, "on_time": True}  # fmt: skip
    bad = Plan.from_json({**plan.to_json(), "fulfilment": [*plan.to_json()["fulfilment"], row]})
    with pytest.raises(RoutingError, match=r"fulfilment\[2\]: no last-mile rate card .*'Z-KUL'"):
        build_day_instance(bad, scen, warehouse="WH-SIN", day=0, seed=0)


def test_the_daily_rate_divides_by_the_horizon_not_its_whole_days(plan_and_scenario) -> None:
    """A 3.5-day horizon: WH-KUL's rows (268 units once scaled down) are 76.6 orders a day,
    not 268 / 3 = 89.3; the mean of 40 sampled days (sd 1.4) must be nearer the former."""
    plan, scen = plan_and_scenario
    doc = plan.to_json()
    for r in doc["fulfilment"]:
        r["units"] = r["units"] / 10
    small = Plan.from_json(doc)
    short = scen.model_copy(update={"horizon_days": 3.5})
    n = [
        build_day_instance(small, short, warehouse="WH-KUL", day=d, seed=s).num_clients
        for s in range(10)
        for d in range(4)  # day 3 is the partial fourth day
    ]
    assert abs(np.mean(n) - 268 / 3.5) < 6.0
    with pytest.raises(RoutingError, match=r"day 4 outside the horizon 0\.\.3"):
        build_day_instance(small, short, warehouse="WH-KUL", day=4)


def test_a_bad_row_is_named_by_its_index_in_the_plan(plan_and_scenario) -> None:
    """WH-PEN's row is the plan's fulfilment[3] (the fourth row), not the first of WH-PEN's."""
    plan, scen = plan_and_scenario
    doc = plan.to_json()
    doc["fulfilment"][3]["sku"] = "SKU-NOPE"
    with pytest.raises(RoutingError, match=r"fulfilment\[3\]: unknown SKU 'SKU-NOPE'"):
        build_day_instance(Plan.from_json(doc), scen, warehouse="WH-PEN", day=0)
