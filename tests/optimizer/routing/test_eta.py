"""ETAs, departures and promise slacks of a reported route, against hand-computed figures.

A line: depot, A one hour out, B one hour further (travel hours = km), service 0.5 h each, B's
window opens at 5 h. The numbers below are worked by hand, not by the evaluator.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from optimizer.routing import RoutingInstance, RoutingParams, VehicleType
from optimizer.routing.io import solution_to_dict
from optimizer.routing.monolithic import finish


def _line(tw_late_a: float, promise_due=None) -> RoutingInstance:
    km = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]], float)
    return RoutingInstance.build(
        "line",
        km,
        vehicle_types=(VehicleType(count=1, capacity=(10.0,), shift_end=12.0, name="van"),),
        demand=[1, 1],
        service=[0.5, 0.5],
        tw_early=[0.0, 5.0],
        tw_late=[tw_late_a, 8.0],
        drop_penalty=[4.0, 4.0],
        client_ids=["A", "B"],
        promise_due=promise_due,
    )


def _stops(inst: RoutingInstance, dropped: tuple[int, ...] = ()) -> dict:
    res = finish(inst, RoutingParams(), [(0, 0, (0, 1))], dropped, time.perf_counter(), path="ils")
    assert res.feasible, res.violations
    out = json.loads(json.dumps(solution_to_dict(inst, res), allow_nan=False))
    return out["route_details"][0]


def test_the_van_leaves_as_late_as_the_windows_allow_and_waits_no_more() -> None:
    """Leaving at 0 would mean 2.5 h waiting at B; leaving at 2.5 arrives at B at 5 sharp:
    A at 3.5 (slack 10 - 3.5), B at 5 (slack 8 - 5), back at 7.5 (2 h from B)."""
    rd = _stops(_line(10.0))
    assert rd["depart"] == pytest.approx(2.5) and rd["return"] == pytest.approx(7.5)
    assert rd["duration"] == pytest.approx(5.0)
    a, b = rd["stops"]
    assert (a["eta"], a["start"], a["slack"]) == pytest.approx((3.5, 3.5, 6.5))
    assert (b["eta"], b["start"], b["slack"]) == pytest.approx((5.0, 5.0, 3.0))


def test_a_tight_promise_holds_the_departure_back_and_the_van_waits() -> None:
    """A due at 3 h: leave at 2 (A at 3, slack 0), B reached at 4.5, waits until 5."""
    rd = _stops(_line(3.0))
    assert rd["depart"] == pytest.approx(2.0) and rd["return"] == pytest.approx(7.5)
    a, b = rd["stops"]
    assert (a["eta"], a["start"], a["slack"]) == pytest.approx((3.0, 3.0, 0.0))
    assert (b["eta"], b["start"], b["slack"]) == pytest.approx((4.5, 5.0, 3.0))


def test_slack_is_measured_to_the_promise_when_the_window_has_none() -> None:
    """A without a window (already past its promise, due at -6 h): slack -6 - 3.5; without a
    promise either, null in the JSON (never Infinity)."""
    rd = _stops(_line(np.inf, promise_due=[-6.0, 8.0]))
    assert rd["stops"][0]["slack"] == pytest.approx(-9.5)
    rd = _stops(_line(np.inf))
    assert rd["stops"][0]["slack"] is None


def test_a_promise_due_of_the_wrong_length_is_refused() -> None:
    """promise_due needs one number per client."""
    from optimizer.routing import RoutingError

    with pytest.raises(RoutingError, match="promise_due must have 2"):
        _line(10.0, promise_due=[1.0])
