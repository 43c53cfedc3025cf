"""The decomposition keeps its time limit at short limits: a limit shorter than its first
solution takes is refused naming the shortest one, a sector whose search runs out of time is
served by the sweep, and a limit near the shortest is kept."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from optimizer.routing import RoutingInstance, RoutingParams, RoutingStatus, VehicleType
from optimizer.routing import decompose as dec
from optimizer.routing.evaluate import distance_matrix, evaluate_routes
from optimizer.routing.instance import RoutingError
from optimizer.routing.solve import solve_routes


def _day(n: int, seed: int, *, vans: int | None = None) -> RoutingInstance:
    """``n`` orders around a depot in the middle, a quarter with a two-hour slot (hours, km)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 40, size=(n + 1, 2))
    xy[0] = 20.0
    dist = distance_matrix(xy, "exact")
    slot = rng.random(n) < 0.25
    start = np.floor(rng.uniform(1.0, 8.0, size=n))
    return RoutingInstance.build(
        f"day{n}-{seed}",
        dist,
        duration=dist / 30.0,
        num_depots=1,
        vehicle_types=(VehicleType(count=vans or n // 10, capacity=(600.0,), shift_end=10.0),),
        demand=rng.uniform(0.5, 3.0, size=(n, 1)),
        service=np.full(n, 0.05),
        tw_early=np.where(slot, start, 0.0),
        tw_late=np.where(slot, start + 2.0, 10.0),
        coords=xy,
        distance_convention="exact",
    )


def _feasible(inst: RoutingInstance, res: object) -> None:
    assert res.status is RoutingStatus.FEASIBLE  # type: ignore[attr-defined]
    ev = evaluate_routes(
        inst,
        [(r.vehicle_type, r.clients) for r in res.routes],  # type: ignore[attr-defined]
        dropped=res.dropped,  # type: ignore[attr-defined]
    )
    assert ev.feasible, ev.violations
    assert res.cost == pytest.approx(ev.cost)  # type: ignore[attr-defined]


def test_a_limit_shorter_than_the_first_solution_is_refused_naming_the_shortest() -> None:
    inst = _day(600, 1)
    p = RoutingParams(time_limit_s=0.3)
    shortest, inline = dec.shortest_limit(inst, p)
    # four sectors of 150 one after the other in this process (no worker start)
    assert dec.num_sectors(inst, p.sub_clients) == 4
    assert inline
    assert shortest == pytest.approx(0.2 + 1e-4 * 600 + 4 * dec.SUB_WALL_S)
    with pytest.raises(RoutingError, match=r"time limit of 0\.3 s is too short for 600 orders"):
        solve_routes(inst, p)
    with pytest.raises(RoutingError, match=r"about 0\.7 s; give at least that"):
        solve_routes(inst, p)


def test_above_the_inline_limit_the_workers_solve_the_sectors() -> None:
    inst = _day(1500, 2)
    short = RoutingParams(time_limit_s=2.0)
    long = RoutingParams(time_limit_s=dec.INLINE_BELOW_S)
    k = dec.num_sectors(inst, 150)
    base = 0.2 + 1e-4 * 1500
    # ten sectors: 1.35 s in this process, 1.85 s with two workers that start first
    assert k == 10
    assert dec.shortest_limit(inst, short) == (pytest.approx(base + 10 * dec.SUB_WALL_S), True)
    pool = base + dec.POOL_START_S + 5 * dec.SUB_WALL_S
    assert dec.shortest_limit(inst, long) == (pytest.approx(pool), False)
    # one worker: always this process
    one = RoutingParams(time_limit_s=60.0, workers=1)
    assert dec.shortest_limit(inst, one)[1]


def test_a_sector_whose_search_runs_out_of_time_is_served_by_the_sweep(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Every OR-Tools sub-solve comes back empty (as when a busy machine leaves a sector less
    time than its first solution takes): the day is still served, by the sweep, feasibly."""
    inst = _day(500, 3)
    monkeypatch.setattr(dec, "_solve_sub", lambda _shared, _task: None)
    caplog.set_level(logging.INFO, logger="optimizer.routing.decompose")
    res = solve_routes(inst, RoutingParams(time_limit_s=2.0, workers=1))
    _feasible(inst, res)
    assert res.path == "decomposition"
    swept = [r for r in caplog.records if "by the sweep" in r.getMessage()]
    assert len(swept) == dec.num_sectors(inst, 150)


def test_the_sweep_is_feasible_or_says_it_cannot_serve_the_orders() -> None:
    inst = _day(120, 4)
    res = dec.sweep_solution(inst, seed=0)
    assert res is not None
    _feasible(inst, res)
    assert sum(len(r.clients) for r in res.routes) + len(res.dropped) == 120
    # one van cannot take 120 mandatory orders in ten hours: no routes rather than a bad plan
    assert dec.sweep_solution(_day(120, 4, vans=1), seed=0) is None


@pytest.mark.parametrize("limit", [1.0, 1.5])
def test_a_short_limit_is_kept_on_a_decomposed_day(limit: float) -> None:
    """A limit near the shortest is kept (within 10 % and a quarter second for the test
    machine; the sectors' floor of half a second and the workers' start took 2.3-2.5 s for
    1 s on 800-order days before)."""
    inst = _day(800, 5)
    t = time.perf_counter()
    res = solve_routes(inst, RoutingParams(time_limit_s=limit))
    wall = time.perf_counter() - t
    _feasible(inst, res)
    assert wall <= 1.1 * limit + 0.25, wall
